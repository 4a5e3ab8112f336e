namespace BarkSharp.Tensors;

/// <summary>
/// Layer normalization over the last dimension, as <c>torch.nn.LayerNorm</c>: <c>y = (x − mean) / sqrt(var + eps) · w + b</c>
/// with the biased variance. The bias may be empty (Bark's bias-free LayerNorm). The mean is summed in
/// <see cref="Simd.Sum"/>'s fixed order, the variance in element order, so a row gives the same bits at every vector width.
/// </summary>
internal static class LayerNorm
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
            KernelParallel.For(new RowJob(px, py, pw, pb, dim, bias.Length, epsilon), rows, threads);
    }

    private readonly unsafe struct RowJob(float* x, float* y, float* weight, float* bias, int dim, int biasLength, float epsilon) : IRangeJob
    {
        public void Run(int begin, int end) =>
            Rows(new ReadOnlySpan<float>(x, end * dim), begin, end, new ReadOnlySpan<float>(weight, dim),
                new ReadOnlySpan<float>(bias, biasLength), new Span<float>(y, end * dim), epsilon);
    }

    /// <summary><c>y = (x − mean) · inv · w (+ b)</c>, lane-wise in the scalar order of roundings (vectors, then the last elements one at a time).</summary>
    private static unsafe void Normalize(ReadOnlySpan<float> x, float mean, float inv, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> y)
    {
        fixed (float* px = x)
        fixed (float* pw = weight)
        fixed (float* pb = bias)
        fixed (float* py = y)
        {
            switch (Simd.Path)
            {
                case VectorPath.Vector512: Normalize<Simd512, System.Runtime.Intrinsics.Vector512<float>>(px, mean, inv, pw, bias.IsEmpty ? null : pb, py, x.Length); break;
                case VectorPath.Vector256: Normalize<Simd256, System.Runtime.Intrinsics.Vector256<float>>(px, mean, inv, pw, bias.IsEmpty ? null : pb, py, x.Length); break;
                default: Normalize<Simd128, System.Runtime.Intrinsics.Vector128<float>>(px, mean, inv, pw, bias.IsEmpty ? null : pb, py, x.Length); break;
            }
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Normalize<TSimd, TVec>(float* x, float mean, float inv, float* w, float* b, float* y, int dim)
        where TSimd : struct, ISimd<TVec>
        where TVec : struct
    {
        int n = TSimd.Count, i = 0;
        TVec m = TSimd.Broadcast(mean), s = TSimd.Broadcast(inv);
        if (b == null)
            for (; i + n <= dim; i += n) TSimd.Store(TSimd.Multiply(TSimd.Multiply(TSimd.Subtract(TSimd.Load(x + i), m), s), TSimd.Load(w + i)), y + i);
        else
            for (; i + n <= dim; i += n)
                TSimd.Store(TSimd.Add(TSimd.Multiply(TSimd.Multiply(TSimd.Subtract(TSimd.Load(x + i), m), s), TSimd.Load(w + i)), TSimd.Load(b + i)), y + i);
        for (; i < dim; i++)
        {
            float v = (x[i] - mean) * inv * w[i];
            y[i] = b == null ? v : v + b[i];
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static void Rows(ReadOnlySpan<float> x, int r0, int r1, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> y, float epsilon)
    {
        int dim = weight.Length;
        for (int r = r0; r < r1; r++)
        {
            ReadOnlySpan<float> xr = x.Slice(r * dim, dim);
            Span<float> yr = y.Slice(r * dim, dim);
            float mean = Simd.Sum(xr) / dim;
            float variance = 0;
            for (int i = 0; i < dim; i++)
            {
                float d = xr[i] - mean;
                variance += d * d;
            }
            variance /= dim;
            float inv = 1f / MathF.Sqrt(variance + epsilon);
            Normalize(xr, mean, inv, weight, bias, yr);
        }
    }
}
