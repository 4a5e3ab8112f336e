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
    public static void Forward(ReadOnlySpan<float> x, int rows, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> y, float epsilon = DefaultEpsilon) =>
        Forward(x, rows, weight, bias, y, epsilon, maxThreads: 1);

    /// <summary>As <see cref="Forward(ReadOnlySpan{float}, int, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, float)"/>, rows split across up to <paramref name="maxThreads"/> threads (each row is computed the same way).</summary>
    public static unsafe void Forward(ReadOnlySpan<float> x, int rows, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> y, float epsilon, int maxThreads)
    {
        int dim = weight.Length;
        if (!bias.IsEmpty && bias.Length != dim) throw new ArgumentException("bias length differs from weight length.", nameof(bias));
        if (x.Length < rows * dim || y.Length < rows * dim) throw new ArgumentException("x or y shorter than rows × dim.");
        int threads = Math.Clamp(Math.Min(maxThreads, rows / 64), 1, Math.Max(1, rows));
        if (threads == 1)
        {
            Rows(x, 0, rows, weight, bias, y, epsilon);
            return;
        }
        fixed (float* px = x)
        fixed (float* py = y)
        fixed (float* pw = weight)
        fixed (float* pb = bias)
            RunParallel(px, py, pw, pb, rows, dim, bias.Length, epsilon, threads);
    }

    // Kept apart so the closure is only allocated when threads are used.
    private static unsafe void RunParallel(float* px, float* py, float* pw, float* pb, int rows, int dim, int biasLength, float epsilon, int threads)
    {
        nint sx = (nint)px, sy = (nint)py, sw = (nint)pw, sb = (nint)pb;
        int length = rows * dim;
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
            Rows(new ReadOnlySpan<float>((float*)sx, length), (int)((long)rows * t / threads), (int)((long)rows * (t + 1) / threads),
                new ReadOnlySpan<float>((float*)sw, dim), new ReadOnlySpan<float>((float*)sb, biasLength), new Span<float>((float*)sy, length), epsilon));
    }

    private static void Rows(ReadOnlySpan<float> x, int r0, int r1, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> y, float epsilon)
    {
        int dim = weight.Length;
        for (int r = r0; r < r1; r++)
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
