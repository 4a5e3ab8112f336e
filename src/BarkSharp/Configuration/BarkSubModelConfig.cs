using System.Text.Json;

namespace BarkSharp.Configuration;

/// <summary>
/// The shape of one of Bark's GPTs (Transformers' <c>BarkSubModelConfig</c>). Absent keys take Transformers'
/// defaults; the aliases <c>num_attention_heads</c>, <c>num_hidden_layers</c>, <c>vocab_size</c> and
/// <c>window_size</c> are accepted.
/// </summary>
public abstract record BarkSubModelConfig
{
    internal static readonly IReadOnlyDictionary<string, string> AttributeMap = new Dictionary<string, string>
    {
        ["num_attention_heads"] = "num_heads",
        ["num_hidden_layers"] = "num_layers",
        ["vocab_size"] = "input_vocab_size",
        ["window_size"] = "block_size",
    };

    /// <summary>Maximum sequence length (rows of the position embedding). Default 1024.</summary>
    public int BlockSize { get; init; } = 1024;

    /// <summary>Rows of the token embedding. Default 10048.</summary>
    public int InputVocabSize { get; init; } = 10048;

    /// <summary>Rows of the output head(s). Default 10048.</summary>
    public int OutputVocabSize { get; init; } = 10048;

    /// <summary>Number of transformer blocks. Default 12.</summary>
    public int NumLayers { get; init; } = 12;

    /// <summary>Attention heads per block. Default 12.</summary>
    public int NumHeads { get; init; } = 12;

    /// <summary>Model width. Default 768.</summary>
    public int HiddenSize { get; init; } = 768;

    /// <summary>Dropout probability (unused at inference). Default 0.</summary>
    public double Dropout { get; init; }

    /// <summary>Whether Linear layers (and the causal models' LayerNorms) have biases. Default true; false in the real checkpoints.</summary>
    public bool Bias { get; init; } = true;

    /// <summary>Standard deviation of the initializer (unused at inference). Default 0.02.</summary>
    public double InitializerRange { get; init; } = 0.02;

    /// <summary>Whether the model uses a key/value cache when generating. Default true.</summary>
    public bool UseCache { get; init; } = true;

    /// <summary>Width of one attention head.</summary>
    public int HeadDim => HiddenSize / NumHeads;

    /// <summary>Transformers' <c>model_type</c> of this sub-model.</summary>
    public abstract string ModelType { get; }

    /// <summary>Throws a <see cref="BarkConfigException"/> when the numbers cannot describe a model.</summary>
    public virtual void Validate()
    {
        void Positive(int v, string name)
        {
            if (v <= 0) throw new BarkConfigException($"{ModelType} config: {name} must be positive, found {v}.");
        }
        Positive(BlockSize, "block_size");
        Positive(InputVocabSize, "input_vocab_size");
        Positive(OutputVocabSize, "output_vocab_size");
        Positive(NumLayers, "num_layers");
        Positive(NumHeads, "num_heads");
        Positive(HiddenSize, "hidden_size");
        if (HiddenSize % NumHeads != 0)
            throw new BarkConfigException($"{ModelType} config: hidden_size {HiddenSize} is not divisible by num_heads {NumHeads}.");
    }

    private protected static T Read<T>(JsonSection s, T seed) where T : BarkSubModelConfig
    {
        s = s.WithAliases(AttributeMap);
        T config = seed with
        {
            BlockSize = s.Int("block_size", seed.BlockSize),
            InputVocabSize = s.Int("input_vocab_size", seed.InputVocabSize),
            OutputVocabSize = s.Int("output_vocab_size", seed.OutputVocabSize),
            NumLayers = s.Int("num_layers", seed.NumLayers),
            NumHeads = s.Int("num_heads", seed.NumHeads),
            HiddenSize = s.Int("hidden_size", seed.HiddenSize),
            Dropout = s.Double("dropout", seed.Dropout),
            Bias = s.Bool("bias", seed.Bias),
            InitializerRange = s.Double("initializer_range", seed.InitializerRange),
            UseCache = s.Bool("use_cache", seed.UseCache),
        };
        config.Validate();
        return config;
    }
}

/// <summary>The semantic (text → semantic tokens) GPT: <c>semantic_config</c> in config.json.</summary>
public sealed record SemanticConfig : BarkSubModelConfig
{
    /// <inheritdoc />
    public override string ModelType => "semantic";

    internal static SemanticConfig FromJson(JsonSection s) => Read(s, new SemanticConfig());

    /// <summary>Parses a stand-alone sub-model config.json object.</summary>
    public static SemanticConfig FromJson(JsonElement element) => FromJson(new JsonSection(element, "semantic_config"));
}

/// <summary>The coarse acoustics GPT (semantic → 2 EnCodec codebooks): <c>coarse_acoustics_config</c>.</summary>
public sealed record CoarseAcousticsConfig : BarkSubModelConfig
{
    /// <inheritdoc />
    public override string ModelType => "coarse_acoustics";

    internal static CoarseAcousticsConfig FromJson(JsonSection s) => Read(s, new CoarseAcousticsConfig());

    /// <summary>Parses a stand-alone sub-model config.json object.</summary>
    public static CoarseAcousticsConfig FromJson(JsonElement element) => FromJson(new JsonSection(element, "coarse_acoustics_config"));
}

/// <summary>The fine acoustics model (non-causal, fills codebooks 3–8): <c>fine_acoustics_config</c>.</summary>
public sealed record FineAcousticsConfig : BarkSubModelConfig
{
    /// <inheritdoc />
    public override string ModelType => "fine_acoustics";

    /// <summary>Total number of codebooks (embedding tables). Default 8.</summary>
    public int NCodesTotal { get; init; } = 8;

    /// <summary>Codebooks given as input and never predicted. Default 1.</summary>
    public int NCodesGiven { get; init; } = 1;

    /// <summary>Whether <c>lm_heads[i]</c> shares its weight with <c>input_embeds_layers[i+1]</c>. Default true.</summary>
    public bool TieWordEmbeddings { get; init; } = true;

    /// <inheritdoc />
    public override void Validate()
    {
        base.Validate();
        if (NCodesGiven < 1 || NCodesGiven >= NCodesTotal)
            throw new BarkConfigException($"fine_acoustics config: need 1 <= n_codes_given ({NCodesGiven}) < n_codes_total ({NCodesTotal}).");
        if (TieWordEmbeddings && InputVocabSize != OutputVocabSize)
            throw new BarkConfigException($"fine_acoustics config: tied heads need input_vocab_size ({InputVocabSize}) = output_vocab_size ({OutputVocabSize}).");
    }

    internal static FineAcousticsConfig FromJson(JsonSection s)
    {
        var seed = new FineAcousticsConfig
        {
            NCodesTotal = s.Int("n_codes_total", 8),
            NCodesGiven = s.Int("n_codes_given", 1),
            TieWordEmbeddings = s.Bool("tie_word_embeddings", true),
        };
        return Read(s, seed);
    }

    /// <summary>Parses a stand-alone sub-model config.json object.</summary>
    public static FineAcousticsConfig FromJson(JsonElement element) => FromJson(new JsonSection(element, "fine_acoustics_config"));
}
