using BarkSharp.IO;
using BarkSharp.Tensors;

namespace BarkSharp.Models;

/// <summary>The parameters of one <c>nn.LayerNorm</c>: <c>weight</c> and an optional <c>bias</c>.</summary>
internal sealed class LayerNormWeights(float[] weight, float[]? bias)
{
    public float[] Weight { get; } = weight;

    public float[]? Bias { get; } = bias;

    /// <summary>Reads <c>{name}.weight</c> and, when <paramref name="hasBias"/>, <c>{name}.bias</c>.</summary>
    public static LayerNormWeights Load(WeightReader r, string name, int dim, bool hasBias) =>
        new(r.Float32(name + ".weight", dim), hasBias ? r.Float32(name + ".bias", dim) : null);

    public void Apply(ReadOnlySpan<float> x, int rows, Span<float> y, int maxThreads = 1) =>
        LayerNorm.Forward(x, rows, Weight, Bias, y, LayerNorm.DefaultEpsilon, maxThreads);
}
