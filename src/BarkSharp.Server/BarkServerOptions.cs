using BarkSharp.Tensors;

namespace BarkSharp.Server;

/// <summary>
/// Settings of the Bark speech server. Bound from the configuration section <c>Bark</c> (appsettings.json,
/// environment variables such as <c>Bark__Model</c> or <c>Bark__ApiKeys__0</c>, command line), and set by
/// <c>bark serve</c>'s options.
/// </summary>
public sealed class BarkServerOptions
{
    /// <summary>The configuration section the options are read from.</summary>
    public const string SectionName = "Bark";

    /// <summary>Hub repository id or local model folder to load. Default <c>suno/bark-small</c>.</summary>
    public string Model { get; set; } = "suno/bark-small";

    /// <summary>
    /// The id <c>GET /v1/models</c> lists and requests may name; default: <see cref="Model"/> as given (a repo id, or a
    /// folder's name). <c>bark</c> and OpenAI's <c>tts-1</c>, <c>tts-1-hd</c> and <c>gpt-4o-mini-tts</c> are always accepted too.
    /// </summary>
    public string? ModelId { get; set; }

    /// <summary>
    /// Bearer keys; when any is set, every endpoint but <c>/health/*</c> and the playground page's files (<c>/</c>, <c>/playground/*</c>) needs <c>Authorization: Bearer KEY</c>.
    /// <c>bark serve</c> also reads the comma-separated <c>BARK_API_KEYS</c> environment variable.
    /// </summary>
    public List<string> ApiKeys { get; set; } = [];

    /// <summary>Requests generated at the same time, and the most segments in one batch (1..64). Default 4.</summary>
    public int MaxBatch { get; set; } = 4;

    /// <summary>Requests that may wait beyond <see cref="MaxBatch"/>; more are answered 429 with Retry-After at once. Default 16.</summary>
    public int QueueSize { get; set; } = 16;

    /// <summary>Longest <c>input</c> in characters; longer is a 400 <c>input_too_long</c>. Default 4096 (OpenAI's limit).</summary>
    public int MaxInputCharacters { get; set; } = 4096;

    /// <summary>Largest request body in bytes (JSON requests and voice uploads); larger is a 413. Default 4 MiB.</summary>
    public long MaxRequestBodyBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>A request's deadline, queueing included; past it the work stops (504 when nothing was sent yet). Default 5 minutes.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Folder of uploaded voices (<c>voice_*.npz</c>); created when missing. Default <c>voices</c> under the working directory.</summary>
    public string VoicesDirectory { get; set; } = "voices";

    /// <summary>
    /// HuBERT model that clones a WAV uploaded to <c>POST /v1/audio/voices</c> (hub id or folder; fetched on the first
    /// WAV upload). Default <c>facebook/hubert-base-ls960</c>.
    /// </summary>
    public string CloneHubert { get; set; } = BarkSharp.VoiceCloningOptions.DefaultHubert;

    /// <summary>HuBERT layer whose features the quantizer reads (default 9).</summary>
    public int CloneHubertLayer { get; set; } = BarkSharp.VoiceCloningOptions.DefaultHubertLayer;

    /// <summary>The cloning quantizer: a hub id (with the recipe's file name) or a <c>.pth</c> file. Default <c>GitMylo/bark-voice-cloning</c>.</summary>
    public string CloneQuantizer { get; set; } = BarkSharp.VoiceCloningOptions.DefaultQuantizer;

    /// <summary>Weight storage type of the transformer blocks (<c>Auto</c>, <c>Float32</c>, <c>BFloat16</c>, <c>Float16</c>, <c>Int8</c>).</summary>
    public WeightType WeightType { get; set; } = WeightType.Auto;

    /// <summary>Run the machine-code kernels generated for int8/bf16 weights where the CPU supports them (<see cref="BarkModelOptions.UseJitKernels"/>). Default true.</summary>
    public bool UseJitKernels { get; set; } = true;

    /// <summary>Kernel threads; null: the processor count.</summary>
    public int? Threads { get; set; }

    /// <summary>Caps the semantic tokens of every generation (about 50 per second of speech); null: the model's own limit. Tests use small values.</summary>
    public int? MaxSemanticTokens { get; set; }

    /// <summary>Voice used when a request names none; null or empty: Bark picks a random voice (as <c>voice: "random"</c>).</summary>
    public string? DefaultVoice { get; set; }

    /// <summary>Serve the playground page at <c>GET /</c> (<c>bark serve --no-playground</c> turns it off). Default true.</summary>
    public bool Playground { get; set; } = true;

    /// <summary>Run one short generation after loading, before <c>/health/ready</c> turns 200. Default true.</summary>
    public bool WarmUp { get; set; } = true;

    /// <summary>
    /// OpenAI voice names mapped to Bark presets (case-insensitive). Entries set in configuration replace or add to
    /// <see cref="DefaultVoiceMap"/>.
    /// </summary>
    public Dictionary<string, string> VoiceMap { get; set; } = new(DefaultVoiceMap, StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// The default voice table: OpenAI's eleven voices to suno's English <c>v2</c> presets (speakers 0–9; 9 is the female
    /// preset suno lists for English, the others are male).
    /// </summary>
    public static IReadOnlyDictionary<string, string> DefaultVoiceMap { get; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["alloy"] = "v2/en_speaker_6",
        ["ash"] = "v2/en_speaker_1",
        ["ballad"] = "v2/en_speaker_2",
        ["coral"] = "v2/en_speaker_9",
        ["echo"] = "v2/en_speaker_3",
        ["fable"] = "v2/en_speaker_4",
        ["nova"] = "v2/en_speaker_9",
        ["onyx"] = "v2/en_speaker_5",
        ["sage"] = "v2/en_speaker_7",
        ["shimmer"] = "v2/en_speaker_9",
        ["verse"] = "v2/en_speaker_8",
    };

    /// <summary>Model names requests may give besides <see cref="ModelId"/>, all served by the loaded model.</summary>
    public static IReadOnlyList<string> ModelAliases { get; } = ["bark", "tts-1", "tts-1-hd", "gpt-4o-mini-tts"];

    /// <summary>The model id served: <see cref="ModelId"/>, else <see cref="Model"/> as given or an existing folder's name.</summary>
    public string ResolvedModelId =>
        !string.IsNullOrWhiteSpace(ModelId) ? ModelId
        : Directory.Exists(Model) ? Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(Model)))
        : Model;

    /// <summary>Checks the values; throws <see cref="ArgumentException"/> naming the bad one.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Model)) throw new ArgumentException("Bark:Model is empty: name a hub repository or a model folder.");
        if (MaxBatch is < 1 or > 64) throw new ArgumentException($"Bark:MaxBatch must lie in 1..64, not {MaxBatch}.");
        if (QueueSize < 0) throw new ArgumentException($"Bark:QueueSize must be 0 or more, not {QueueSize}.");
        if (MaxInputCharacters < 1) throw new ArgumentException($"Bark:MaxInputCharacters must be at least 1, not {MaxInputCharacters}.");
        if (MaxRequestBodyBytes < 1024) throw new ArgumentException($"Bark:MaxRequestBodyBytes must be at least 1024, not {MaxRequestBodyBytes}.");
        if (RequestTimeout <= TimeSpan.Zero) throw new ArgumentException($"Bark:RequestTimeout must be positive, not {RequestTimeout}.");
        if (Threads is < 1) throw new ArgumentException($"Bark:Threads must be at least 1, not {Threads}.");
        if (MaxSemanticTokens is < 1) throw new ArgumentException($"Bark:MaxSemanticTokens must be at least 1, not {MaxSemanticTokens}.");
        if (ApiKeys.Any(string.IsNullOrWhiteSpace)) throw new ArgumentException("Bark:ApiKeys holds an empty key.");
    }
}
