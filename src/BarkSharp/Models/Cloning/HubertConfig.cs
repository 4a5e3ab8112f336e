using System.Text.Json;
using BarkSharp.Configuration;

namespace BarkSharp.Models.Cloning;

/// <summary>
/// The parts of a Transformers <c>HubertConfig</c> (<c>config.json</c> of <c>facebook/hubert-base-ls960</c>) that the
/// feature path reads, with the hub's defaults (those of HuBERT base).
/// </summary>
internal sealed record HubertConfig
{
    /// <summary>Transformer width (768).</summary>
    public int HiddenSize { get; init; } = 768;

    /// <summary>Transformer layers (12).</summary>
    public int NumHiddenLayers { get; init; } = 12;

    /// <summary>Attention heads (12).</summary>
    public int NumAttentionHeads { get; init; } = 12;

    /// <summary>Feed-forward width (3072).</summary>
    public int IntermediateSize { get; init; } = 3072;

    /// <summary>Channels of each feature-extractor convolution (7 × 512).</summary>
    public int[] ConvDim { get; init; } = [512, 512, 512, 512, 512, 512, 512];

    /// <summary>Kernel of each feature-extractor convolution.</summary>
    public int[] ConvKernel { get; init; } = [10, 3, 3, 3, 3, 2, 2];

    /// <summary>Stride of each feature-extractor convolution (320 samples per frame in all).</summary>
    public int[] ConvStride { get; init; } = [5, 2, 2, 2, 2, 2, 2];

    /// <summary>Whether the feature-extractor convolutions have a bias (false).</summary>
    public bool ConvBias { get; init; }

    /// <summary>Kernel of the positional convolution (128).</summary>
    public int NumConvPosEmbeddings { get; init; } = 128;

    /// <summary>Groups of the positional convolution (16).</summary>
    public int NumConvPosEmbeddingGroups { get; init; } = 16;

    /// <summary>Whether the feature projection starts with a LayerNorm (true).</summary>
    public bool FeatProjLayerNorm { get; init; } = true;

    /// <summary>LayerNorm epsilon (1e-5).</summary>
    public double LayerNormEps { get; init; } = 1e-5;

    /// <summary>Input samples per output frame: the product of the strides.</summary>
    public int HopLength => ConvStride.Aggregate(1, (a, b) => a * b);

    /// <summary>Frames for <paramref name="samples"/> input samples (400 samples of receptive field, 320 per frame for base).</summary>
    public int FrameCount(int samples)
    {
        long n = samples;
        for (int i = 0; i < ConvKernel.Length; i++) n = n < ConvKernel[i] ? 0 : (n - ConvKernel[i]) / ConvStride[i] + 1;
        return (int)n;
    }

    /// <summary>The shortest input that gives one frame: the receptive field of the convolutions (400 samples for base).</summary>
    public int MinSamples
    {
        get
        {
            int r = 1;
            for (int i = ConvKernel.Length - 1; i >= 0; i--) r = (r - 1) * ConvStride[i] + ConvKernel[i];
            return r;
        }
    }

    /// <summary>Reads a hub <c>config.json</c>.</summary>
    /// <exception cref="BarkConfigException">The file describes a variant this port does not run (stable-layer-norm / large models, layer-norm feature extractor, an activation other than GELU).</exception>
    public static HubertConfig Load(string path)
    {
        using JsonDocument doc = JsonSection.ParseFile(path);
        var s = new JsonSection(doc.RootElement, Path.GetFileName(path));
        var d = new HubertConfig();
        var c = new HubertConfig
        {
            HiddenSize = s.Int("hidden_size", d.HiddenSize),
            NumHiddenLayers = s.Int("num_hidden_layers", d.NumHiddenLayers),
            NumAttentionHeads = s.Int("num_attention_heads", d.NumAttentionHeads),
            IntermediateSize = s.Int("intermediate_size", d.IntermediateSize),
            ConvDim = s.IntArray("conv_dim", d.ConvDim),
            ConvKernel = s.IntArray("conv_kernel", d.ConvKernel),
            ConvStride = s.IntArray("conv_stride", d.ConvStride),
            ConvBias = s.Bool("conv_bias", d.ConvBias),
            NumConvPosEmbeddings = s.Int("num_conv_pos_embeddings", d.NumConvPosEmbeddings),
            NumConvPosEmbeddingGroups = s.Int("num_conv_pos_embedding_groups", d.NumConvPosEmbeddingGroups),
            FeatProjLayerNorm = s.Bool("feat_proj_layer_norm", d.FeatProjLayerNorm),
            LayerNormEps = s.Double("layer_norm_eps", d.LayerNormEps),
        };
        string where = path;
        if (s.Bool("do_stable_layer_norm", false))
            throw new BarkConfigException($"{where}: do_stable_layer_norm is true (a pre-norm HuBERT such as hubert-large); only the post-norm base model the cloning recipe uses is supported.");
        if (s.String("feat_extract_norm", "group") != "group")
            throw new BarkConfigException($"{where}: feat_extract_norm '{s.String("feat_extract_norm", null)}' is not supported; HuBERT base uses 'group'.");
        foreach (string act in new[] { "hidden_act", "feat_extract_activation" })
            if (s.String(act, "gelu") != "gelu")
                throw new BarkConfigException($"{where}: {act} '{s.String(act, null)}' is not supported; HuBERT base uses 'gelu'.");
        if (c.ConvDim.Length == 0 || c.ConvDim.Length != c.ConvKernel.Length || c.ConvDim.Length != c.ConvStride.Length)
            throw new BarkConfigException($"{where}: conv_dim, conv_kernel and conv_stride must be lists of the same, non-zero length.");
        if (c.HiddenSize % c.NumAttentionHeads != 0)
            throw new BarkConfigException($"{where}: hidden_size {c.HiddenSize} is not a multiple of num_attention_heads {c.NumAttentionHeads}.");
        if (c.HiddenSize % c.NumConvPosEmbeddingGroups != 0)
            throw new BarkConfigException($"{where}: hidden_size {c.HiddenSize} is not a multiple of num_conv_pos_embedding_groups {c.NumConvPosEmbeddingGroups}.");
        return c;
    }
}
