using System.Text.Json;

namespace BarkSharp.Configuration;

/// <summary>
/// Bark's <c>generation_config.json</c>: one section per stage plus the codec constants. Keys absent from a section
/// take the defaults of Transformers' <c>Bark*GenerationConfig</c> classes (greedy, temperature 1); the hub files
/// store <c>do_sample: true</c> and temperature 0.7/0.7/0.5, so generating with the hub file samples.
/// </summary>
public sealed record BarkGenerationConfig
{
    /// <summary>The semantic stage.</summary>
    public SemanticGenerationConfig SemanticConfig { get; init; } = new();

    /// <summary>The coarse stage.</summary>
    public CoarseGenerationConfig CoarseAcousticsConfig { get; init; } = new();

    /// <summary>The fine stage.</summary>
    public FineGenerationConfig FineAcousticsConfig { get; init; } = new();

    /// <summary>Codes per EnCodec codebook. Default 1024.</summary>
    public int CodebookSize { get; init; } = 1024;

    /// <summary>Output sample rate in Hz. Default 24000.</summary>
    public int SampleRate { get; init; } = 24000;

    /// <summary>Reads <c>generation_config.json</c>; a missing file yields the class defaults only when <paramref name="optional"/>.</summary>
    public static BarkGenerationConfig Load(string path, bool optional = false)
    {
        if (optional && !File.Exists(path)) return new BarkGenerationConfig();
        using JsonDocument doc = JsonSection.ParseFile(path);
        return FromJson(new JsonSection(doc.RootElement, path));
    }

    /// <summary>Parses the JSON text of a <c>generation_config.json</c>.</summary>
    public static BarkGenerationConfig Parse(string json)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new BarkConfigException($"generation_config.json is not valid JSON: {e.Message}", e);
        }
        using (doc) return FromJson(new JsonSection(doc.RootElement, "generation_config.json"));
    }

    private static BarkGenerationConfig FromJson(JsonSection s) => new()
    {
        SemanticConfig = s.OptionalSection("semantic_config") is { } sem ? SemanticGenerationConfig.FromJson(sem) : new(),
        CoarseAcousticsConfig = s.OptionalSection("coarse_acoustics_config") is { } coarse ? CoarseGenerationConfig.FromJson(coarse) : new(),
        FineAcousticsConfig = s.OptionalSection("fine_acoustics_config") is { } fine ? FineGenerationConfig.FromJson(fine) : new(),
        CodebookSize = s.Int("codebook_size", 1024),
        SampleRate = s.Int("sample_rate", 24000),
    };
}

/// <summary>Sampling settings shared by the autoregressive stages (a subset of Transformers' <c>GenerationConfig</c>).</summary>
public abstract record SamplingGenerationConfig
{
    /// <summary>Sample (true) or take the argmax (false). Default false.</summary>
    public bool DoSample { get; init; }

    /// <summary>Softmax temperature when sampling (null or 1 = none). Default 1.</summary>
    public double? Temperature { get; init; } = 1.0;

    /// <summary>Keep only the k most likely tokens when sampling (null or 0 = off). Default 50.</summary>
    public int? TopK { get; init; } = 50;

    /// <summary>Nucleus sampling mass (1 = off). Default 1.</summary>
    public double? TopP { get; init; } = 1.0;

    /// <summary>Re-normalize scores after the logits processors (log-softmax). Default true.</summary>
    public bool RenormalizeLogits { get; init; } = true;

    /// <summary>Maximum tokens to generate (null = stage default).</summary>
    public int? MaxNewTokens { get; init; }

    private protected static T ReadSampling<T>(JsonSection s, T seed) where T : SamplingGenerationConfig => seed with
    {
        DoSample = s.Bool("do_sample", seed.DoSample),
        Temperature = s.Has("temperature") ? s.NullableDouble("temperature") : seed.Temperature,
        TopK = s.Has("top_k") ? s.NullableInt("top_k") : seed.TopK,
        TopP = s.Has("top_p") ? s.NullableDouble("top_p") : seed.TopP,
        RenormalizeLogits = s.Bool("renormalize_logits", seed.RenormalizeLogits),
        MaxNewTokens = s.Has("max_new_tokens") ? s.NullableInt("max_new_tokens") : seed.MaxNewTokens,
    };
}

/// <summary>The semantic stage's settings (Transformers' <c>BarkSemanticGenerationConfig</c>).</summary>
public sealed record SemanticGenerationConfig : SamplingGenerationConfig
{
    /// <summary>Creates the defaults (<c>max_new_tokens</c> 768).</summary>
    public SemanticGenerationConfig() => MaxNewTokens = 768;

    /// <summary>End-of-semantic token. Default 10000.</summary>
    public int EosTokenId { get; init; } = 10_000;

    /// <summary>Offset added to text token ids. Default 10048.</summary>
    public int TextEncodingOffset { get; init; } = 10_048;

    /// <summary>Token that replaces padded text positions. Default 129595.</summary>
    public int TextPadToken { get; init; } = 129_595;

    /// <summary>Token that starts semantic generation. Default 129599.</summary>
    public int SemanticInferToken { get; init; } = 129_599;

    /// <summary>Number of real semantic tokens. Default 10000.</summary>
    public int SemanticVocabSize { get; init; } = 10_000;

    /// <summary>Text (and semantic history) positions of the prompt. Default 256.</summary>
    public int MaxInputSemanticLength { get; init; } = 256;

    /// <summary>Semantic tokens per second of audio. Default 49.9.</summary>
    public double SemanticRateHz { get; init; } = 49.9;

    /// <summary>Stop early when the end token's probability exceeds this (null = never). Default null.</summary>
    public double? MinEosP { get; init; }

    /// <summary>Semantic padding token (= <see cref="EosTokenId"/> in Bark). Default 10000.</summary>
    public int SemanticPadToken => EosTokenId;

    internal static SemanticGenerationConfig FromJson(JsonSection s)
    {
        SemanticGenerationConfig c = ReadSampling(s, new SemanticGenerationConfig());
        return c with
        {
            EosTokenId = s.IntOrFirstOfList("eos_token_id") ?? c.EosTokenId,
            TextEncodingOffset = s.Int("text_encoding_offset", c.TextEncodingOffset),
            TextPadToken = s.Int("text_pad_token", c.TextPadToken),
            SemanticInferToken = s.Int("semantic_infer_token", c.SemanticInferToken),
            SemanticVocabSize = s.Int("semantic_vocab_size", c.SemanticVocabSize),
            MaxInputSemanticLength = s.Int("max_input_semantic_length", c.MaxInputSemanticLength),
            SemanticRateHz = s.Double("semantic_rate_hz", c.SemanticRateHz),
            MinEosP = s.NullableDouble("min_eos_p"),
        };
    }
}

/// <summary>The coarse stage's settings (Transformers' <c>BarkCoarseGenerationConfig</c>).</summary>
public sealed record CoarseGenerationConfig : SamplingGenerationConfig
{
    /// <summary>Token that replaces semantic padding in the coarse prompt. Default 12048.</summary>
    public int CoarseSemanticPadToken { get; init; } = 12_048;

    /// <summary>Coarse frames per second. Default 75.</summary>
    public double CoarseRateHz { get; init; } = 75;

    /// <summary>Codebooks the coarse model predicts. Default 2.</summary>
    public int NCoarseCodebooks { get; init; } = 2;

    /// <summary>Token separating the semantic prompt from coarse history. Default 12050.</summary>
    public int CoarseInferToken { get; init; } = 12_050;

    /// <summary>Semantic positions of each window's prompt. Default 256.</summary>
    public int MaxCoarseInputLength { get; init; } = 256;

    /// <summary>Maximum coarse tokens of history per window. Default 630.</summary>
    public int MaxCoarseHistory { get; init; } = 630;

    /// <summary>Coarse tokens generated per window. Default 60.</summary>
    public int SlidingWindowLen { get; init; } = 60;

    internal static CoarseGenerationConfig FromJson(JsonSection s)
    {
        CoarseGenerationConfig c = ReadSampling(s, new CoarseGenerationConfig());
        return c with
        {
            CoarseSemanticPadToken = s.Int("coarse_semantic_pad_token", c.CoarseSemanticPadToken),
            CoarseRateHz = s.Double("coarse_rate_hz", c.CoarseRateHz),
            NCoarseCodebooks = s.Int("n_coarse_codebooks", c.NCoarseCodebooks),
            CoarseInferToken = s.Int("coarse_infer_token", c.CoarseInferToken),
            MaxCoarseInputLength = s.Int("max_coarse_input_length", c.MaxCoarseInputLength),
            MaxCoarseHistory = s.Int("max_coarse_history", c.MaxCoarseHistory),
            SlidingWindowLen = s.Int("sliding_window_len", c.SlidingWindowLen),
        };
    }
}

/// <summary>The fine stage's settings (Transformers' <c>BarkFineGenerationConfig</c>).</summary>
public sealed record FineGenerationConfig
{
    /// <summary>Softmax temperature (null or 1 = argmax). Default 1.</summary>
    public double? Temperature { get; init; } = 1.0;

    /// <summary>Frames of history kept per window, and the hop between windows. Default 512.</summary>
    public int MaxFineHistoryLength { get; init; } = 512;

    /// <summary>Frames per window. Default 1024.</summary>
    public int MaxFineInputLength { get; init; } = 1024;

    /// <summary>Total codebooks after the fine stage. Default 8.</summary>
    public int NFineCodebooks { get; init; } = 8;

    internal static FineGenerationConfig FromJson(JsonSection s)
    {
        var d = new FineGenerationConfig();
        return new FineGenerationConfig
        {
            Temperature = s.Has("temperature") ? s.NullableDouble("temperature") : d.Temperature,
            MaxFineHistoryLength = s.Int("max_fine_history_length", d.MaxFineHistoryLength),
            MaxFineInputLength = s.Int("max_fine_input_length", d.MaxFineInputLength),
            NFineCodebooks = s.Int("n_fine_codebooks", d.NFineCodebooks),
        };
    }
}
