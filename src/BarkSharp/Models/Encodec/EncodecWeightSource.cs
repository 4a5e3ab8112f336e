using BarkSharp.IO;

namespace BarkSharp.Models.Encodec;

/// <summary>
/// Where the codec's tensors come from: a checkpoint (weight norm folded here) or a seeded random initialisation
/// of the same shapes. The model is built once, by name, against either.
/// </summary>
internal abstract class EncodecWeightSource
{
    /// <summary>
    /// The effective weight of the weight-normed convolution <paramref name="conv"/> (e.g. <c>decoder.layers.0.conv</c>),
    /// shape <paramref name="shape"/>; <paramref name="fanIn"/> scales random weights.
    /// </summary>
    public abstract float[] ConvWeight(string conv, long[] shape, int fanIn);

    /// <summary>A plain tensor by its local key.</summary>
    public abstract float[] Tensor(string key, long[] shape, int fanIn);
}

/// <summary>
/// Reads from a checkpoint through a <see cref="WeightReader"/> (prefix <c>codec_model.</c>). Weight norm is stored as
/// <c>weight_g</c> <c>[d₀, 1, 1]</c> and <c>weight_v</c> (torch &lt; 2.1), or as
/// <c>parametrizations.weight.original0</c> / <c>original1</c> (newer torch); the weight is
/// <c>g·v/‖v‖</c> with the norm over every dimension but the first. An already folded <c>weight</c> is also accepted.
/// </summary>
internal sealed class CheckpointWeightSource(WeightReader reader) : EncodecWeightSource
{
    public override float[] ConvWeight(string conv, long[] shape, int fanIn)
    {
        long[] gShape = [shape[0], 1, 1];
        if (reader.Has(conv + ".weight_g") || reader.Has(conv + ".weight_v"))
            return Fold(reader.Float32(conv + ".weight_g", gShape), reader.Float32(conv + ".weight_v", shape));
        string p = conv + ".parametrizations.weight.";
        if (reader.Has(p + "original0") || reader.Has(p + "original1"))
            return Fold(reader.Float32(p + "original0", gShape), reader.Float32(p + "original1", shape));
        if (reader.Has(conv + ".weight")) return reader.Float32(conv + ".weight", shape);
        throw new BarkWeightException(reader.Key(conv + ".weight_v"),
            $"{reader.Store.SourcePath}: the checkpoint has no weight for '{reader.Key(conv)}' (looked for weight_g/weight_v, " +
            "parametrizations.weight.original0/original1 and weight). Is this an EnCodec decoder checkpoint matching codec_config?");
    }

    public override float[] Tensor(string key, long[] shape, int fanIn) => reader.Float32(key, shape);

    /// <summary><c>w[o] = v[o]·(g[o]/‖v[o]‖)</c> for each slice <c>o</c> of the first dimension (torch's <c>_weight_norm</c>, dim 0).</summary>
    internal static float[] Fold(float[] g, float[] v)
    {
        int slice = v.Length / g.Length;
        var w = new float[v.Length];
        for (int o = 0; o < g.Length; o++)
        {
            ReadOnlySpan<float> vo = v.AsSpan(o * slice, slice);
            double sum = 0;
            foreach (float e in vo) sum += (double)e * e;
            float scale = g[o] / (float)Math.Sqrt(sum);
            Span<float> wo = w.AsSpan(o * slice, slice);
            for (int i = 0; i < slice; i++) wo[i] = vo[i] * scale;
        }
        return w;
    }
}

/// <summary>
/// Seeded uniform weights in ±1/√fanIn (PyTorch's default bound for convolutions, biases and LSTMs; codebook vectors
/// use fanIn 1), drawn in the order the model asks for them — for tests and benchmarks at real shapes without a file.
/// </summary>
internal sealed class RandomWeightSource(int seed) : EncodecWeightSource
{
    private readonly Random _random = new(seed);

    public override float[] ConvWeight(string conv, long[] shape, int fanIn) => Tensor(conv + ".weight", shape, fanIn);

    public override float[] Tensor(string key, long[] shape, int fanIn)
    {
        long n = 1;
        foreach (long d in shape) n *= d;
        var data = new float[n];
        float bound = 1f / MathF.Sqrt(fanIn);
        for (long i = 0; i < n; i++) data[i] = (2 * _random.NextSingle() - 1) * bound;
        return data;
    }
}
