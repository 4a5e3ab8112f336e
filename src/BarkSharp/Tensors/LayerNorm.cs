using System.Numerics.Tensors;

namespace BarkSharp.Tensors;

/// <summary>
/// Layer normalization over the last dimension, as <c>torch.nn.LayerNorm</c>: <c>y = (x − mean) / sqrt(var + eps) · w + b</c>
/// with the biased variance. The bias may be empty (Bark's bias-free LayerNorm).
/// </summary>
public static class LayerNorm
{
    /// <summary>PyTorch's default epsilon.</summary>
    public const float DefaultEpsilon = 1e-5f;

    /// <summary>Normalizes <paramref name="rows"/> rows of length <c>weight.Length</c>. <paramref name="x"/> and <paramref name="y"/> may be the same span.</summary>
    public static void Forward(ReadOnlySpan<float> x, int rows, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> y, float epsilon = DefaultEpsilon)
    {
        int dim = weight.Length;
        if (!bias.IsEmpty && bias.Length != dim) throw new ArgumentException("bias length differs from weight length.", nameof(bias));
        if (x.Length < rows * dim || y.Length < rows * dim) throw new ArgumentException("x or y shorter than rows × dim.");
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<float> xr = x.Slice(r * dim, dim);
            Span<float> yr = y.Slice(r * dim, dim);
            float mean = TensorPrimitives.Sum(xr) / dim;
            float variance = 0;
            for (int i = 0; i < dim; i++)
            {
                float d = xr[i] - mean;
                variance += d * d;
            }
            variance /= dim;
            float inv = 1f / MathF.Sqrt(variance + epsilon);
            for (int i = 0; i < dim; i++) yr[i] = (xr[i] - mean) * inv * weight[i];
            if (!bias.IsEmpty) TensorPrimitives.Add(yr, bias, yr);
        }
    }
}
