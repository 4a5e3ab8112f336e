using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace BarkSharp.Tensors;

/// <summary>
/// <c>y = x · Wᵀ + b</c> for activations <c>x [n, Cols]</c> and a panel-packed <see cref="WeightMatrix"/>
/// <c>W [Rows, Cols]</c>. One kernel family serves decode (n = 1, streaming each panel once) and prefill (tiles of
/// 12 rows × 32 outputs held in registers, the input dimension blocked so a panel slice stays in L1).
/// <para>
/// Every output is a single fused-multiply-add chain over the input index in increasing order, continued across
/// input blocks, so the result is the same for any thread count, tile shape or row count. Int8 weights take their own
/// path (<c>MatMul.Int8.cs</c>): exact integer sums over byte-quantized activations, equally independent of both.
/// </para>
/// </summary>
public static partial class MatMul
{
    private const int Nr = WeightMatrix.PanelWidth;
    private const int Mr = 12;
    private const int Kc = 256;
    private const int Mc = 96;
    private const long MinWorkPerThread = 1 << 17;

    /// <summary>Computes all <see cref="WeightMatrix.Rows"/> outputs: <paramref name="y"/> is <c>[n, Rows]</c>.</summary>
    public static void Multiply(ReadOnlySpan<float> x, int n, WeightMatrix w, Span<float> y, int maxThreads = 1) =>
        MultiplyRows(x, n, w, 0, w.Rows, y, maxThreads);

    /// <summary>
    /// Computes outputs <c>[rowStart, rowStart + rowCount)</c> only: <paramref name="y"/> is <c>[n, rowCount]</c>.
    /// Used to skip logits a stage can never sample.
    /// </summary>
    public static void MultiplyRows(ReadOnlySpan<float> x, int n, WeightMatrix w, int rowStart, int rowCount, Span<float> y, int maxThreads = 1) =>
        MultiplyRows(x, n, w, rowStart, rowCount, y, maxThreads, BestInt8Kernel);

    /// <summary><see cref="MultiplyRows(ReadOnlySpan{float}, int, WeightMatrix, int, int, Span{float}, int)"/> with a chosen int8 kernel (tests compare them).</summary>
    internal static unsafe void MultiplyRows(ReadOnlySpan<float> x, int n, WeightMatrix w, int rowStart, int rowCount, Span<float> y, int maxThreads, Int8Kernel int8Kernel)
    {
        int k = w.Cols;
        if (x.Length < (long)n * k) throw new ArgumentException($"x has {x.Length} elements, expected {n}×{k}.", nameof(x));
        if (y.Length < (long)n * rowCount) throw new ArgumentException($"y has {y.Length} elements, expected {n}×{rowCount}.", nameof(y));
        if (rowStart < 0 || rowCount < 0 || rowStart + rowCount > w.Rows) throw new ArgumentOutOfRangeException(nameof(rowCount));
        if (n == 0 || rowCount == 0) return;

        // Panels covering the requested rows; outputs outside [rowStart, rowStart + rowCount) are computed into a
        // scratch tile and dropped.
        int firstPanel = rowStart / Nr, lastPanel = (rowStart + rowCount - 1) / Nr;
        int panels = lastPanel - firstPanel + 1;
        long work = (long)n * rowCount * k;
        int threads = (int)Math.Clamp(Math.Min(maxThreads, work / MinWorkPerThread), 1, panels);

        fixed (float* px = x)
        fixed (float* py = y)
        fixed (float* pw = w.PackedF32)
        {
            if (w.Type == WeightType.Int8)
            {
                MultiplyInt8(px, n, w, rowStart, rowCount, py, firstPanel, panels, threads, int8Kernel);
                return;
            }
            var job = new Job(px, n, k, pw, w, rowStart, rowCount, py, firstPanel);
            if (threads == 1) job.Run(0, panels);
            else RunParallel(job, panels, threads);
        }
    }

    /// <summary>Work over a range of panels, split across threads by <see cref="RunParallel"/>.</summary>
    private interface IPanelJob
    {
        void Run(int p0, int p1);
    }

    // Kept apart so the closure is only allocated when threads are used (a decode step on one thread allocates nothing).
    private static void RunParallel<TJob>(TJob job, int panels, int threads) where TJob : struct, IPanelJob =>
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
            job.Run((int)((long)panels * t / threads), (int)((long)panels * (t + 1) / threads)));

    private readonly unsafe struct Job(float* x, int n, int k, float* packed, WeightMatrix w, int rowStart, int rowCount, float* y, int firstPanel) : IPanelJob
    {
        public void Run(int p0, int p1)
        {
            if (n <= 2 && HasDecodeKernel(w.Type))
            {
                DecodeRows(x, n, k, w, firstPanel, p0, p1, rowStart, rowCount, y);
                Finish(p0, p1);
                return;
            }
            RunTiled(p0, p1);
            Finish(p0, p1);
        }

        private void RunTiled(int p0, int p1)
        {
            float* tile = stackalloc float[Mr * Nr];
            float* widened = stackalloc float[packed == null ? Kc * Nr : 1];
            for (int kb = 0; kb < k; kb += Kc)
            {
                int kc = Math.Min(Kc, k - kb);
                bool first = kb == 0;
                for (int i0 = 0; i0 < n; i0 += Mc)
                {
                    int mc = Math.Min(Mc, n - i0);
                    for (int p = p0; p < p1; p++)
                    {
                        int panel = firstPanel + p;
                        float* b;
                        if (packed != null)
                        {
                            b = packed + ((long)panel * k + kb) * Nr;
                        }
                        else
                        {
                            w.WidenSlice(panel, kb, kc, new Span<float>(widened, kc * Nr));
                            b = widened;
                        }
                        int colStart = panel * Nr - rowStart;                       // output column of the panel's first row
                        int c0 = Math.Max(0, -colStart), c1 = Math.Min(Nr, rowCount - colStart);
                        bool full = c0 == 0 && c1 == Nr;
                        for (int i = i0; i < i0 + mc;)
                        {
                            int rows = Math.Min(Mr, i0 + mc - i);
                            float* a = x + (long)i * k + kb;
                            float* c = full ? y + (long)i * rowCount + colStart : tile;
                            int ldc = full ? rowCount : Nr;
                            if (!full && !first) LoadTile(y, i, rows, colStart, c0, c1, tile);
                            if (rows == Mr) Kernel12(a, k, b, kc, c, ldc, !first);
                            else KernelRows(a, k, b, kc, c, ldc, rows, !first);
                            if (!full) StoreTile(y, i, rows, colStart, c0, c1, tile);
                            i += rows;
                        }
                    }
                }
            }
        }

        private void Finish(int p0, int p1)
        {
            if (w.Bias is float[] bias)
            {
                int o0 = Math.Max(0, (firstPanel + p0) * Nr - rowStart), o1 = Math.Min(rowCount, (firstPanel + p1) * Nr - rowStart);
                for (int i = 0; i < n; i++)
                {
                    var row = new Span<float>(y + (long)i * rowCount + o0, o1 - o0);
                    TensorPrimitives.Add(row, bias.AsSpan(rowStart + o0, o1 - o0), row);
                }
            }
        }

        private void LoadTile(float* yBase, int i, int rows, int colStart, int c0, int c1, float* tile)
        {
            for (int r = 0; r < rows; r++)
                for (int j = c0; j < c1; j++) tile[r * Nr + j] = yBase[(long)(i + r) * rowCount + colStart + j];
        }

        private void StoreTile(float* yBase, int i, int rows, int colStart, int c0, int c1, float* tile)
        {
            for (int r = 0; r < rows; r++)
                for (int j = c0; j < c1; j++) yBase[(long)(i + r) * rowCount + colStart + j] = tile[r * Nr + j];
        }
    }

    /// <summary>12 rows × 32 outputs over <paramref name="kc"/> inputs; accumulates into <paramref name="c"/> when <paramref name="load"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Kernel12(float* a, int lda, float* b, int kc, float* c, int ldc, bool load)
    {
        Vector512<float> c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51,
                         c60, c61, c70, c71, c80, c81, c90, c91, ca0, ca1, cb0, cb1;
        if (load)
        {
            c00 = Vector512.Load(c); c01 = Vector512.Load(c + 16);
            c10 = Vector512.Load(c + ldc); c11 = Vector512.Load(c + ldc + 16);
            c20 = Vector512.Load(c + 2 * ldc); c21 = Vector512.Load(c + 2 * ldc + 16);
            c30 = Vector512.Load(c + 3 * ldc); c31 = Vector512.Load(c + 3 * ldc + 16);
            c40 = Vector512.Load(c + 4 * ldc); c41 = Vector512.Load(c + 4 * ldc + 16);
            c50 = Vector512.Load(c + 5 * ldc); c51 = Vector512.Load(c + 5 * ldc + 16);
            c60 = Vector512.Load(c + 6 * ldc); c61 = Vector512.Load(c + 6 * ldc + 16);
            c70 = Vector512.Load(c + 7 * ldc); c71 = Vector512.Load(c + 7 * ldc + 16);
            c80 = Vector512.Load(c + 8 * ldc); c81 = Vector512.Load(c + 8 * ldc + 16);
            c90 = Vector512.Load(c + 9 * ldc); c91 = Vector512.Load(c + 9 * ldc + 16);
            ca0 = Vector512.Load(c + 10 * ldc); ca1 = Vector512.Load(c + 10 * ldc + 16);
            cb0 = Vector512.Load(c + 11 * ldc); cb1 = Vector512.Load(c + 11 * ldc + 16);
        }
        else
        {
            c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = Vector512<float>.Zero;
            c60 = c61 = c70 = c71 = c80 = c81 = c90 = c91 = ca0 = ca1 = cb0 = cb1 = Vector512<float>.Zero;
        }
        float* a0 = a, a1 = a + lda, a2 = a + 2 * lda, a3 = a + 3 * lda, a4 = a + 4 * lda, a5 = a + 5 * lda;
        float* a6 = a + 6 * lda, a7 = a + 7 * lda, a8 = a + 8 * lda, a9 = a + 9 * lda, aa = a + 10 * lda, ab = a + 11 * lda;
        for (int p = 0; p < kc; p++)
        {
            Vector512<float> b0 = Vector512.Load(b), b1 = Vector512.Load(b + 16);
            b += Nr;
            Vector512<float> v = Vector512.Create(a0[p]);
            c00 = Vector512.FusedMultiplyAdd(v, b0, c00); c01 = Vector512.FusedMultiplyAdd(v, b1, c01);
            v = Vector512.Create(a1[p]);
            c10 = Vector512.FusedMultiplyAdd(v, b0, c10); c11 = Vector512.FusedMultiplyAdd(v, b1, c11);
            v = Vector512.Create(a2[p]);
            c20 = Vector512.FusedMultiplyAdd(v, b0, c20); c21 = Vector512.FusedMultiplyAdd(v, b1, c21);
            v = Vector512.Create(a3[p]);
            c30 = Vector512.FusedMultiplyAdd(v, b0, c30); c31 = Vector512.FusedMultiplyAdd(v, b1, c31);
            v = Vector512.Create(a4[p]);
            c40 = Vector512.FusedMultiplyAdd(v, b0, c40); c41 = Vector512.FusedMultiplyAdd(v, b1, c41);
            v = Vector512.Create(a5[p]);
            c50 = Vector512.FusedMultiplyAdd(v, b0, c50); c51 = Vector512.FusedMultiplyAdd(v, b1, c51);
            v = Vector512.Create(a6[p]);
            c60 = Vector512.FusedMultiplyAdd(v, b0, c60); c61 = Vector512.FusedMultiplyAdd(v, b1, c61);
            v = Vector512.Create(a7[p]);
            c70 = Vector512.FusedMultiplyAdd(v, b0, c70); c71 = Vector512.FusedMultiplyAdd(v, b1, c71);
            v = Vector512.Create(a8[p]);
            c80 = Vector512.FusedMultiplyAdd(v, b0, c80); c81 = Vector512.FusedMultiplyAdd(v, b1, c81);
            v = Vector512.Create(a9[p]);
            c90 = Vector512.FusedMultiplyAdd(v, b0, c90); c91 = Vector512.FusedMultiplyAdd(v, b1, c91);
            v = Vector512.Create(aa[p]);
            ca0 = Vector512.FusedMultiplyAdd(v, b0, ca0); ca1 = Vector512.FusedMultiplyAdd(v, b1, ca1);
            v = Vector512.Create(ab[p]);
            cb0 = Vector512.FusedMultiplyAdd(v, b0, cb0); cb1 = Vector512.FusedMultiplyAdd(v, b1, cb1);
        }
        c00.Store(c); c01.Store(c + 16);
        c10.Store(c + ldc); c11.Store(c + ldc + 16);
        c20.Store(c + 2 * ldc); c21.Store(c + 2 * ldc + 16);
        c30.Store(c + 3 * ldc); c31.Store(c + 3 * ldc + 16);
        c40.Store(c + 4 * ldc); c41.Store(c + 4 * ldc + 16);
        c50.Store(c + 5 * ldc); c51.Store(c + 5 * ldc + 16);
        c60.Store(c + 6 * ldc); c61.Store(c + 6 * ldc + 16);
        c70.Store(c + 7 * ldc); c71.Store(c + 7 * ldc + 16);
        c80.Store(c + 8 * ldc); c81.Store(c + 8 * ldc + 16);
        c90.Store(c + 9 * ldc); c91.Store(c + 9 * ldc + 16);
        ca0.Store(c + 10 * ldc); ca1.Store(c + 10 * ldc + 16);
        cb0.Store(c + 11 * ldc); cb1.Store(c + 11 * ldc + 16);
    }

    /// <summary>Up to 11 rows × 32 outputs, two at a time (one row for the last odd one); same chains as <see cref="Kernel12"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void KernelRows(float* a, int lda, float* b, int kc, float* c, int ldc, int rows, bool load)
    {
        int r = 0;
        for (; r + 2 <= rows; r += 2)
        {
            float* a0 = a + r * lda, a1 = a0 + lda;
            float* d0 = c + r * ldc, d1 = d0 + ldc;
            Vector512<float> c00 = load ? Vector512.Load(d0) : default, c01 = load ? Vector512.Load(d0 + 16) : default;
            Vector512<float> c10 = load ? Vector512.Load(d1) : default, c11 = load ? Vector512.Load(d1 + 16) : default;
            float* bp = b;
            for (int p = 0; p < kc; p++)
            {
                Vector512<float> b0 = Vector512.Load(bp), b1 = Vector512.Load(bp + 16);
                bp += Nr;
                Vector512<float> v0 = Vector512.Create(a0[p]), v1 = Vector512.Create(a1[p]);
                c00 = Vector512.FusedMultiplyAdd(v0, b0, c00); c01 = Vector512.FusedMultiplyAdd(v0, b1, c01);
                c10 = Vector512.FusedMultiplyAdd(v1, b0, c10); c11 = Vector512.FusedMultiplyAdd(v1, b1, c11);
            }
            c00.Store(d0); c01.Store(d0 + 16);
            c10.Store(d1); c11.Store(d1 + 16);
        }
        if (r < rows)
        {
            float* a0 = a + r * lda;
            float* d0 = c + r * ldc;
            Vector512<float> c00 = load ? Vector512.Load(d0) : default, c01 = load ? Vector512.Load(d0 + 16) : default;
            float* bp = b;
            for (int p = 0; p < kc; p++)
            {
                Vector512<float> v0 = Vector512.Create(a0[p]);
                c00 = Vector512.FusedMultiplyAdd(v0, Vector512.Load(bp), c00);
                c01 = Vector512.FusedMultiplyAdd(v0, Vector512.Load(bp + 16), c01);
                bp += Nr;
            }
            c00.Store(d0); c01.Store(d0 + 16);
        }
    }
}
