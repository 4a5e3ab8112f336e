using BarkSharp.Hub;
using BarkSharp.Tokenization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace BarkSharp;

/// <summary>
/// Turns text, and optionally a voice, into model inputs, exactly like Transformers' <c>BarkProcessor.__call__</c>
/// (processing_bark.py): WordPiece ids padded to 256 with an attention mask, and the voice preset as history prompt.
/// </summary>
/// <remarks>
/// <para>Transformers' defaults apply: <c>max_length=256</c>, <c>padding="max_length"</c>, no special tokens, and no
/// truncation — a longer text keeps all its ids and the semantic model uses the first 256. BarkSharp reports such a text
/// in <see cref="BarkInputs.Truncated"/> and logs a warning, as it does when <see cref="BarkProcessorOptions.Truncation"/>
/// cuts one.</para>
/// <para>Voices are named like in Transformers: a key of the model's <c>speaker_embeddings_path.json</c>
/// (<c>v2/en_speaker_6</c>, <c>v2/de_speaker_3</c>, v1 names such as <c>announcer</c>), or a path to a suno
/// <c>.npz</c> prompt (<c>.npz</c> is appended when missing). See <see cref="VoicePreset"/> for validation.</para>
/// <para>Instances are immutable and thread-safe.</para>
/// </remarks>
public sealed partial class BarkProcessor
{
    /// <summary>Text positions the semantic model reads; ids past this do not reach the model.</summary>
    public const int SemanticTextLength = 256;

    private readonly VoicePresetIndex _presets;
    private readonly ILogger _logger;

    private BarkProcessor(BarkTokenizer tokenizer, VoicePresetIndex presets, BarkProcessorOptions options, ILogger logger)
    {
        Tokenizer = tokenizer;
        _presets = presets;
        Options = options;
        _logger = logger;
    }

    /// <summary>The tokenizer.</summary>
    internal BarkTokenizer Tokenizer { get; }

    /// <summary>The options a <c>Process</c> call uses when it is given none.</summary>
    public BarkProcessorOptions Options { get; }

    /// <summary>The voice preset names of the model folder (its <c>speaker_embeddings_path.json</c>), in file order.</summary>
    public IReadOnlyList<string> AvailablePresets => _presets.Names;

    /// <summary>
    /// Loads the processor of a Hugging Face Bark model folder or hub repository: the tokenizer (<c>vocab.txt</c> or
    /// <c>tokenizer.json</c>, <c>tokenizer_config.json</c>) and the voice preset index (<c>speaker_embeddings_path.json</c>,
    /// optional). For a repository, preset <c>.npy</c> files are downloaded when a voice is first used.
    /// </summary>
    /// <param name="modelIdOrFolder">A local snapshot such as <c>suno/bark-small</c>'s (used when the folder exists), or a hub repository id.</param>
    /// <param name="options">Defaults for <c>Process</c> calls; Transformers' when null.</param>
    /// <param name="loggerFactory">Receives warnings about cut and empty texts, and download messages; nothing is logged when null.</param>
    /// <param name="hub">Endpoint, token, cache, revision and offline mode for a repository id; huggingface_hub's environment variables when null.</param>
    /// <exception cref="BarkException">The tokenizer files or the preset index are missing or malformed.</exception>
    /// <exception cref="BarkHubException">The repository cannot be downloaded (not found, offline and not cached, network).</exception>
    public static BarkProcessor FromPretrained(string modelIdOrFolder, BarkProcessorOptions? options = null, ILoggerFactory? loggerFactory = null,
        HubOptions? hub = null) =>
        Load(modelIdOrFolder, options, loggerFactory, hub, null, CancellationToken.None);

    /// <summary>Loads the processor on a worker thread, reporting downloads; see <see cref="FromPretrained"/>.</summary>
    /// <param name="modelIdOrFolder">A local model folder, or a hub repository id.</param>
    /// <param name="options">Defaults for <c>Process</c> calls; Transformers' when null.</param>
    /// <param name="loggerFactory">Receives warnings and download messages.</param>
    /// <param name="hub">Hub settings for a repository id (the same <see cref="HubOptions"/> as <see cref="BarkModelOptions.Hub"/>).</param>
    /// <param name="downloadProgress">Receives bytes and speed of each file downloaded.</param>
    /// <param name="cancellationToken">Stops a download (resumed next time).</param>
    public static Task<BarkProcessor> FromPretrainedAsync(string modelIdOrFolder, BarkProcessorOptions? options = null, ILoggerFactory? loggerFactory = null,
        HubOptions? hub = null, IProgress<DownloadProgress>? downloadProgress = null, CancellationToken cancellationToken = default) =>
        Task.Run(() => Load(modelIdOrFolder, options, loggerFactory, hub, downloadProgress, cancellationToken), cancellationToken);

    private static BarkProcessor Load(string modelIdOrFolder, BarkProcessorOptions? options, ILoggerFactory? loggerFactory, HubOptions? hub,
        IProgress<DownloadProgress>? downloadProgress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(modelIdOrFolder);
        options ??= BarkProcessorOptions.Default;
        options.Validate();
        (string folder, Func<string, CancellationToken, string?>? fetchPreset) =
            PretrainedSource.ProcessorFolder(modelIdOrFolder, hub, loggerFactory, downloadProgress, cancellationToken);
        return new BarkProcessor(
            BarkTokenizer.FromPretrained(folder),
            VoicePresetIndex.Read(folder, fetchPreset),
            options,
            loggerFactory?.CreateLogger<BarkProcessor>() ?? NullLogger<BarkProcessor>.Instance);
    }

    /// <summary>Loads a voice preset by name, or from an <c>.npz</c> path when the string is not a name.</summary>
    /// <exception cref="BarkVoiceException">The name is unknown (the message lists the available ones) or the preset is invalid.</exception>
    public VoicePreset LoadVoicePreset(string nameOrPath) => _presets.Load(nameOrPath);

    /// <summary>
    /// Loads a voice preset on a worker thread; a hub preset's files are downloaded on first use, and
    /// <paramref name="cancellationToken"/> stops the download.
    /// </summary>
    /// <exception cref="BarkVoiceException">The name is unknown or the preset is invalid.</exception>
    public Task<VoicePreset> LoadVoicePresetAsync(string nameOrPath, CancellationToken cancellationToken = default) =>
        Task.Run(() => _presets.Load(nameOrPath, cancellationToken), cancellationToken);

    /// <summary>Processes one text, with a voice given by name or <c>.npz</c> path (or none).</summary>
    /// <param name="text">The text. Empty or whitespace-only text gives one row of length 0, as in Transformers.</param>
    /// <param name="voicePreset">A preset name such as <c>v2/en_speaker_6</c>, an <c>.npz</c> path, or null.</param>
    /// <param name="options">Overrides <see cref="Options"/> for this call.</param>
    /// <exception cref="BarkVoiceException">The voice preset is unknown or invalid.</exception>
    public BarkInputs Process(string text, string? voicePreset = null, BarkProcessorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Build([text], singleText: true, voicePreset is null ? null : LoadVoicePreset(voicePreset), options);
    }

    /// <summary>Processes one text with a voice preset already loaded.</summary>
    /// <param name="text">The text. Empty or whitespace-only text gives one row of length 0, as in Transformers.</param>
    /// <param name="voicePreset">The voice.</param>
    /// <param name="options">Overrides <see cref="Options"/> for this call.</param>
    public BarkInputs Process(string text, VoicePreset voicePreset, BarkProcessorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(voicePreset);
        return Build([text], singleText: true, voicePreset, options);
    }

    /// <summary>Processes a batch of texts with one voice for all (by name or <c>.npz</c> path, or none).</summary>
    /// <param name="texts">The texts; every one becomes a padded row, empty ones included.</param>
    /// <param name="voicePreset">A preset name such as <c>v2/en_speaker_6</c>, an <c>.npz</c> path, or null.</param>
    /// <param name="options">Overrides <see cref="Options"/> for this call.</param>
    /// <exception cref="BarkVoiceException">The voice preset is unknown or invalid.</exception>
    public BarkInputs Process(IReadOnlyList<string> texts, string? voicePreset = null, BarkProcessorOptions? options = null)
    {
        CheckTexts(texts);
        return Build(texts, singleText: false, voicePreset is null ? null : LoadVoicePreset(voicePreset), options);
    }

    /// <summary>Processes a batch of texts with one voice preset, already loaded, for all.</summary>
    /// <param name="texts">The texts; every one becomes a padded row, empty ones included.</param>
    /// <param name="voicePreset">The voice.</param>
    /// <param name="options">Overrides <see cref="Options"/> for this call.</param>
    public BarkInputs Process(IReadOnlyList<string> texts, VoicePreset voicePreset, BarkProcessorOptions? options = null)
    {
        CheckTexts(texts);
        ArgumentNullException.ThrowIfNull(voicePreset);
        return Build(texts, singleText: false, voicePreset, options);
    }

    private static void CheckTexts(IReadOnlyList<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        if (texts.Count == 0) throw new ArgumentException("at least one text is needed.", nameof(texts));
        for (int i = 0; i < texts.Count; i++)
            if (texts[i] is null) throw new ArgumentException($"text {i} is null.", nameof(texts));
    }

    private BarkInputs Build(IReadOnlyList<string> texts, bool singleText, VoicePreset? voice, BarkProcessorOptions? options)
    {
        options ??= Options;
        options.Validate();

        var rows = new List<int>[texts.Count];
        var counts = new int[texts.Count];
        var truncated = new bool[texts.Count];
        int longest = 0;
        for (int i = 0; i < texts.Count; i++)
        {
            List<int> ids = [.. Tokenizer.EncodeToIds(texts[i])];
            int specials = options.AddSpecialTokens ? 2 : 0;
            counts[i] = ids.Count + specials;
            // Transformers truncates the text's own ids (from the right), then adds [CLS]/[SEP].
            if (options.Truncation && counts[i] > options.MaxLength)
                ids.RemoveRange(options.MaxLength - specials, ids.Count - (options.MaxLength - specials));
            if (options.AddSpecialTokens)
            {
                ids.Insert(0, Tokenizer.ClsTokenId);
                ids.Add(Tokenizer.SepTokenId);
            }
            rows[i] = ids;
            longest = Math.Max(longest, ids.Count);

            int reachingModel = Math.Min(ids.Count, SemanticTextLength);
            if (counts[i] > reachingModel)
            {
                truncated[i] = true;
                LogTextCut(_logger, i, counts[i], reachingModel);
            }
            if (counts[i] == 0) LogEmptyText(_logger, i);
        }

        // Transformers' tokenizer.pad returns early when a lone text has no ids, so that text stays unpadded.
        int length = singleText && rows[0].Count == 0 ? 0 : Math.Max(options.MaxLength, longest);
        var inputIds = new long[texts.Count][];
        var mask = new long[texts.Count][];
        for (int i = 0; i < texts.Count; i++)
        {
            inputIds[i] = new long[length];
            mask[i] = new long[length];
            List<int> ids = rows[i];
            for (int t = 0; t < ids.Count; t++)
            {
                inputIds[i][t] = ids[t];
                mask[i][t] = 1;
            }
            if (Tokenizer.PadTokenId != 0) inputIds[i].AsSpan(ids.Count).Fill(Tokenizer.PadTokenId);
        }
        return new BarkInputs(inputIds, mask, voice, counts, truncated);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Text {Index} has {TokenCount} tokens but only the first {UsedCount} reach the semantic model; the rest will not be spoken. Split long text into shorter pieces (a sentence or two each).")]
    private static partial void LogTextCut(ILogger logger, int index, int tokenCount, int usedCount);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Text {Index} is empty (or only whitespace and control characters): it has no tokens.")]
    private static partial void LogEmptyText(ILogger logger, int index);
}
