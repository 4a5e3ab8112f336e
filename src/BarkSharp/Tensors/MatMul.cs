using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace BarkSharp.Tensors;

/// <summary>
/// <c>y = x · Wᵀ + b</c> for activations <c>x [n, Cols]</c> and a <see cref="WeightMatrix"/> <c>W [Rows, Cols]</c>.
/// Each output element is one dot product accumulated in a fixed order (vector lanes, then lane sum, then the tail),
/// so results do not depend on the thread count. Output rows are split across threads in blocks.
/// </summary>
public static class MatMul
{
    private const int RowBlock = 16;
    private const long MinWorkPerThread = 1 << 16;

    /// <summary>Computes all <see cref="WeightMatrix.Rows"/> outputs: <paramref name="y"/> is <c>[n, Rows]</c>.</summary>
    public static void Multiply(ReadOnlySpan<float> x, int n, WeightMatrix w, Span<float> y, int maxThreads = 1) =>
        MultiplyRows(x, n, w, 0, w.Rows, y, maxThreads);

    /// <summary>
    /// Computes outputs <c>[rowStart, rowStart + rowCount)</c> only: <paramref name="y"/> is <c>[n, rowCount]</c>.
    /// Used to skip logits a stage can never sample.
    /// </summary>
    public static unsafe void MultiplyRows(ReadOnlySpan<float> x, int n, WeightMatrix w, int rowStart, int rowCount, Span<float> y, int maxThreads = 1)
    {
        int k = w.Cols;
        if (x.Length < (long)n * k) throw new ArgumentException($"x has {x.Length} elements, expected {n}×{k}.", nameof(x));
        if (y.Length < (long)n * rowCount) throw new ArgumentException($"y has {y.Length} elements, expected {n}×{rowCount}.", nameof(y));
        if (rowStart < 0 || rowCount < 0 || rowStart + rowCount > w.Rows) throw new ArgumentOutOfRangeException(nameof(rowCount));
        if (n == 0 || rowCount == 0) return;

        int blocks = (rowCount + RowBlock - 1) / RowBlock;
        long work = (long)n * rowCount * k;
        int threads = (int)Math.Clamp(Math.Min(maxThreads, work / MinWorkPerThread), 1, blocks);

        fixed (float* px = x)
        fixed (float* py = y)
        fixed (float* pw = w.Data)
        {
            var job = new Job(px, n, pw, w.Bias, k, rowStart, rowCount, py);
            if (threads == 1)
            {
                job.Run(0, rowCount);
            }
            else
            {
                Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
                {
                    int b0 = (int)((long)blocks * t / threads), b1 = (int)((long)blocks * (t + 1) / threads);
                    job.Run(b0 * RowBlock, Math.Min(b1 * RowBlock, rowCount));
                });
            }
        }
    }

    private readonly unsafe struct Job(float* x, int n, float* w, float[]? bias, int k, int rowStart, int rowCount, float* y)
    {
        public void Run(int r0, int r1)
        {
            for (int i = 0; i < n; i++)
            {
                float* xi = x + (long)i * k;
                float* yi = y + (long)i * rowCount;
                int r = r0;
                for (; r + 4 <= r1; r += 4)
                {
                    float* w0 = w + (long)(rowStart + r) * k;
                    Dot4(xi, w0, w0 + k, w0 + 2 * k, w0 + 3 * k, k, yi + r);
                }
                for (; r < r1; r++) yi[r] = Dot(xi, w + (long)(rowStart + r) * k, k);
                if (bias is not null)
                    for (int o = r0; o < r1; o++) yi[o] += bias[rowStart + o];
            }
        }
    }

    /// <summary>One dot product, with the same accumulation order as each lane of <see cref="Dot4"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe float Dot(float* a, float* b, int k)
    {
        int j = 0;
        float sum = 0;
        if (Vector256.IsHardwareAccelerated && k >= 8)
        {
            Vector256<float> acc = Vector256<float>.Zero;
            for (; j + 8 <= k; j += 8)
                acc = Vector256.FusedMultiplyAdd(Vector256.Load(a + j), Vector256.Load(b + j), acc);
            sum = Vector256.Sum(acc);
        }
        for (; j < k; j++) sum = MathF.FusedMultiplyAdd(a[j], b[j], sum);
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Dot4(float* a, float* b0, float* b1, float* b2, float* b3, int k, float* dst)
    {
        int j = 0;
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        if (Vector256.IsHardwareAccelerated && k >= 8)
        {
            Vector256<float> c0 = Vector256<float>.Zero, c1 = c0, c2 = c0, c3 = c0;
            for (; j + 8 <= k; j += 8)
            {
                Vector256<float> va = Vector256.Load(a + j);
                c0 = Vector256.FusedMultiplyAdd(va, Vector256.Load(b0 + j), c0);
                c1 = Vector256.FusedMultiplyAdd(va, Vector256.Load(b1 + j), c1);
                c2 = Vector256.FusedMultiplyAdd(va, Vector256.Load(b2 + j), c2);
                c3 = Vector256.FusedMultiplyAdd(va, Vector256.Load(b3 + j), c3);
            }
            s0 = Vector256.Sum(c0);
            s1 = Vector256.Sum(c1);
            s2 = Vector256.Sum(c2);
            s3 = Vector256.Sum(c3);
        }
        for (; j < k; j++)
        {
            float v = a[j];
            s0 = MathF.FusedMultiplyAdd(v, b0[j], s0);
            s1 = MathF.FusedMultiplyAdd(v, b1[j], s1);
            s2 = MathF.FusedMultiplyAdd(v, b2[j], s2);
            s3 = MathF.FusedMultiplyAdd(v, b3[j], s3);
        }
        dst[0] = s0;
        dst[1] = s1;
        dst[2] = s2;
        dst[3] = s3;
    }
}
