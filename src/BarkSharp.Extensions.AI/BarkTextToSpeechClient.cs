using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using BarkSharp.Audio;
using BarkSharp.Generation;
using BarkSharp.Speech;
using Microsoft.Extensions.AI;

namespace BarkSharp.Extensions.AI;

/// <summary>
/// Bark behind Microsoft.Extensions.AI's <see cref="ITextToSpeechClient"/>: text of any length in, audio out, whole
/// (<see cref="GetAudioAsync"/>) or one update per spoken segment (<see cref="GetStreamingAudioAsync"/>), so an app can
/// swap a cloud voice for a local one by changing the line that creates the client.
/// </summary>
/// <remarks>
/// <para>How <see cref="TextToSpeechOptions"/> map onto Bark:</para>
/// <list type="bullet">
/// <item><see cref="TextToSpeechOptions.VoiceId"/>: a key of <see cref="BarkTextToSpeechClientOptions.Voices"/> (custom
/// voices), a preset name of the model (<c>v2/en_speaker_6</c>) or a path to a suno <c>.npz</c> prompt. Unknown ids are a
/// <see cref="BarkVoiceException"/> listing the presets.</item>
/// <item><see cref="TextToSpeechOptions.Language"/> (BCP 47, e.g. <c>de</c> or <c>de-DE</c>), when no voice is given: the
/// language's first preset, <c>v2/de_speaker_0</c> where the model has it. A language without presets is an
/// <see cref="ArgumentException"/> naming the languages that have some.</item>
/// <item><see cref="TextToSpeechOptions.AudioFormat"/>: <c>wav</c> (16-bit, the default), <c>wav-float32</c>, <c>pcm</c>
/// (headerless 16-bit little-endian mono) or <c>opus</c> (Ogg Opus), or their media types <c>audio/wav</c>,
/// <c>audio/pcm</c>, <c>audio/ogg</c>, <c>audio/opus</c>. Anything else is a <see cref="NotSupportedException"/>.
/// Audio is mono at <see cref="BarkModel.SampleRate"/> (24000 Hz).</item>
/// <item><see cref="TextToSpeechOptions.Volume"/>: a gain on the samples (1 unchanged, 0 silent). Bark cannot change
/// <see cref="TextToSpeechOptions.Speed"/> or <see cref="TextToSpeechOptions.Pitch"/>: values other than 1 are a
/// <see cref="NotSupportedException"/>. <see cref="TextToSpeechOptions.ModelId"/> is not used (one client, one model).</item>
/// <item>Seed, greedy decoding, temperatures, top-k/top-p, min_eos_p, the semantic token limit, the voice mode, the gap
/// between segments and a <see cref="VoicePreset"/> object: <see cref="TextToSpeechOptions.AdditionalProperties"/> with
/// the keys of <see cref="BarkSpeechProperties"/>.</item>
/// <item><see cref="TextToSpeechOptions.RawRepresentationFactory"/> may return a <see cref="SpeechOptions"/>: it replaces
/// <see cref="BarkTextToSpeechClientOptions.Speech"/> for that request (segmentation, gaps, fades, batching, sampling);
/// the options above still apply on top of it, and its <see cref="SpeechOptions.Voice"/> is used when the request names no
/// voice or language and the client has no <see cref="BarkTextToSpeechClientOptions.DefaultVoice"/>.</item>
/// </list>
/// <para>Usage: <see cref="UsageDetails.InputTokenCount"/> counts the text's tokens (summed over its segments),
/// <see cref="UsageDetails.OutputTokenCount"/> (and <see cref="UsageDetails.OutputAudioTokenCount"/>) the semantic
/// tokens Bark generated.</para>
/// <para>Thread-safe: concurrent calls share the <see cref="SpeechGenerator"/>'s batcher, and a seed gives the same audio
/// alone or batched with other calls. <see cref="GetService"/> hands out the <see cref="BarkModel"/>, the
/// <see cref="BarkProcessor"/>, the <see cref="SpeechGenerator"/>, the options and the <see cref="TextToSpeechClientMetadata"/>.</para>
/// </remarks>
public sealed class BarkTextToSpeechClient : ITextToSpeechClient
{
    /// <summary>The provider name in <see cref="Metadata"/> (OpenTelemetry's <c>gen_ai.provider.name</c>).</summary>
    public const string ProviderName = "barksharp";

    private readonly bool _ownsGenerator;
    private readonly ConcurrentDictionary<string, VoicePreset> _presets = new(StringComparer.Ordinal);
    private volatile bool _disposed;

    /// <summary>Creates a client over <paramref name="model"/> with its own <see cref="SpeechGenerator"/> (disposed with the client; the model is not).</summary>
    /// <param name="model">The model; the caller keeps owning it.</param>
    /// <param name="processor">The model's processor (tokenizer and voice presets).</param>
    /// <param name="options">Defaults for requests; see <see cref="BarkTextToSpeechClientOptions"/>.</param>
    public BarkTextToSpeechClient(BarkModel model, BarkProcessor processor, BarkTextToSpeechClientOptions? options = null)
        : this(new SpeechGenerator(model, processor), options, ownsGenerator: true)
    {
    }

    /// <summary>Creates a client over a <see cref="SpeechGenerator"/>, e.g. one whose batcher a server shares; the caller keeps owning it.</summary>
    /// <param name="generator">The generator requests run on.</param>
    /// <param name="options">Defaults for requests; see <see cref="BarkTextToSpeechClientOptions"/>.</param>
    public BarkTextToSpeechClient(SpeechGenerator generator, BarkTextToSpeechClientOptions? options = null)
        : this(generator, options, ownsGenerator: false)
    {
    }

    private BarkTextToSpeechClient(SpeechGenerator generator, BarkTextToSpeechClientOptions? options, bool ownsGenerator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        Generator = generator;
        Options = options ?? new BarkTextToSpeechClientOptions();
        ArgumentNullException.ThrowIfNull(Options.Speech);
        ArgumentNullException.ThrowIfNull(Options.Voices);
        _ownsGenerator = ownsGenerator;
        Metadata = new TextToSpeechClientMetadata(ProviderName, ProviderUri(generator.Model), Options.ModelId ?? ModelIdOf(generator.Model));
    }

    /// <summary>The generator requests run on.</summary>
    public SpeechGenerator Generator { get; }

    /// <summary>The model.</summary>
    public BarkModel Model => Generator.Model;

    /// <summary>The request defaults.</summary>
    public BarkTextToSpeechClientOptions Options { get; }

    /// <summary>Provider <see cref="ProviderName"/>, the model folder as provider URI, and the model id.</summary>
    public TextToSpeechClientMetadata Metadata { get; }

    /// <summary>Speaks <paramref name="text"/> and returns the whole audio as one <see cref="DataContent"/> in the requested format.</summary>
    /// <param name="text">Any amount of text; long text is spoken segment by segment in one voice.</param>
    /// <param name="options">Voice, language, format and Bark's own options; see the class remarks.</param>
    /// <param name="cancellationToken">Stops generation within one decode step.</param>
    /// <returns>The audio (<see cref="TextToSpeechResponse.RawRepresentation"/>: the <see cref="SpeechResult"/>), usage, and
    /// <see cref="TextToSpeechResponse.AdditionalProperties"/> <c>sample_rate</c>, <c>duration_seconds</c>, <c>segments</c> and <c>seed</c>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
    /// <exception cref="NotSupportedException">The format, speed or pitch cannot be produced.</exception>
    /// <exception cref="ArgumentException">An option has a value Bark cannot use.</exception>
    /// <exception cref="BarkVoiceException">The voice is unknown or invalid.</exception>
    /// <exception cref="BarkInputException">The text has nothing to speak.</exception>
    public async Task<TextToSpeechResponse> GetAudioAsync(string text, TextToSpeechOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        ObjectDisposedException.ThrowIf(_disposed, this);
        Request request = Prepare(options);
        SpeechResult result = await Generator.GenerateAsync(text, request.Speech, progress: null, cancellationToken).ConfigureAwait(false);

        using var buffer = new MemoryStream();
        using (AudioEncoder encoder = AudioEncoder.Create(request.Format, buffer, result.SampleRate, streaming: false))
        {
            encoder.Write(request.Scale(result.Audio));
            encoder.Complete();
        }
        return new TextToSpeechResponse([new DataContent(buffer.ToArray(), AudioEncoder.ContentTypeOf(request.Format))])
        {
            ResponseId = NewResponseId(),
            ModelId = Metadata.DefaultModelId,
            Usage = UsageOf(result.Segments),
            RawRepresentation = result,
            AdditionalProperties = new AdditionalPropertiesDictionary
            {
                ["sample_rate"] = result.SampleRate,
                ["duration_seconds"] = result.AudioSeconds,
                ["segments"] = result.Segments.Count,
                ["seed"] = request.Speech.Generation.Seed,
            },
        };
    }

    /// <summary>
    /// Speaks <paramref name="text"/> and yields each segment's audio as soon as it is ready: one
    /// <see cref="TextToSpeechResponseUpdateKind.AudioUpdating"/> update per segment carrying that segment's encoded bytes
    /// (the first one of a WAV stream starts with the header, whose sizes are 0xFFFFFFFF as streaming servers send them),
    /// then one <see cref="TextToSpeechResponseUpdateKind.SessionClose"/> update with the encoder's last bytes, if any
    /// (Opus's final page), and a <see cref="UsageContent"/>. Concatenating the updates' bytes gives a playable file.
    /// </summary>
    /// <param name="text">Any amount of text.</param>
    /// <param name="options">Voice, language, format and Bark's own options; see the class remarks.</param>
    /// <param name="cancellationToken">Stops generation within one decode step.</param>
    /// <returns>Updates whose <see cref="TextToSpeechResponseUpdate.RawRepresentation"/> is the segment's <see cref="AudioChunk"/>, with
    /// <see cref="TextToSpeechResponseUpdate.AdditionalProperties"/> <c>segment_index</c>, <c>segment_count</c>, <c>text</c>, <c>start_seconds</c>, <c>end_seconds</c>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is null (thrown at once).</exception>
    /// <exception cref="NotSupportedException">The format, speed or pitch cannot be produced (thrown at once).</exception>
    /// <exception cref="ArgumentException">An option has a value Bark cannot use (thrown at once).</exception>
    /// <exception cref="BarkVoiceException">The voice is unknown or invalid (thrown at once).</exception>
    public IAsyncEnumerable<TextToSpeechResponseUpdate> GetStreamingAudioAsync(string text, TextToSpeechOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        ObjectDisposedException.ThrowIf(_disposed, this);
        return Stream(text, Prepare(options), cancellationToken);
    }

    private async IAsyncEnumerable<TextToSpeechResponseUpdate> Stream(string text, Request request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string id = NewResponseId();
        string mediaType = AudioEncoder.ContentTypeOf(request.Format);
        var chunks = new List<AudioChunk>();
        using var buffer = new MemoryStream();
        using AudioEncoder encoder = AudioEncoder.Create(request.Format, buffer, Model.SampleRate, streaming: true);
        await foreach (AudioChunk chunk in Generator.StreamAsync(text, request.Speech, progress: null, cancellationToken).ConfigureAwait(false))
        {
            chunks.Add(chunk);
            encoder.Write(request.Scale(chunk.Samples));
            encoder.Flush();
            yield return new TextToSpeechResponseUpdate([new DataContent(Take(buffer), mediaType)])
            {
                Kind = TextToSpeechResponseUpdateKind.AudioUpdating,
                ResponseId = id,
                ModelId = Metadata.DefaultModelId,
                RawRepresentation = chunk,
                AdditionalProperties = new AdditionalPropertiesDictionary
                {
                    ["segment_index"] = chunk.SegmentIndex,
                    ["segment_count"] = chunk.SegmentCount,
                    ["text"] = chunk.Text,
                    ["start_seconds"] = chunk.StartSample / (double)chunk.SampleRate,
                    ["end_seconds"] = chunk.EndSeconds,
                },
            };
        }
        encoder.Complete();
        List<AIContent> closing = [];
        if (buffer.Length > 0) closing.Add(new DataContent(Take(buffer), mediaType));
        closing.Add(new UsageContent(UsageOf(chunks)));
        yield return new TextToSpeechResponseUpdate(closing)
        {
            Kind = TextToSpeechResponseUpdateKind.SessionClose,
            ResponseId = id,
            ModelId = Metadata.DefaultModelId,
            AdditionalProperties = new AdditionalPropertiesDictionary
            {
                ["sample_rate"] = Model.SampleRate,
                ["duration_seconds"] = chunks.Sum(c => (long)c.Samples.Length) / (double)Model.SampleRate,
                ["segments"] = chunks.Count,
                ["seed"] = request.Speech.Generation.Seed,
            },
        };
    }

    /// <summary>
    /// Returns this client, its <see cref="BarkModel"/>, <see cref="BarkProcessor"/>, <see cref="SpeechGenerator"/>,
    /// <see cref="BarkTextToSpeechClientOptions"/> or <see cref="TextToSpeechClientMetadata"/> when asked for that type
    /// (or a base type of it) without a key; otherwise null.
    /// </summary>
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null) return null;
        object[] services = [this, Metadata, Model, Generator.Processor, Generator, Options];
        return services.FirstOrDefault(serviceType.IsInstanceOfType);
    }

    /// <summary>Disposes the <see cref="SpeechGenerator"/> when the client created it; the model stays with its owner.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_ownsGenerator) Generator.Dispose();
    }

    /// <summary>Parses a format name or media type (see the class remarks), or <paramref name="fallback"/> when none is given.</summary>
    /// <exception cref="NotSupportedException">The name is not one of the supported formats.</exception>
    internal static AudioFormat ParseFormat(string? name, AudioFormat fallback)
    {
        if (string.IsNullOrWhiteSpace(name)) return fallback;
        string n = name.Trim().ToLowerInvariant();
        if (n.StartsWith("audio/", StringComparison.Ordinal))
        {
            string type = n.Split(';')[0].Trim();
            n = type switch
            {
                "audio/wav" or "audio/wave" or "audio/x-wav" or "audio/vnd.wave" => "wav",
                "audio/pcm" => "pcm",
                "audio/ogg" or "audio/opus" => "opus",
                _ => n,
            };
        }
        if (AudioEncoder.TryParse(n, out AudioFormat format)) return format;
        throw new NotSupportedException(
            $"Bark cannot produce the audio format '{name}'. Supported: wav (16-bit PCM, audio/wav), wav-float32 (32-bit float, audio/wav), " +
            "pcm (headerless 16-bit little-endian mono, audio/pcm) and opus (Ogg Opus, audio/ogg), all mono at 24000 Hz.");
    }

    private Request Prepare(TextToSpeechOptions? options)
    {
        AdditionalPropertiesDictionary? p = options?.AdditionalProperties;
        AudioFormat format = ParseFormat(options?.AudioFormat, Options.DefaultAudioFormat);
        if (options?.Speed is { } speed && speed != 1f)
            throw new NotSupportedException($"Bark cannot change the speaking speed (asked for {speed}); leave TextToSpeechOptions.Speed unset or 1.");
        if (options?.Pitch is { } pitch && pitch != 1f)
            throw new NotSupportedException($"Bark cannot change the pitch (asked for {pitch}); leave TextToSpeechOptions.Pitch unset or 1.");
        float volume = options?.Volume ?? 1f;
        if (!float.IsFinite(volume) || volume < 0)
            throw new ArgumentException($"the volume must be a gain of 0 or more (1 leaves the audio unchanged), not {volume}.", nameof(options));

        // Provider-specific options, the Microsoft.Extensions.AI way: a SpeechOptions from RawRepresentationFactory replaces the client's defaults.
        SpeechOptions defaults = options?.RawRepresentationFactory?.Invoke(this) switch
        {
            null => Options.Speech,
            SpeechOptions raw => raw,
            object other => throw new ArgumentException(
                $"TextToSpeechOptions.RawRepresentationFactory must return a BarkSharp.SpeechOptions (or null), not {other.GetType().Name}.", nameof(options)),
        };
        SpeechOptions speech = defaults with
        {
            Voice = ResolveVoice(options) ?? defaults.Voice,
            VoiceMode = BarkSpeechProperties.Mode(p) ?? defaults.VoiceMode,
            GapSeconds = BarkSpeechProperties.Double(p, BarkSpeechProperties.GapSeconds) ?? defaults.GapSeconds,
            Generation = GenerationOf(p, defaults.Generation),
        };
        if (speech.GapSeconds is < 0 or > 10)
            throw new ArgumentException($"the text-to-speech option '{BarkSpeechProperties.GapSeconds}' must be between 0 and 10 seconds, not {speech.GapSeconds}.", nameof(options));
        return new Request(speech, format, volume);
    }

    private BarkGenerationOptions GenerationOf(AdditionalPropertiesDictionary? p, BarkGenerationOptions g)
    {
        const string Key = nameof(TextToSpeechOptions.AdditionalProperties);
        bool? greedy = BarkSpeechProperties.Boolean(p, BarkSpeechProperties.Greedy);
        double? text = BarkSpeechProperties.Double(p, BarkSpeechProperties.TextTemperature);
        double? waveform = BarkSpeechProperties.Double(p, BarkSpeechProperties.WaveformTemperature);
        double? fine = BarkSpeechProperties.Double(p, BarkSpeechProperties.FineTemperature);
        if (greedy == true && (text ?? waveform ?? fine) is not null)
            throw new ArgumentException($"'{BarkSpeechProperties.Greedy}' decodes without sampling; it cannot be combined with temperatures.", Key);
        foreach ((string name, double? value) in new[] { (BarkSpeechProperties.TextTemperature, text), (BarkSpeechProperties.WaveformTemperature, waveform), (BarkSpeechProperties.FineTemperature, fine) })
            if (value is <= 0 or > 10) throw new ArgumentException($"the text-to-speech option '{name}' must be a temperature above 0 (typically 0.5–1.0), not {value}.", Key);

        if (greedy is { } isGreedy)
        {
            g = g with
            {
                DoSample = !isGreedy,
                Semantic = g.Semantic with { DoSample = !isGreedy },
                Coarse = g.Coarse with { DoSample = !isGreedy },
                Fine = g.Fine with { Argmax = isGreedy },
            };
        }
        if (text is not null) g = g with { Semantic = g.Semantic with { Temperature = text, DoSample = true } };
        if (waveform is not null) g = g with { Coarse = g.Coarse with { Temperature = waveform, DoSample = true } };
        if (fine is not null) g = g with { Fine = g.Fine with { Temperature = fine, Argmax = false } };

        if (BarkSpeechProperties.Whole(p, BarkSpeechProperties.Seed, 0, ulong.MaxValue) is { } seed) g = g with { Seed = seed };
        if (BarkSpeechProperties.Whole(p, BarkSpeechProperties.TopK, 0, int.MaxValue) is { } topK) g = g with { TopK = (int)topK };
        if (BarkSpeechProperties.Double(p, BarkSpeechProperties.TopP) is { } topP)
            g = topP is > 0 and <= 1 ? g with { TopP = topP } : throw new ArgumentException($"the text-to-speech option '{BarkSpeechProperties.TopP}' must be in (0, 1], not {topP}.", Key);
        if (BarkSpeechProperties.Double(p, BarkSpeechProperties.MinEosP) is { } minEosP)
            g = minEosP is > 0 and <= 1 ? g with { MinEosP = minEosP } : throw new ArgumentException($"the text-to-speech option '{BarkSpeechProperties.MinEosP}' must be in (0, 1], not {minEosP}.", Key);
        if (BarkSpeechProperties.Whole(p, BarkSpeechProperties.MaxSemanticTokens, 1, (ulong)Model.MaxSemanticTokens) is { } max)
            g = g with { Semantic = g.Semantic with { MaxNewTokens = (int)max } };
        return g;
    }

    private VoicePreset? ResolveVoice(TextToSpeechOptions? options)
    {
        if (options?.AdditionalProperties is { } p && p.TryGetValue(BarkSpeechProperties.Voice, out object? value) && value is not null)
            return value as VoicePreset ?? throw new ArgumentException(
                $"the text-to-speech option '{BarkSpeechProperties.Voice}' must be a BarkSharp.VoicePreset, not {value.GetType().Name}; pass voice names and .npz paths in TextToSpeechOptions.VoiceId.",
                nameof(options));
        if (!string.IsNullOrWhiteSpace(options?.VoiceId)) return LoadVoice(options.VoiceId.Trim());
        if (!string.IsNullOrWhiteSpace(options?.Language)) return LoadVoice(PresetOfLanguage(options.Language));
        return Options.DefaultVoice is { } voice ? LoadVoice(voice) : null;
    }

    private VoicePreset LoadVoice(string id)
    {
        if (Options.Voices.TryGetValue(id, out VoicePreset? custom)) return custom;
        BarkProcessor processor = Generator.Processor;
        // Presets are cached by name; .npz paths are read each time (the file may change).
        if (processor.AvailablePresets.Contains(id, StringComparer.Ordinal)) return _presets.GetOrAdd(id, processor.LoadVoicePreset);
        try
        {
            return processor.LoadVoicePreset(id);
        }
        catch (BarkVoiceException e) when (Options.Voices.Count > 0 && e.InnerException is null)
        {
            throw new BarkVoiceException(id, $"{e.Message} Custom voices of this client: {string.Join(", ", Options.Voices.Keys.Order(StringComparer.Ordinal))}.", e);
        }
    }

    /// <summary>The first preset of <paramref name="language"/>'s primary subtag: <c>v2/xx_speaker_0</c>, another v2 speaker, then v1 names.</summary>
    private string PresetOfLanguage(string language)
    {
        string code = language.Trim().Split('-', '_')[0].ToLowerInvariant();
        IReadOnlyList<string> names = Generator.Processor.AvailablePresets;
        string? preset = names.FirstOrDefault(n => n == $"v2/{code}_speaker_0")
                         ?? names.FirstOrDefault(n => n.StartsWith($"v2/{code}_speaker_", StringComparison.Ordinal))
                         ?? names.FirstOrDefault(n => n == $"{code}_speaker_0")
                         ?? names.FirstOrDefault(n => n.StartsWith($"{code}_speaker_", StringComparison.Ordinal));
        if (preset is not null) return preset;
        string[] languages = [.. names.Select(n => n[(n.LastIndexOf('/') + 1)..]).Where(n => n.Contains("_speaker_", StringComparison.Ordinal))
            .Select(n => n[..n.IndexOf('_', StringComparison.Ordinal)]).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
        throw new ArgumentException(
            $"the model has no voice preset of language '{language}'" +
            (languages.Length == 0 ? " (it lists no presets)" : $"; languages with presets: {string.Join(", ", languages)}") +
            ". Name a voice in TextToSpeechOptions.VoiceId, or leave Language unset to let Bark pick a voice.", nameof(TextToSpeechOptions.Language));
    }

    private static UsageDetails UsageOf(IReadOnlyCollection<AudioChunk> chunks)
    {
        long input = chunks.Sum(c => (long)c.InputTokens), output = chunks.Sum(c => (long)c.SemanticTokens);
        return new UsageDetails
        {
            InputTokenCount = input,
            InputTextTokenCount = input,
            OutputTokenCount = output,
            OutputAudioTokenCount = output,
            TotalTokenCount = input + output,
        };
    }

    private static byte[] Take(MemoryStream buffer)
    {
        byte[] bytes = buffer.ToArray();
        buffer.SetLength(0);
        return bytes;
    }

    private static string NewResponseId() => "bark-" + Guid.NewGuid().ToString("N");

    private static Uri? ProviderUri(BarkModel model) => model.ModelFolder is { } folder ? new Uri(Path.GetFullPath(folder)) : null;

    /// <summary><c>org/name</c> for a folder of the hub cache (<c>models--org--name/snapshots/REV</c>), else the folder's name, else <c>bark</c>.</summary>
    private static string ModelIdOf(BarkModel model)
    {
        if (model.ModelFolder is not { } folder) return "bark";
        var dir = new DirectoryInfo(Path.TrimEndingDirectorySeparator(folder));
        if (dir.Parent?.Name == "snapshots" && dir.Parent.Parent?.Name is { } repo && repo.StartsWith("models--", StringComparison.Ordinal))
            return repo["models--".Length..].Replace("--", "/", StringComparison.Ordinal);
        return dir.Name;
    }

    /// <summary>One request's resolved settings.</summary>
    private sealed record Request(SpeechOptions Speech, AudioFormat Format, float Volume)
    {
        public ReadOnlySpan<float> Scale(float[] samples)
        {
            if (Volume == 1f) return samples;
            var scaled = new float[samples.Length];
            System.Numerics.Tensors.TensorPrimitives.Multiply(samples, Volume, scaled);
            return scaled;
        }
    }
}
