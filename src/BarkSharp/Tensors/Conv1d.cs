using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace BarkSharp.Tensors;

/// <summary>
/// A <c>Conv1d</c> weight <c>[OutChannels, InChannels, KernelSize]</c> (PyTorch layout) with an optional bias,
/// repacked once into the layout <see cref="Conv1d"/> streams: blocks of four output channels, then input channel,
/// then tap, then the four channels' values side by side.
/// </summary>
internal sealed class Conv1dWeight
{
    internal const int Block = 4;

    private Conv1dWeight(float[] packed, int outChannels, int inChannels, int kernelSize, float[]? bias)
    {
        Packed = packed;
        OutChannels = outChannels;
        InChannels = inChannels;
        KernelSize = kernelSize;
        Bias = bias;
    }

    /// <summary>Output channels.</summary>
    public int OutChannels { get; }

    /// <summary>Input channels.</summary>
    public int InChannels { get; }

    /// <summary>Taps of the kernel (before dilation).</summary>
    public int KernelSize { get; }

    /// <summary><c>[ceil(Out/4), In, K, 4]</c>, zero for the missing channels of the last block.</summary>
    internal float[] Packed { get; }

    /// <summary>One value per output channel, or null.</summary>
    internal float[]? Bias { get; }

    /// <summary>Packs a PyTorch <c>Conv1d.weight</c> <c>[outChannels, inChannels, kernelSize]</c> (copied).</summary>
    public static Conv1dWeight FromTorch(ReadOnlySpan<float> weight, int outChannels, int inChannels, int kernelSize, float[]? bias = null)
    {
        if (outChannels <= 0 || inChannels <= 0 || kernelSize <= 0)
            throw new ArgumentException($"invalid convolution shape [{outChannels}, {inChannels}, {kernelSize}].");
        if (weight.Length != (long)outChannels * inChannels * kernelSize)
            throw new ArgumentException($"weight has {weight.Length} elements, expected {outChannels}×{inChannels}×{kernelSize}.", nameof(weight));
        if (bias is not null && bias.Length != outChannels)
            throw new ArgumentException($"bias has {bias.Length} elements, expected {outChannels}.", nameof(bias));
        int blocks = (outChannels + Block - 1) / Block;
        var packed = new float[(long)blocks * inChannels * kernelSize * Block];
        for (int co = 0; co < outChannels; co++)
        {
            long blockBase = (long)(co / Block) * inChannels * kernelSize * Block + co % Block;
            for (int ci = 0; ci < inChannels; ci++)
                for (int j = 0; j < kernelSize; j++)
                    packed[blockBase + ((long)ci * kernelSize + j) * Block] = weight[(co * inChannels + ci) * kernelSize + j];
        }
        return new Conv1dWeight(packed, outChannels, inChannels, kernelSize, bias?.ToArray());
    }
}

/// <summary>
/// 1-D convolution over channel-major activations, <c>y[co, t] = b[co] + Σ_ci Σ_j W[co, ci, j]·x[ci, t·stride + j·dilation]</c>
/// (PyTorch <c>Conv1d</c>, groups = 1, no implicit padding: pad the input first). Direct (im2col-free): a register
/// tile of 4 output channels × 3 vectors of time steps (48 with AVX-512, 24 with AVX2, 12 with 128-bit vectors) accumulates over input
/// channels and taps, with vector loads along time and broadcast weights (a block holding a single channel, as a
/// convolution to mono audio has, takes a one-channel tile instead of computing three empty rows). Each output is one fused multiply-add
/// chain over (input channel, tap) in that order, computed by exactly one thread, so results depend neither on the
/// thread count nor on the vector width. The input and output must not overlap.
/// </summary>
internal static class Conv1d
{
    private const int ChunkTiles = 4;
    private const long MinWorkPerThread = 1 << 18;

    /// <summary>Output length of a convolution over <paramref name="length"/> (already padded) input steps.</summary>
    public static int OutputLength(int length, int kernelSize, int stride = 1, int dilation = 1)
    {
        long span = (long)dilation * (kernelSize - 1) + 1;
        return length < span ? 0 : (int)((length - span) / stride + 1);
    }

    /// <summary>
    /// Convolves <paramref name="x"/> <c>[InChannels, length]</c> into <paramref name="y"/>
    /// <c>[OutChannels, OutputLength(length, …)]</c>. With <paramref name="accumulate"/> the result (bias included)
    /// is added to what <paramref name="y"/> holds instead of replacing it; with <paramref name="elu"/> the stored
    /// result is <see cref="Elu"/> of it (the same bits as applying <see cref="Elu.Apply"/> afterwards; not with
    /// <paramref name="accumulate"/>).
    /// </summary>
    public static unsafe void Forward(ReadOnlySpan<float> x, int length, Conv1dWeight w, Span<float> y,
        int stride = 1, int dilation = 1, bool accumulate = false, int maxThreads = 1, bool elu = false)
    {
        if (elu && accumulate) throw new ArgumentException("elu applies to a stored result, not an accumulated one.", nameof(elu));
        ArgumentOutOfRangeException.ThrowIfLessThan(stride, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(dilation, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        int cin = w.InChannels, k = w.KernelSize;
        int outLength = OutputLength(length, k, stride, dilation);
        if (x.Length < (long)cin * length) throw new ArgumentException($"x has {x.Length} elements, expected {cin}×{length}.", nameof(x));
        if (y.Length < (long)w.OutChannels * outLength) throw new ArgumentException($"y has {y.Length} elements, expected {w.OutChannels}×{outLength}.", nameof(y));
        if (outLength == 0) return;

        Span<int> offsets = k <= 64 ? stackalloc int[k] : new int[k];
        if (stride == 1)
        {
            for (int j = 0; j < k; j++) offsets[j] = j * dilation;
            fixed (float* px = x)
            fixed (float* py = y)
                Run(px, length, offsets, w, 0, outLength, new Output(py, outLength, accumulate, elu), maxThreads);
            return;
        }

        // Strided: split each input row into `stride` phases so that every tap reads consecutive elements of one
        // phase: x[ci, t·s + j·d] = phased[ci, (j·d) % s, t + (j·d) / s], rows of s·m steps.
        int m = (length + stride - 1) / stride;
        float[] scratch = ArrayPool<float>.Shared.Rent(checked(cin * stride * m));
        try
        {
            for (int ci = 0; ci < cin; ci++)
                for (int p = 0; p < stride; p++)
                {
                    ReadOnlySpan<float> row = x.Slice(ci * length, length);
                    Span<float> dst = scratch.AsSpan((ci * stride + p) * m, m);
                    int i = 0;
                    for (int t = p; t < length; t += stride) dst[i++] = row[t];
                    dst[i..].Clear();
                }
            for (int j = 0; j < k; j++) offsets[j] = (j * dilation) % stride * m + (j * dilation) / stride;
            fixed (float* px = scratch)
            fixed (float* py = y)
                Run(px, stride * m, offsets, w, 0, outLength, new Output(py, outLength, accumulate, elu), maxThreads);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(scratch);
        }
    }

    /// <summary>
    /// Where <see cref="Run"/> stores: engine row <c>m</c> (a row of the weight) at step <c>q</c> goes to
    /// <c>Y[(m / Phases)·Ldy + p]</c> with <c>p = q·Phases + m % Phases + Shift</c>, when <c>0 ≤ p &lt; Limit</c>
    /// (other steps are dropped). One phase is an ordinary convolution output <c>Y[m·Ldy + q]</c>; a transposed
    /// convolution's <c>Phases = stride</c> phase rows interleave into one output row this way. <see cref="Accumulate"/>
    /// adds to what <c>Y</c> holds; <see cref="Elu"/> stores <c>elu(result)</c> (one phase, no accumulation).
    /// </summary>
    internal readonly unsafe struct Output(float* y, long ldy, bool accumulate, bool elu = false, int phases = 1, long shift = 0, long limit = long.MaxValue)
    {
        public readonly float* Y = y;
        public readonly long Ldy = ldy;
        public readonly bool Accumulate = accumulate;
        public readonly bool Elu = elu;
        public readonly int Phases = phases;
        public readonly long Shift = shift;
        public readonly long Limit = limit;
    }

    /// <summary>
    /// The shared engine of <see cref="Conv1d"/>, <see cref="ConvTranspose1d"/> and <see cref="Lstm"/>: for <c>q</c> in
    /// [<paramref name="qBegin"/>, <paramref name="qEnd"/>) and every output channel <c>co</c>,
    /// <c>out[co, q] (+)= b[co] + Σ_ci Σ_j W[co, ci, j]·x[ci, q + offsets[j]]</c>, stored as <paramref name="output"/>
    /// says, where row <c>ci</c> of <paramref name="x"/> holds <paramref name="ldx"/> steps and reads outside [0, ldx)
    /// count as zero.
    /// </summary>
    internal static unsafe void Run(float* x, int ldx, ReadOnlySpan<int> offsets, Conv1dWeight w, int qBegin, int qEnd,
        Output output, int maxThreads)
    {
        if (offsets.Length != w.KernelSize) throw new ArgumentException("one offset per tap expected.", nameof(offsets));
        if (output.Phases < 1 || (output.Elu && (output.Accumulate || output.Phases != 1)))
            throw new ArgumentException("invalid output mapping.", nameof(output));
        if (qEnd <= qBegin) return;
        switch (Simd.Path)
        {
            case VectorPath.Vector512: Run<Simd512, Vector512<float>>(x, ldx, offsets, w, qBegin, qEnd, output, maxThreads); break;
            case VectorPath.Vector256: Run<Simd256, Vector256<float>>(x, ldx, offsets, w, qBegin, qEnd, output, maxThreads); break;
            default: Run<Simd128, Vector128<float>>(x, ldx, offsets, w, qBegin, qEnd, output, maxThreads); break;
        }
    }

    private static unsafe void Run<TSimd, TVec>(float* x, int ldx, ReadOnlySpan<int> offsets, Conv1dWeight w, int qBegin, int qEnd,
        Output output, int maxThreads)
        where TSimd : struct, ISimd<TVec>
        where TVec : struct
    {
        int cin = w.InChannels, taps = w.KernelSize, tileT = 3 * TSimd.Count;
        int minOffset = int.MaxValue, maxOffset = int.MinValue;
        foreach (int o in offsets)
        {
            minOffset = Math.Min(minOffset, o);
            maxOffset = Math.Max(maxOffset, o);
        }

        // Tiles that are partial or would read outside the rows get their inputs staged into a zero-padded copy,
        // so that every tile runs the same vector code (there are only a few, at the two ends).
        int tiles = (qEnd - qBegin + tileT - 1) / tileT;
        int stagedWidth = tileT + maxOffset - minOffset;
        int firstSafe = 0, endSafe = tiles;
        while (firstSafe < tiles && !Safe(firstSafe)) firstSafe++;
        while (endSafe > firstSafe && !Safe(endSafe - 1)) endSafe--;
        int staged = tiles - (endSafe - firstSafe);
        float[] stage = staged == 0 ? [] : new float[(long)staged * cin * stagedWidth];
        for (int k = 0, slot = 0; k < tiles; k++)
        {
            if (k == firstSafe) k = endSafe;
            if (k >= tiles) break;
            int c0 = qBegin + k * tileT + minOffset;
            for (int ci = 0; ci < cin; ci++)
            {
                Span<float> dst = stage.AsSpan((int)(((long)slot * cin + ci) * stagedWidth), stagedWidth);
                int a = Math.Clamp(-c0, 0, stagedWidth), b = Math.Clamp(ldx - c0, a, stagedWidth);
                new ReadOnlySpan<float>(x + (long)ci * ldx + c0 + a, b - a).CopyTo(dst[a..b]);
            }
            slot++;
        }

        int coBlocks = (w.OutChannels + Conv1dWeight.Block - 1) / Conv1dWeight.Block;
        int chunks = (tiles + ChunkTiles - 1) / ChunkTiles;
        int units = checked(chunks * coBlocks);
        long work = (long)w.OutChannels * cin * taps * (qEnd - qBegin);
        int threads = (int)Math.Clamp(Math.Min(maxThreads, work / MinWorkPerThread), 1, Math.Min(units, 1024));

        Span<int> stagedOffsets = taps <= 64 ? stackalloc int[taps] : new int[taps];
        for (int j = 0; j < taps; j++) stagedOffsets[j] = offsets[j] - minOffset;
        fixed (int* po = offsets)
        fixed (int* pso = stagedOffsets)
        fixed (float* ps = stage)
        fixed (float* pw = w.Packed)
        fixed (float* pb = w.Bias)
        {
            var job = new Job<TSimd, TVec>(x, ldx, cin, po, pso, taps, pw, pb, w.OutChannels, coBlocks, qBegin, qEnd, tiles,
                firstSafe, endSafe, ps, stagedWidth, output);
            KernelParallel.For(job, units, threads);
        }

        bool Safe(int k)
        {
            long q0 = qBegin + (long)k * tileT;
            return q0 + tileT <= qEnd && q0 + minOffset >= 0 && q0 + tileT - 1 + maxOffset < ldx;
        }
    }

    private readonly unsafe struct Job<TSimd, TVec>(float* x, int ldx, int cin, int* offsets, int* stagedOffsets, int taps,
        float* w, float* bias, int cout, int coBlocks, int qBegin, int qEnd, int tiles, int firstSafe, int endSafe,
        float* stage, int stagedWidth, Output output) : IRangeJob
        where TSimd : struct, ISimd<TVec>
        where TVec : struct
    {
        public void Run(int u0, int u1)
        {
            int tileT = 3 * TSimd.Count;
            long blockSize = (long)cin * taps * Conv1dWeight.Block;
            for (int u = u0; u < u1; u++)
            {
                int chunk = (int)(u / coBlocks), cb = (int)(u % coBlocks);
                int co0 = cb * Conv1dWeight.Block, rows = Math.Min(Conv1dWeight.Block, cout - co0);
                float* wb = w + cb * blockSize;
                float* bb = bias is null ? null : bias + co0;
                for (int k = chunk * ChunkTiles, kEnd = Math.Min(k + ChunkTiles, tiles); k < kEnd; k++)
                {
                    int q = qBegin + k * tileT, count = Math.Min(tileT, qEnd - q);
                    float* xq = x + q;
                    long ld = ldx;
                    int* offs = offsets;
                    if (k < firstSafe || k >= endSafe)
                    {
                        int slot = k < firstSafe ? k : k - (endSafe - firstSafe);
                        xq = stage + (long)slot * cin * stagedWidth;
                        ld = stagedWidth;
                        offs = stagedOffsets;
                    }
                    if (rows == 1) SingleRowTile(xq, ld, offs, wb, bb, co0, q, count);
                    else Tile(xq, ld, offs, wb, bb, rows, co0, q, count);
                }
            }
        }

        /// <summary>
        /// <see cref="Tile"/> for a block with one output channel (a convolution to mono audio): the same chain per
        /// output without the three empty rows' multiply-adds, which would otherwise be three quarters of the work.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        [SkipLocalsInit]
        private void SingleRowTile(float* xq, long ldxq, int* offs, float* wp, float* b, int m0, int q, int count)
        {
            int lanes = TSimd.Count;
            TVec a0 = TSimd.Zero, a1 = a0, a2 = a0;
            for (int ci = 0; ci < cin; ci++)
            {
                float* xr = xq + ci * ldxq;
                for (int j = 0; j < taps; j++, wp += 4)
                {
                    float* xs = xr + offs[j];
                    TVec c = TSimd.Broadcast(wp[0]);
                    a0 = TSimd.Fma(TSimd.Load(xs), c, a0);
                    a1 = TSimd.Fma(TSimd.Load(xs + lanes), c, a1);
                    a2 = TSimd.Fma(TSimd.Load(xs + 2 * lanes), c, a2);
                }
            }
            float* acc = stackalloc float[3 * 16];
            TSimd.Store(a0, acc);
            TSimd.Store(a1, acc + lanes);
            TSimd.Store(a2, acc + 2 * lanes);
            Emit(acc, b is null ? 0f : b[0], m0, q, count, 3 * lanes);
        }

        /// <summary>
        /// Four output channels × 3 vectors of time steps: <paramref name="xq"/> points at the tile's first step of
        /// input row 0; rows <paramref name="m0"/> … at steps <paramref name="q"/> …, of which only
        /// <paramref name="count"/> are stored.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        [SkipLocalsInit]
        private void Tile(float* xq, long ldxq, int* offs, float* wp, float* b, int rows, int m0, int q, int count)
        {
            int lanes = TSimd.Count;
            TVec a00 = TSimd.Zero, a01 = a00, a02 = a00, a10 = a00, a11 = a00, a12 = a00;
            TVec a20 = a00, a21 = a00, a22 = a00, a30 = a00, a31 = a00, a32 = a00;
            for (int ci = 0; ci < cin; ci++)
            {
                float* xr = xq + ci * ldxq;
                for (int j = 0; j < taps; j++, wp += 4)
                {
                    float* xs = xr + offs[j];
                    TVec x0 = TSimd.Load(xs), x1 = TSimd.Load(xs + lanes), x2 = TSimd.Load(xs + 2 * lanes);
                    TVec c = TSimd.Broadcast(wp[0]);
                    a00 = TSimd.Fma(x0, c, a00);
                    a01 = TSimd.Fma(x1, c, a01);
                    a02 = TSimd.Fma(x2, c, a02);
                    c = TSimd.Broadcast(wp[1]);
                    a10 = TSimd.Fma(x0, c, a10);
                    a11 = TSimd.Fma(x1, c, a11);
                    a12 = TSimd.Fma(x2, c, a12);
                    c = TSimd.Broadcast(wp[2]);
                    a20 = TSimd.Fma(x0, c, a20);
                    a21 = TSimd.Fma(x1, c, a21);
                    a22 = TSimd.Fma(x2, c, a22);
                    c = TSimd.Broadcast(wp[3]);
                    a30 = TSimd.Fma(x0, c, a30);
                    a31 = TSimd.Fma(x1, c, a31);
                    a32 = TSimd.Fma(x2, c, a32);
                }
            }

            // Park the accumulators before any call: vectors live across a call would be spilled inside the loop.
            float* acc = stackalloc float[12 * 16];
            TSimd.Store(a00, acc);
            TSimd.Store(a01, acc + lanes);
            TSimd.Store(a02, acc + 2 * lanes);
            TSimd.Store(a10, acc + 3 * lanes);
            TSimd.Store(a11, acc + 4 * lanes);
            TSimd.Store(a12, acc + 5 * lanes);
            TSimd.Store(a20, acc + 6 * lanes);
            TSimd.Store(a21, acc + 7 * lanes);
            TSimd.Store(a22, acc + 8 * lanes);
            TSimd.Store(a30, acc + 9 * lanes);
            TSimd.Store(a31, acc + 10 * lanes);
            TSimd.Store(a32, acc + 11 * lanes);
            if (rows == Conv1dWeight.Block && EmitInterleaved(acc, b, m0, q, count, 3 * lanes)) return;
            for (int row = 0; row < rows; row++)
                Emit(acc + row * 3 * lanes, b is null ? 0f : b[row], m0 + row, q, count, 3 * lanes);
        }

        /// <summary>
        /// The stores of a whole tile of a transposed convolution with 2 or 4 phases, when the block's four rows are
        /// whole output channels (<c>m0</c> is a multiple of 4) and the tile lies inside the output: the phase rows
        /// (bias added as <see cref="Emit"/> adds it) are interleaved in registers and stored as whole vectors, instead
        /// of one scalar store per value. Returns false, storing nothing, when it does not apply.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private bool EmitInterleaved(float* acc, float* b, int m0, int q, int count, int width)
        {
            int s = output.Phases;
            if ((s != 2 && s != 4) || output.Accumulate || count != width || !Interleave.Supported<TVec>()) return false;
            long p0 = (long)q * s + output.Shift;
            if (p0 < 0 || p0 + (long)s * width > output.Limit) return false;
            int lanes = TSimd.Count;
            for (int i = 0; i < width; i += lanes)
            {
                TVec v0 = TSimd.Add(TSimd.Load(acc + i), TSimd.Broadcast(b is null ? 0f : b[0]));
                TVec v1 = TSimd.Add(TSimd.Load(acc + width + i), TSimd.Broadcast(b is null ? 0f : b[1]));
                TVec v2 = TSimd.Add(TSimd.Load(acc + 2 * width + i), TSimd.Broadcast(b is null ? 0f : b[2]));
                TVec v3 = TSimd.Add(TSimd.Load(acc + 3 * width + i), TSimd.Broadcast(b is null ? 0f : b[3]));
                if (s == 2)
                {
                    // Rows 0, 1: phases 0, 1 of channel m0 / 2; rows 2, 3: of the next channel.
                    float* d0 = output.Y + m0 / 2 * output.Ldy + p0 + 2 * i, d1 = d0 + output.Ldy;
                    (TVec lo, TVec hi) = Interleave.Pair(v0, v1);
                    TSimd.Store(lo, d0);
                    TSimd.Store(hi, d0 + lanes);
                    (lo, hi) = Interleave.Pair(v2, v3);
                    TSimd.Store(lo, d1);
                    TSimd.Store(hi, d1 + lanes);
                }
                else
                {
                    // Rows 0 … 3: the four phases of channel m0 / 4; (0, 2) and (1, 3) interleaved, then those two.
                    float* d = output.Y + m0 / 4 * output.Ldy + p0 + 4 * i;
                    (TVec a0, TVec a1) = Interleave.Pair(v0, v2);
                    (TVec c0, TVec c1) = Interleave.Pair(v1, v3);
                    (TVec lo, TVec hi) = Interleave.Pair(a0, c0);
                    TSimd.Store(lo, d);
                    TSimd.Store(hi, d + lanes);
                    (lo, hi) = Interleave.Pair(a1, c1);
                    TSimd.Store(lo, d + 2 * lanes);
                    TSimd.Store(hi, d + 3 * lanes);
                }
            }
            return true;
        }

        /// <summary>
        /// Stores <paramref name="count"/> accumulated values of engine row <paramref name="m"/> from step
        /// <paramref name="q"/> on, plus the bias, as <see cref="Output"/> maps them.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Emit(float* acc, float bias, int m, int q, int count, int width)
        {
            int lanes = TSimd.Count;
            TVec bv = TSimd.Broadcast(bias);
            bool accumulate = output.Accumulate;
            if (output.Phases == 1)
            {
                float* dst = output.Y + m * output.Ldy + output.Shift + q;
                long p0 = q + output.Shift;
                if (count == width && p0 >= 0 && p0 + width <= output.Limit)
                {
                    for (int i = 0; i < width; i += lanes)
                    {
                        TVec v = TSimd.Add(TSimd.Load(acc + i), bv);
                        if (accumulate) v = TSimd.Add(v, TSimd.Load(dst + i));
                        if (output.Elu) v = Elu.Vector<TSimd, TVec>(v, 1f);
                        TSimd.Store(v, dst + i);
                    }
                    return;
                }
            }
            for (int i = 0; i < width; i += lanes)
            {
                TVec v = TSimd.Add(TSimd.Load(acc + i), bv);
                if (output.Elu) v = Elu.Vector<TSimd, TVec>(v, 1f);
                TSimd.Store(v, acc + i);
            }
            int s = output.Phases;
            float* row = output.Y + m / s * output.Ldy;
            long p = (long)q * s + m % s + output.Shift;
            for (int i = 0; i < count; i++, p += s)
            {
                if (p < 0 || p >= output.Limit) continue;
                row[p] = accumulate ? row[p] + acc[i] : acc[i];
            }
        }
    }
}

/// <summary>
/// Interleaves two vectors lane by lane (<c>a₀ b₀ a₁ b₁ …</c>, the first half of the lanes in the first result, the
/// second in the second), for the vector types with a hardware shuffle for it: pure data movement, no rounding.
/// </summary>
internal static class Interleave
{
    private static readonly Vector512<int> Low512 = Vector512.Create(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    private static readonly Vector512<int> High512 = Vector512.Create(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);

    /// <summary>Whether <see cref="Pair"/> has an implementation for <typeparamref name="TVec"/> on this machine.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Supported<TVec>()
        where TVec : struct
    {
        if (typeof(TVec) == typeof(Vector512<float>)) return System.Runtime.Intrinsics.X86.Avx512F.IsSupported;
        if (typeof(TVec) == typeof(Vector256<float>)) return System.Runtime.Intrinsics.X86.Avx.IsSupported;
        if (typeof(TVec) == typeof(Vector128<float>)) return System.Runtime.Intrinsics.X86.Sse.IsSupported || System.Runtime.Intrinsics.Arm.AdvSimd.Arm64.IsSupported;
        return false;
    }

    /// <summary>The lanes of <paramref name="a"/> and <paramref name="b"/> interleaved; only where <see cref="Supported"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (TVec Low, TVec High) Pair<TVec>(TVec a, TVec b)
        where TVec : struct
    {
        if (typeof(TVec) == typeof(Vector512<float>))
        {
            Vector512<float> x = (Vector512<float>)(object)a, y = (Vector512<float>)(object)b;
            return ((TVec)(object)System.Runtime.Intrinsics.X86.Avx512F.PermuteVar16x32x2(x, Low512, y),
                (TVec)(object)System.Runtime.Intrinsics.X86.Avx512F.PermuteVar16x32x2(x, High512, y));
        }
        if (typeof(TVec) == typeof(Vector256<float>))
        {
            Vector256<float> x = (Vector256<float>)(object)a, y = (Vector256<float>)(object)b;
            Vector256<float> lo = System.Runtime.Intrinsics.X86.Avx.UnpackLow(x, y), hi = System.Runtime.Intrinsics.X86.Avx.UnpackHigh(x, y);
            return ((TVec)(object)System.Runtime.Intrinsics.X86.Avx.Permute2x128(lo, hi, 0x20),
                (TVec)(object)System.Runtime.Intrinsics.X86.Avx.Permute2x128(lo, hi, 0x31));
        }
        if (typeof(TVec) == typeof(Vector128<float>))
        {
            Vector128<float> x = (Vector128<float>)(object)a, y = (Vector128<float>)(object)b;
            if (System.Runtime.Intrinsics.X86.Sse.IsSupported)
                return ((TVec)(object)System.Runtime.Intrinsics.X86.Sse.UnpackLow(x, y), (TVec)(object)System.Runtime.Intrinsics.X86.Sse.UnpackHigh(x, y));
            return ((TVec)(object)System.Runtime.Intrinsics.Arm.AdvSimd.Arm64.ZipLow(x, y), (TVec)(object)System.Runtime.Intrinsics.Arm.AdvSimd.Arm64.ZipHigh(x, y));
        }
        throw new PlatformNotSupportedException();
    }
}
