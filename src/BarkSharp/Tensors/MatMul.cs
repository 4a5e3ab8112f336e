using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace BarkSharp.Tensors;

/// <summary>
/// <c>y = x · Wᵀ + b</c> for activations <c>x [n, Cols]</c> and a panel-packed <see cref="WeightMatrix"/>
/// <c>W [Rows, Cols]</c>. One kernel family serves decode (n = 1, streaming each panel once) and prefill (register
/// tiles of activation rows × panel columns over activations packed tile by tile, blocked by the measured L1 and L2
/// sizes: see <c>Job.Blocking</c>). The tile follows the vector width <see cref="Simd.Path"/> runs: 12 rows × 32 outputs with AVX-512, 6 rows × 16 outputs
/// with AVX2 (16 registers), 6 rows × 16 outputs with 128-bit vectors (24 accumulators: Arm64 has 32 registers).
/// <para>
/// Every output is a single fused-multiply-add chain over the input index in increasing order, continued across
/// input blocks, so the result is the same for any thread count, vector width, tile shape or row count. Int8 weights
/// take their own path (<c>MatMul.Int8.cs</c>): exact integer sums over byte-quantized activations, equally
/// independent of all of these.
/// </para>
/// </summary>
internal static partial class MatMul
{
    private const int Nr = WeightMatrix.PanelWidth;
    private const int MaxKc = 512;
    private const long MinWorkPerThread = 1 << 17;

    /// <summary>Computes all <see cref="WeightMatrix.Rows"/> outputs: <paramref name="y"/> is <c>[n, Rows]</c>.</summary>
    public static void Multiply(ReadOnlySpan<float> x, int n, WeightMatrix w, Span<float> y, int maxThreads = 1) =>
        MultiplyRows(x, n, w, 0, w.Rows, y, maxThreads);

    /// <summary>
    /// Computes outputs <c>[rowStart, rowStart + rowCount)</c> only: <paramref name="y"/> is <c>[n, rowCount]</c>.
    /// Used to skip logits a stage can never sample.
    /// </summary>
    public static void MultiplyRows(ReadOnlySpan<float> x, int n, WeightMatrix w, int rowStart, int rowCount, Span<float> y, int maxThreads = 1)
    {
        if (TryMultiplyJit(x, n, w, rowStart, rowCount, y, maxThreads)) return;   // generated kernels (MatMul.Jit.cs)
        MultiplyRows(x, n, w, rowStart, rowCount, y, maxThreads, BestInt8Kernel);
    }

    /// <summary><see cref="MultiplyRows(ReadOnlySpan{float}, int, WeightMatrix, int, int, Span{float}, int)"/> with a chosen int8 kernel (tests compare them).</summary>
    internal static unsafe void MultiplyRows(ReadOnlySpan<float> x, int n, WeightMatrix w, int rowStart, int rowCount, Span<float> y, int maxThreads, Int8Kernel int8Kernel)
    {
        if (!PlanProduct(x, n, w, rowStart, rowCount, y, maxThreads, out int firstPanel, out int panels, out int threads)) return;
        int k = w.Cols;

        fixed (float* px = x)
        fixed (float* py = y)
        {
            if (w.Type == WeightType.Int8)
            {
                MultiplyInt8(px, n, w, rowStart, rowCount, py, firstPanel, panels, threads, int8Kernel);
                return;
            }
            var args = new Product(px, n, k, w, rowStart, rowCount, py, firstPanel);
            switch (Simd.Path)
            {
                case VectorPath.Vector512: Run<Simd512, Vector512<float>>(args, panels, threads); break;
                case VectorPath.Vector256: Run<Simd256, Vector256<float>>(args, panels, threads); break;
                default: Run<Simd128, Vector128<float>>(args, panels, threads); break;
            }
        }
    }

    /// <summary>
    /// Checks a product's arguments (the managed and the generated kernels share them) and plans it: the panels covering
    /// the requested rows (outputs outside <c>[rowStart, rowStart + rowCount)</c> are computed into a scratch tile and
    /// dropped) and the threads the work is worth. False when there is nothing to compute.
    /// </summary>
    private static bool PlanProduct(ReadOnlySpan<float> x, int n, WeightMatrix w, int rowStart, int rowCount, Span<float> y, int maxThreads,
        out int firstPanel, out int panels, out int threads)
    {
        int k = w.Cols;
        if (x.Length < (long)n * k) throw new ArgumentException($"x has {x.Length} elements, expected {n}×{k}.", nameof(x));
        if (y.Length < (long)n * rowCount) throw new ArgumentException($"y has {y.Length} elements, expected {n}×{rowCount}.", nameof(y));
        if (rowStart < 0 || rowCount < 0 || rowStart + rowCount > w.Rows) throw new ArgumentOutOfRangeException(nameof(rowCount));
        firstPanel = panels = threads = 0;
        if (n == 0 || rowCount == 0) return false;
        firstPanel = rowStart / Nr;
        panels = (rowStart + rowCount - 1) / Nr - firstPanel + 1;
        long work = (long)n * rowCount * k;
        threads = (int)Math.Clamp(Math.Min(maxThreads, work / MinWorkPerThread), 1, panels);
        return true;
    }

    /// <summary>
    /// Whether a product on several threads packs its activations once, split between the threads, before the threads
    /// split the panels (<c>BARKSHARP_SHARED_PACK=0</c>: every thread packs all rows itself, the earlier way; kept for
    /// A/B timing). Packing only copies, so the results are the same bits either way.
    /// </summary>
    internal static bool SharedPacking { get; set; } = Environment.GetEnvironmentVariable("BARKSHARP_SHARED_PACK") != "0";

    private static unsafe void Run<TSimd, TVec>(in Product args, int panels, int threads)
        where TSimd : struct, ISimd<TVec>
        where TVec : struct
    {
        fixed (float* packed = args.W.PackedF32)
        {
            if (threads <= 1 || !SharedPacking || (args.N <= 2 && HasDecodeKernel(args.W.Type)))
            {
                KernelParallel.For(new Job<TSimd, TVec>(args, packed, null), panels, threads);
                return;
            }
            // Pack all activations once: block (kb, i0) of Job.RunTiled starts at kb · nPad + i0 · kc, so tile row r of
            // input block kb lies at kb · nPad + r · kc whatever the row blocking.
            int mr = Job<TSimd, TVec>.Mr, k = args.K, n = args.N;
            int kcBlock = Math.Min(Job<TSimd, TVec>.Blocking(n).Kc, k);
            int nPad = (n + mr - 1) / mr * mr, tiles = nPad / mr, kBlocks = (k + kcBlock - 1) / kcBlock;
            float[] buffer = ArrayPool<float>.Shared.Rent(nPad * k);
            try
            {
                fixed (float* pre = buffer)
                {
                    KernelParallel.For(new PackJob(args.X, n, k, kcBlock, mr, nPad, tiles, pre), kBlocks * tiles, threads);
                    KernelParallel.For(new Job<TSimd, TVec>(args, packed, pre), panels, threads);
                }
            }
            finally
            {
                ArrayPool<float>.Shared.Return(buffer);
            }
        }
    }

    /// <summary>Packs register tiles of activations (unit = input block × tile of rows) into the shared layout of <see cref="Run{TSimd, TVec}"/>.</summary>
    private readonly unsafe struct PackJob(float* x, int n, int k, int kcBlock, int mr, int nPad, int tiles, float* dst) : IRangeJob
    {
        public void Run(int begin, int end)
        {
            for (int u = begin; u < end; u++)
            {
                int kb = u / tiles * kcBlock, row = u % tiles * mr;
                int kc = Math.Min(kcBlock, k - kb), rows = Math.Min(mr, n - row);
                PackActivations(x + (long)row * k + kb, k, rows, kc, mr, dst + (long)kb * nPad + (long)row * kc);
            }
        }
    }

    /// <summary>The operands of one product (pointers stay valid while <see cref="MultiplyRows(ReadOnlySpan{float}, int, WeightMatrix, int, int, Span{float}, int, Int8Kernel)"/> runs).</summary>
    private readonly unsafe struct Product(float* x, int n, int k, WeightMatrix w, int rowStart, int rowCount, float* y, int firstPanel)
    {
        public readonly float* X = x, Y = y;
        public readonly int N = n, K = k, RowStart = rowStart, RowCount = rowCount, FirstPanel = firstPanel;
        public readonly WeightMatrix W = w;
    }

    /// <summary>One product's panels; <c>prepacked</c>, when not null, holds all activations packed (see <see cref="Run{TSimd, TVec}"/>).</summary>
    private readonly unsafe struct Job<TSimd, TVec>(Product args, float* packed, float* prepacked) : IRangeJob
        where TSimd : struct, ISimd<TVec>
        where TVec : struct
    {
        /// <summary>
        /// Rows of the register tile: 12 × 2 vectors with AVX-512, 6 × 2 with AVX2 (x86 has 16 vector registers),
        /// 6 × 4 with 128-bit vectors (measured twice as fast as 12 × 2 there: half the passes over the activations).
        /// </summary>
        internal static int Mr => TSimd.Count == 16 ? 12 : 6;

        /// <summary>Vectors per tile row: 2, or 4 with 128-bit vectors (6 × 4 = 24 accumulators in Arm64's 32 registers).</summary>
        private static int Nv => TSimd.Count == 4 ? 4 : 2;

        public void Run(int p0, int p1)
        {
            if (args.N <= 2 && HasDecodeKernel(args.W.Type))
                DecodeRows<TSimd, TVec>(args, p0, p1);
            else
                RunTiled(p0, p1);
            Finish(p0, p1);
        }

        /// <summary>
        /// Input blocks of <c>kc</c>: a panel slice (<c>kc</c> inputs × 32 outputs, which every column strip of a tile
        /// reads) fills the L1 data cache (256 inputs on 32 KB, 384 on Intel's 48 KB). Row blocks of <c>mc</c>, whole
        /// tiles: the packed activation block (<c>mc × kc</c> floats) takes up to 1.5 × the L2 (1536 rows on a 1 MB L2),
        /// and the rows are cut into blocks of equal size. Every row block streams each weight panel from memory once
        /// more, which costs more than a block that spills partly from L2 to L3: on Zen 4 one block of a coarse
        /// prefill's 887 or a fine pass's 1024 rows ran 3–4 % faster than two blocks of at most half the L2 (one thread;
        /// 2–3 % on two). Measured on Zen 4 against 128, 192 and 512 inputs, and 96, 300 and 512 rows.
        /// </summary>
        internal static (int Kc, int Mc) Blocking(int n)
        {
            int kc = Math.Clamp(CacheSizes.L1Data / (Nr * sizeof(float)), 64, MaxKc) & ~15;
            int mcMax = Math.Clamp(CacheSizes.L2 * 3 / 2 / (kc * sizeof(float)), Mr, 4096) / Mr * Mr;
            int blocks = (n + mcMax - 1) / mcMax;
            int mc = ((n + blocks - 1) / blocks + Mr - 1) / Mr * Mr;
            return (kc, mc);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void RunTiled(int p0, int p1)
        {
            int n = args.N, k = args.K, rowCount = args.RowCount, mr = Mr, width = Nv * TSimd.Count;
            (int kcBlock, int mcBlock) = Blocking(n);
            kcBlock = Math.Min(kcBlock, k);
            float* tile = stackalloc float[12 * Nr];
            float[]? aBuffer = prepacked == null ? ArrayPool<float>.Shared.Rent(mcBlock * kcBlock) : null;
            int nPad = (n + mr - 1) / mr * mr;
            float[]? widenedBuffer = packed == null ? ArrayPool<float>.Shared.Rent(kcBlock * Nr) : null;
            try
            {
                fixed (float* aOwn = aBuffer)
                fixed (float* widened = widenedBuffer)
                {
                    for (int kb = 0; kb < k; kb += kcBlock)
                    {
                        int kc = Math.Min(kcBlock, k - kb);
                        bool first = kb == 0;
                        for (int i0 = 0; i0 < n; i0 += mcBlock)
                        {
                            int mc = Math.Min(mcBlock, n - i0);
                            float* aPacked = aOwn;
                            if (prepacked != null) aPacked = prepacked + (long)kb * nPad + (long)i0 * kc;
                            else PackActivations(args.X + (long)i0 * k + kb, k, mc, kc, mr, aPacked);
                            for (int p = p0; p < p1; p++)
                            {
                                int panel = args.FirstPanel + p;
                                float* b;
                                if (packed != null)
                                {
                                    b = packed + ((long)panel * k + kb) * Nr;
                                }
                                else
                                {
                                    args.W.WidenSlice(panel, kb, kc, new Span<float>(widened, kc * Nr));
                                    b = widened;
                                }
                                int colStart = panel * Nr - args.RowStart;                  // output column of the panel's first row
                                int c0 = Math.Max(0, -colStart), c1 = Math.Min(Nr, rowCount - colStart);
                                bool full = c0 == 0 && c1 == Nr;
                                for (int i = 0; i < mc; i += mr)
                                {
                                    int rows = Math.Min(mr, mc - i), row = i0 + i;
                                    float* a = aPacked + (long)i * kc;                       // the tile's packed rows, [kc, mr]
                                    float* c = full ? args.Y + (long)row * rowCount + colStart : tile;
                                    int ldc = full ? rowCount : Nr;
                                    if (!full && !first) LoadTile(row, rows, colStart, c0, c1, tile);
                                    // The panel's 32 outputs in column strips of the tile's width (one strip with AVX-512).
                                    for (int j = 0; j < Nr; j += width)
                                    {
                                        if (rows == 12) Kernel12<TSimd, TVec>(a, b + j, kc, c + j, ldc, !first);
                                        else if (rows == 6 && Nv == 4) Kernel6x4<TSimd, TVec>(a, mr, b + j, kc, c + j, ldc, !first);
                                        else if (rows == 6) Kernel6<TSimd, TVec>(a, mr, b + j, kc, c + j, ldc, !first);
                                        else
                                            for (int h = 0; h < width; h += 2 * TSimd.Count)
                                                KernelRows<TSimd, TVec>(a, mr, b + j + h, kc, c + j + h, ldc, rows, !first);
                                    }
                                    if (!full) StoreTile(row, rows, colStart, c0, c1, tile);
                                }
                            }
                        }
                    }
                }
            }
            finally
            {
                if (aBuffer != null) ArrayPool<float>.Shared.Return(aBuffer);
                if (widenedBuffer != null) ArrayPool<float>.Shared.Return(widenedBuffer);
            }
        }

        private void Finish(int p0, int p1)
        {
            if (args.W.Bias is float[] bias)
            {
                int rowStart = args.RowStart, rowCount = args.RowCount;
                int o0 = Math.Max(0, (args.FirstPanel + p0) * Nr - rowStart), o1 = Math.Min(rowCount, (args.FirstPanel + p1) * Nr - rowStart);
                for (int i = 0; i < args.N; i++)
                {
                    var row = new Span<float>(args.Y + (long)i * rowCount + o0, o1 - o0);
                    Simd.Add(row, bias.AsSpan(rowStart + o0, o1 - o0), row);
                }
            }
        }

        private void LoadTile(int i, int rows, int colStart, int c0, int c1, float* tile)
        {
            for (int r = 0; r < rows; r++)
                for (int j = c0; j < c1; j++) tile[r * Nr + j] = args.Y[(long)(i + r) * args.RowCount + colStart + j];
        }

        private void StoreTile(int i, int rows, int colStart, int c0, int c1, float* tile)
        {
            for (int r = 0; r < rows; r++)
                for (int j = c0; j < c1; j++) args.Y[(long)(i + r) * args.RowCount + colStart + j] = tile[r * Nr + j];
        }
    }

    /// <summary>
    /// Copies rows <c>[0, mc)</c> × inputs <c>[0, kc)</c> of the activations (row stride <paramref name="lda"/>) into
    /// tiles of <paramref name="mr"/> rows, each input-major (<c>dst[i · kc + p · mr + r] = a[(i + r) · lda + p]</c> for
    /// the tile starting at row <c>i</c>): a micro-kernel then reads its rows' activations for one input side by side,
    /// from one stream.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void PackActivations(float* a, int lda, int mc, int kc, int mr, float* dst)
    {
        for (int i = 0; i < mc; i += mr)
        {
            int rows = Math.Min(mr, mc - i);
            float* tile = dst + (long)i * kc;
            if (rows == mr)
            {
                // A full tile input by input, writing it in order: mr row streams read together (the activations are
                // mostly in L3 or memory when packed), one write stream. Measured on Zen 4, one thread, 887 and 1024
                // rows: AVX2 products 96–98 → 100–101 GFLOP/s, AVX-512 97–100 → 102–104 (mostly mlp_out, 3072 inputs).
                float* src = a + (long)i * lda;
                for (int p = 0; p < kc; p++, tile += mr)
                    for (int r = 0; r < mr; r++) tile[r] = src[r * (long)lda + p];
                continue;
            }
            for (int r = 0; r < rows; r++)
            {
                float* src = a + (long)(i + r) * lda, d = tile + r;
                for (int p = 0; p < kc; p++) d[p * mr] = src[p];
            }
        }
    }

    /// <summary>
    /// 12 rows × 2 vectors of outputs over <paramref name="kc"/> inputs (<paramref name="b"/> advances by a panel row,
    /// <see cref="Nr"/>, per input); accumulates into <paramref name="c"/> when <paramref name="load"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Kernel12<TSimd, TVec>(float* a, float* b, int kc, float* c, int ldc, bool load)
        where TSimd : struct, ISimd<TVec>
        where TVec : struct
    {
        int h = TSimd.Count;
        TVec c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51, c60, c61, c70, c71, c80, c81, c90, c91, ca0, ca1, cb0, cb1;
        if (load)
        {
            c00 = TSimd.Load(c); c01 = TSimd.Load(c + h);
            c10 = TSimd.Load(c + ldc); c11 = TSimd.Load(c + ldc + h);
            c20 = TSimd.Load(c + 2 * ldc); c21 = TSimd.Load(c + 2 * ldc + h);
            c30 = TSimd.Load(c + 3 * ldc); c31 = TSimd.Load(c + 3 * ldc + h);
            c40 = TSimd.Load(c + 4 * ldc); c41 = TSimd.Load(c + 4 * ldc + h);
            c50 = TSimd.Load(c + 5 * ldc); c51 = TSimd.Load(c + 5 * ldc + h);
            c60 = TSimd.Load(c + 6 * ldc); c61 = TSimd.Load(c + 6 * ldc + h);
            c70 = TSimd.Load(c + 7 * ldc); c71 = TSimd.Load(c + 7 * ldc + h);
            c80 = TSimd.Load(c + 8 * ldc); c81 = TSimd.Load(c + 8 * ldc + h);
            c90 = TSimd.Load(c + 9 * ldc); c91 = TSimd.Load(c + 9 * ldc + h);
            ca0 = TSimd.Load(c + 10 * ldc); ca1 = TSimd.Load(c + 10 * ldc + h);
            cb0 = TSimd.Load(c + 11 * ldc); cb1 = TSimd.Load(c + 11 * ldc + h);
        }
        else
        {
            c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = TSimd.Zero;
            c60 = c61 = c70 = c71 = c80 = c81 = c90 = c91 = ca0 = ca1 = cb0 = cb1 = TSimd.Zero;
        }
        for (int p = 0; p < kc; p++, a += 12)
        {
            TVec b0 = TSimd.Load(b), b1 = TSimd.Load(b + h);
            b += Nr;
            TVec v = TSimd.Broadcast(a[0]);
            c00 = TSimd.Fma(v, b0, c00); c01 = TSimd.Fma(v, b1, c01);
            v = TSimd.Broadcast(a[1]);
            c10 = TSimd.Fma(v, b0, c10); c11 = TSimd.Fma(v, b1, c11);
            v = TSimd.Broadcast(a[2]);
            c20 = TSimd.Fma(v, b0, c20); c21 = TSimd.Fma(v, b1, c21);
            v = TSimd.Broadcast(a[3]);
            c30 = TSimd.Fma(v, b0, c30); c31 = TSimd.Fma(v, b1, c31);
            v = TSimd.Broadcast(a[4]);
            c40 = TSimd.Fma(v, b0, c40); c41 = TSimd.Fma(v, b1, c41);
            v = TSimd.Broadcast(a[5]);
            c50 = TSimd.Fma(v, b0, c50); c51 = TSimd.Fma(v, b1, c51);
            v = TSimd.Broadcast(a[6]);
            c60 = TSimd.Fma(v, b0, c60); c61 = TSimd.Fma(v, b1, c61);
            v = TSimd.Broadcast(a[7]);
            c70 = TSimd.Fma(v, b0, c70); c71 = TSimd.Fma(v, b1, c71);
            v = TSimd.Broadcast(a[8]);
            c80 = TSimd.Fma(v, b0, c80); c81 = TSimd.Fma(v, b1, c81);
            v = TSimd.Broadcast(a[9]);
            c90 = TSimd.Fma(v, b0, c90); c91 = TSimd.Fma(v, b1, c91);
            v = TSimd.Broadcast(a[10]);
            ca0 = TSimd.Fma(v, b0, ca0); ca1 = TSimd.Fma(v, b1, ca1);
            v = TSimd.Broadcast(a[11]);
            cb0 = TSimd.Fma(v, b0, cb0); cb1 = TSimd.Fma(v, b1, cb1);
        }
        TSimd.Store(c00, c); TSimd.Store(c01, c + h);
        TSimd.Store(c10, c + ldc); TSimd.Store(c11, c + ldc + h);
        TSimd.Store(c20, c + 2 * ldc); TSimd.Store(c21, c + 2 * ldc + h);
        TSimd.Store(c30, c + 3 * ldc); TSimd.Store(c31, c + 3 * ldc + h);
        TSimd.Store(c40, c + 4 * ldc); TSimd.Store(c41, c + 4 * ldc + h);
        TSimd.Store(c50, c + 5 * ldc); TSimd.Store(c51, c + 5 * ldc + h);
        TSimd.Store(c60, c + 6 * ldc); TSimd.Store(c61, c + 6 * ldc + h);
        TSimd.Store(c70, c + 7 * ldc); TSimd.Store(c71, c + 7 * ldc + h);
        TSimd.Store(c80, c + 8 * ldc); TSimd.Store(c81, c + 8 * ldc + h);
        TSimd.Store(c90, c + 9 * ldc); TSimd.Store(c91, c + 9 * ldc + h);
        TSimd.Store(ca0, c + 10 * ldc); TSimd.Store(ca1, c + 10 * ldc + h);
        TSimd.Store(cb0, c + 11 * ldc); TSimd.Store(cb1, c + 11 * ldc + h);
    }

    /// <summary>6 rows × 2 vectors (the AVX2 tile: 12 accumulators, two panel loads and a broadcast in 16 registers); same chains as <see cref="Kernel12"/>; <paramref name="mr"/> is the packed tile's row count (12 for a six-row rest of an AVX-512 tile).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Kernel6<TSimd, TVec>(float* a, int mr, float* b, int kc, float* c, int ldc, bool load)
        where TSimd : struct, ISimd<TVec>
        where TVec : struct
    {
        int h = TSimd.Count;
        TVec c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
        if (load)
        {
            c00 = TSimd.Load(c); c01 = TSimd.Load(c + h);
            c10 = TSimd.Load(c + ldc); c11 = TSimd.Load(c + ldc + h);
            c20 = TSimd.Load(c + 2 * ldc); c21 = TSimd.Load(c + 2 * ldc + h);
            c30 = TSimd.Load(c + 3 * ldc); c31 = TSimd.Load(c + 3 * ldc + h);
            c40 = TSimd.Load(c + 4 * ldc); c41 = TSimd.Load(c + 4 * ldc + h);
            c50 = TSimd.Load(c + 5 * ldc); c51 = TSimd.Load(c + 5 * ldc + h);
        }
        else
        {
            c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = TSimd.Zero;
        }
        for (int p = 0; p < kc; p++, a += mr)
        {
            TVec b0 = TSimd.Load(b), b1 = TSimd.Load(b + h);
            b += Nr;
            TVec v = TSimd.Broadcast(a[0]);
            c00 = TSimd.Fma(v, b0, c00); c01 = TSimd.Fma(v, b1, c01);
            v = TSimd.Broadcast(a[1]);
            c10 = TSimd.Fma(v, b0, c10); c11 = TSimd.Fma(v, b1, c11);
            v = TSimd.Broadcast(a[2]);
            c20 = TSimd.Fma(v, b0, c20); c21 = TSimd.Fma(v, b1, c21);
            v = TSimd.Broadcast(a[3]);
            c30 = TSimd.Fma(v, b0, c30); c31 = TSimd.Fma(v, b1, c31);
            v = TSimd.Broadcast(a[4]);
            c40 = TSimd.Fma(v, b0, c40); c41 = TSimd.Fma(v, b1, c41);
            v = TSimd.Broadcast(a[5]);
            c50 = TSimd.Fma(v, b0, c50); c51 = TSimd.Fma(v, b1, c51);
        }
        TSimd.Store(c00, c); TSimd.Store(c01, c + h);
        TSimd.Store(c10, c + ldc); TSimd.Store(c11, c + ldc + h);
        TSimd.Store(c20, c + 2 * ldc); TSimd.Store(c21, c + 2 * ldc + h);
        TSimd.Store(c30, c + 3 * ldc); TSimd.Store(c31, c + 3 * ldc + h);
        TSimd.Store(c40, c + 4 * ldc); TSimd.Store(c41, c + 4 * ldc + h);
        TSimd.Store(c50, c + 5 * ldc); TSimd.Store(c51, c + 5 * ldc + h);
    }

    /// <summary>6 rows × 4 vectors (the 128-bit tile: 24 accumulators, four panel loads and a broadcast); same chains as <see cref="Kernel12"/>; <paramref name="mr"/> as in <see cref="Kernel6"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Kernel6x4<TSimd, TVec>(float* a, int mr, float* b, int kc, float* c, int ldc, bool load)
        where TSimd : struct, ISimd<TVec>
        where TVec : struct
    {
        int h = TSimd.Count;
        TVec c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33, c40, c41, c42, c43, c50, c51, c52, c53;
        if (load)
        {
            float* r = c;
            c00 = TSimd.Load(r); c01 = TSimd.Load(r + h); c02 = TSimd.Load(r + 2 * h); c03 = TSimd.Load(r + 3 * h);
            r += ldc;
            c10 = TSimd.Load(r); c11 = TSimd.Load(r + h); c12 = TSimd.Load(r + 2 * h); c13 = TSimd.Load(r + 3 * h);
            r += ldc;
            c20 = TSimd.Load(r); c21 = TSimd.Load(r + h); c22 = TSimd.Load(r + 2 * h); c23 = TSimd.Load(r + 3 * h);
            r += ldc;
            c30 = TSimd.Load(r); c31 = TSimd.Load(r + h); c32 = TSimd.Load(r + 2 * h); c33 = TSimd.Load(r + 3 * h);
            r += ldc;
            c40 = TSimd.Load(r); c41 = TSimd.Load(r + h); c42 = TSimd.Load(r + 2 * h); c43 = TSimd.Load(r + 3 * h);
            r += ldc;
            c50 = TSimd.Load(r); c51 = TSimd.Load(r + h); c52 = TSimd.Load(r + 2 * h); c53 = TSimd.Load(r + 3 * h);
        }
        else
        {
            c00 = c01 = c02 = c03 = c10 = c11 = c12 = c13 = c20 = c21 = c22 = c23 = TSimd.Zero;
            c30 = c31 = c32 = c33 = c40 = c41 = c42 = c43 = c50 = c51 = c52 = c53 = TSimd.Zero;
        }
        for (int p = 0; p < kc; p++, a += mr)
        {
            TVec b0 = TSimd.Load(b), b1 = TSimd.Load(b + h), b2 = TSimd.Load(b + 2 * h), b3 = TSimd.Load(b + 3 * h);
            b += Nr;
            TVec v = TSimd.Broadcast(a[0]);
            c00 = TSimd.Fma(v, b0, c00); c01 = TSimd.Fma(v, b1, c01); c02 = TSimd.Fma(v, b2, c02); c03 = TSimd.Fma(v, b3, c03);
            v = TSimd.Broadcast(a[1]);
            c10 = TSimd.Fma(v, b0, c10); c11 = TSimd.Fma(v, b1, c11); c12 = TSimd.Fma(v, b2, c12); c13 = TSimd.Fma(v, b3, c13);
            v = TSimd.Broadcast(a[2]);
            c20 = TSimd.Fma(v, b0, c20); c21 = TSimd.Fma(v, b1, c21); c22 = TSimd.Fma(v, b2, c22); c23 = TSimd.Fma(v, b3, c23);
            v = TSimd.Broadcast(a[3]);
            c30 = TSimd.Fma(v, b0, c30); c31 = TSimd.Fma(v, b1, c31); c32 = TSimd.Fma(v, b2, c32); c33 = TSimd.Fma(v, b3, c33);
            v = TSimd.Broadcast(a[4]);
            c40 = TSimd.Fma(v, b0, c40); c41 = TSimd.Fma(v, b1, c41); c42 = TSimd.Fma(v, b2, c42); c43 = TSimd.Fma(v, b3, c43);
            v = TSimd.Broadcast(a[5]);
            c50 = TSimd.Fma(v, b0, c50); c51 = TSimd.Fma(v, b1, c51); c52 = TSimd.Fma(v, b2, c52); c53 = TSimd.Fma(v, b3, c53);
        }
        float* d = c;
        TSimd.Store(c00, d); TSimd.Store(c01, d + h); TSimd.Store(c02, d + 2 * h); TSimd.Store(c03, d + 3 * h);
        d += ldc;
        TSimd.Store(c10, d); TSimd.Store(c11, d + h); TSimd.Store(c12, d + 2 * h); TSimd.Store(c13, d + 3 * h);
        d += ldc;
        TSimd.Store(c20, d); TSimd.Store(c21, d + h); TSimd.Store(c22, d + 2 * h); TSimd.Store(c23, d + 3 * h);
        d += ldc;
        TSimd.Store(c30, d); TSimd.Store(c31, d + h); TSimd.Store(c32, d + 2 * h); TSimd.Store(c33, d + 3 * h);
        d += ldc;
        TSimd.Store(c40, d); TSimd.Store(c41, d + h); TSimd.Store(c42, d + 2 * h); TSimd.Store(c43, d + 3 * h);
        d += ldc;
        TSimd.Store(c50, d); TSimd.Store(c51, d + h); TSimd.Store(c52, d + 2 * h); TSimd.Store(c53, d + 3 * h);
    }

    /// <summary>Fewer rows than a full tile × 2 vectors, two rows at a time (one row for the last odd one); same chains as <see cref="Kernel12"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void KernelRows<TSimd, TVec>(float* a, int mr, float* b, int kc, float* c, int ldc, int rows, bool load)
        where TSimd : struct, ISimd<TVec>
        where TVec : struct
    {
        int h = TSimd.Count;
        int r = 0;
        for (; r + 2 <= rows; r += 2)
        {
            float* a0 = a + r, a1 = a0 + 1;
            float* d0 = c + r * ldc, d1 = d0 + ldc;
            TVec c00 = load ? TSimd.Load(d0) : TSimd.Zero, c01 = load ? TSimd.Load(d0 + h) : TSimd.Zero;
            TVec c10 = load ? TSimd.Load(d1) : TSimd.Zero, c11 = load ? TSimd.Load(d1 + h) : TSimd.Zero;
            float* bp = b;
            for (int p = 0; p < kc; p++)
            {
                TVec b0 = TSimd.Load(bp), b1 = TSimd.Load(bp + h);
                bp += Nr;
                TVec v0 = TSimd.Broadcast(a0[p * mr]), v1 = TSimd.Broadcast(a1[p * mr]);
                c00 = TSimd.Fma(v0, b0, c00); c01 = TSimd.Fma(v0, b1, c01);
                c10 = TSimd.Fma(v1, b0, c10); c11 = TSimd.Fma(v1, b1, c11);
            }
            TSimd.Store(c00, d0); TSimd.Store(c01, d0 + h);
            TSimd.Store(c10, d1); TSimd.Store(c11, d1 + h);
        }
        if (r < rows)
        {
            float* a0 = a + r;
            float* d0 = c + r * ldc;
            TVec c00 = load ? TSimd.Load(d0) : TSimd.Zero, c01 = load ? TSimd.Load(d0 + h) : TSimd.Zero;
            float* bp = b;
            for (int p = 0; p < kc; p++)
            {
                TVec v0 = TSimd.Broadcast(a0[p * mr]);
                c00 = TSimd.Fma(v0, TSimd.Load(bp), c00);
                c01 = TSimd.Fma(v0, TSimd.Load(bp + h), c01);
                bp += Nr;
            }
            TSimd.Store(c00, d0); TSimd.Store(c01, d0 + h);
        }
    }
}
