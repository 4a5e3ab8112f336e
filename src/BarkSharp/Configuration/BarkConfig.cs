using System.Text.Json;

namespace BarkSharp.Configuration;

/// <summary>
/// A Bark model's <c>config.json</c> (Transformers' <c>BarkConfig</c>): the three GPTs and the codec.
/// Files written by recent <c>save_pretrained</c> only list values that differ from the defaults; those defaults are
/// applied here. Unlike Transformers, a missing sub-model section is an error rather than a silent default model,
/// because no real checkpoint matches the default shapes.
/// </summary>
public sealed record BarkConfig
{
    /// <summary>The semantic GPT.</summary>
    public required SemanticConfig SemanticConfig { get; init; }

    /// <summary>The coarse acoustics GPT.</summary>
    public required CoarseAcousticsConfig CoarseAcousticsConfig { get; init; }

    /// <summary>The fine acoustics model.</summary>
    public required FineAcousticsConfig FineAcousticsConfig { get; init; }

    /// <summary>The EnCodec codec.</summary>
    public required EncodecConfig CodecConfig { get; init; }

    /// <summary>Initializer standard deviation (unused at inference). Default 0.02.</summary>
    public double InitializerRange { get; init; } = 0.02;

    /// <summary>The dtype the weights were saved in (<c>torch_dtype</c>), e.g. <c>float32</c>; null when absent.</summary>
    public string? TorchDtype { get; init; }

    /// <summary>The shapes of <c>suno/bark-small</c> (768 wide, 12 layers, 12 heads; ≈ 1.68 GB in float32).</summary>
    public static BarkConfig BarkSmall => Real(768, 12, 12);

    /// <summary>The shapes of <c>suno/bark</c> (1024 wide, 24 layers, 16 heads; ≈ 4.49 GB in float32).</summary>
    public static BarkConfig BarkLarge => Real(1024, 24, 16);

    private static BarkConfig Real(int hidden, int layers, int heads) => new()
    {
        SemanticConfig = new SemanticConfig { HiddenSize = hidden, NumLayers = layers, NumHeads = heads, InputVocabSize = 129_600, OutputVocabSize = 10_048, Bias = false },
        CoarseAcousticsConfig = new CoarseAcousticsConfig { HiddenSize = hidden, NumLayers = layers, NumHeads = heads, InputVocabSize = 12_096, OutputVocabSize = 12_096, Bias = false },
        FineAcousticsConfig = new FineAcousticsConfig { HiddenSize = hidden, NumLayers = layers, NumHeads = heads, InputVocabSize = 1_056, OutputVocabSize = 1_056, Bias = false },
        CodecConfig = new EncodecConfig(),
        TorchDtype = "float32",
    };

    /// <summary>Reads <c>config.json</c> from a file.</summary>
    /// <exception cref="BarkConfigException">The file is missing, not JSON, lacks a sub-model section or has a value of the wrong type.</exception>
    public static BarkConfig Load(string path)
    {
        using JsonDocument doc = JsonSection.ParseFile(path);
        return FromJson(doc.RootElement, path);
    }

    /// <summary>Parses the JSON text of a <c>config.json</c>.</summary>
    public static BarkConfig Parse(string json)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new BarkConfigException($"config.json is not valid JSON: {e.Message}", e);
        }
        using (doc) return FromJson(doc.RootElement, "config.json");
    }

    private static BarkConfig FromJson(JsonElement root, string where)
    {
        var s = new JsonSection(root, where);
        string? modelType = s.String("model_type", null);
        if (modelType is not null && modelType != "bark")
            throw new BarkConfigException($"{where}: model_type is '{modelType}', not 'bark'; this is not a Bark checkpoint.");
        return new BarkConfig
        {
            SemanticConfig = SemanticConfig.FromJson(s.Section("semantic_config")),
            CoarseAcousticsConfig = CoarseAcousticsConfig.FromJson(s.Section("coarse_acoustics_config")),
            FineAcousticsConfig = FineAcousticsConfig.FromJson(s.Section("fine_acoustics_config")),
            CodecConfig = s.OptionalSection("codec_config") is { } codec ? EncodecConfig.FromJson(codec) : new EncodecConfig(),
            InitializerRange = s.Double("initializer_range", 0.02),
            TorchDtype = s.String("torch_dtype", null),
        };
    }
}
