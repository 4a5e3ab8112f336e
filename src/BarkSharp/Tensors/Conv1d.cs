using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace BarkSharp.Tensors;

/// <summary>
/// A <c>Conv1d</c> weight <c>[OutChannels, InChannels, KernelSize]</c> (PyTorch layout) with an optional bias,
/// repacked once into the layout <see cref="Conv1d"/> streams: blocks of four output channels, then input channel,
/// then tap, then the four channels' values side by side.
/// </summary>
public sealed class Conv1dWeight
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
/// tile of 4 output channels × 24 time steps accumulates over input channels and taps, with vector loads along
/// time and broadcast weights. Every output is summed in the same order by exactly one thread, so results do not
/// depend on the thread count. The input and output must not overlap.
/// </summary>
public static class Conv1d
{
    private const int Lanes = 8;
    private const int TileT = 3 * Lanes;
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
    /// is added to what <paramref name="y"/> holds instead of replacing it.
    /// </summary>
    public static unsafe void Forward(ReadOnlySpan<float> x, int length, Conv1dWeight w, Span<float> y,
        int stride = 1, int dilation = 1, bool accumulate = false, int maxThreads = 1)
    {
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
                Run(px, length, offsets, w, 0, outLength, py, outLength, 1, accumulate, maxThreads);
            return;
        }

        // Strided: split the input into `stride` phases so that every tap reads consecutive elements of one phase:
        // x[ci, t·s + j·d] = phase[(j·d) % s][ci, t + (j·d) / s].
        int m = (length + stride - 1) / stride;
        long phaseSize = (long)cin * m;
        float[] scratch = ArrayPool<float>.Shared.Rent(checked((int)(phaseSize * stride)));
        try
        {
            for (int p = 0; p < stride; p++)
                for (int ci = 0; ci < cin; ci++)
                {
                    ReadOnlySpan<float> row = x.Slice(ci * length, length);
                    Span<float> dst = scratch.AsSpan((int)(p * phaseSize + (long)ci * m), m);
                    int i = 0;
                    for (int t = p; t < length; t += stride) dst[i++] = row[t];
                    dst[i..].Clear();
                }
            for (int j = 0; j < k; j++) offsets[j] = (int)((j * dilation) % stride * phaseSize + (j * dilation) / stride);
            fixed (float* px = scratch)
            fixed (float* py = y)
                Run(px, m, offsets, w, 0, outLength, py, outLength, 1, accumulate, maxThreads);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(scratch);
        }
    }

    /// <summary>
    /// The shared engine of <see cref="Conv1d"/> and <see cref="ConvTranspose1d"/>: for <c>q</c> in
    /// [<paramref name="qBegin"/>, <paramref name="qEnd"/>) and every output channel <c>co</c>,
    /// <c>y[co·ldy + q·yStep] (+)= b[co] + Σ_ci Σ_j W[co, ci, j]·x[ci·ldx + offsets[j] + q]</c>.
    /// </summary>
    internal static unsafe void Run(float* x, int ldx, ReadOnlySpan<int> offsets, Conv1dWeight w, int qBegin, int qEnd,
        float* y, long ldy, int yStep, bool accumulate, int maxThreads)
    {
        if (offsets.Length != w.KernelSize) throw new ArgumentException("one offset per tap expected.", nameof(offsets));
        if (qEnd <= qBegin) return;
        int coBlocks = (w.OutChannels + Conv1dWeight.Block - 1) / Conv1dWeight.Block;
        int chunkSteps = ChunkTiles * TileT;
        int chunks = (qEnd - qBegin + chunkSteps - 1) / chunkSteps;
        long units = (long)chunks * coBlocks;
        long work = (long)w.OutChannels * w.InChannels * w.KernelSize * (qEnd - qBegin);
        int threads = (int)Math.Clamp(Math.Min(maxThreads, work / MinWorkPerThread), 1, Math.Min(units, 1024));

        fixed (int* po = offsets)
        fixed (float* pw = w.Packed)
        fixed (float* pb = w.Bias)
        {
            var job = new Job(x, ldx, w.InChannels, po, w.KernelSize, pw, pb, w.OutChannels, coBlocks, qBegin, qEnd, chunkSteps, y, ldy, yStep, accumulate);
            if (threads == 1)
            {
                job.Run(0, units);
            }
            else
            {
                Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
                    job.Run(units * t / threads, units * (t + 1) / threads));
            }
        }
    }

    private readonly unsafe struct Job(float* x, int ldx, int cin, int* offsets, int taps, float* w, float* bias, int cout,
        int coBlocks, int qBegin, int qEnd, int chunkSteps, float* y, long ldy, int yStep, bool accumulate)
    {
        public void Run(long u0, long u1)
        {
            long blockSize = (long)cin * taps * Conv1dWeight.Block;
            for (long u = u0; u < u1; u++)
            {
                int chunk = (int)(u / coBlocks), cb = (int)(u % coBlocks);
                int q0 = qBegin + chunk * chunkSteps, q1 = Math.Min(q0 + chunkSteps, qEnd);
                int co0 = cb * Conv1dWeight.Block, nco = Math.Min(Conv1dWeight.Block, cout - co0);
                var tile = new Tile(x, ldx, cin, offsets, taps, w + cb * blockSize, bias is null ? null : bias + co0, nco,
                    y + co0 * ldy, ldy, yStep, accumulate);
                int q = q0;
                for (; q + TileT <= q1; q += TileT) tile.Wide(q);
                for (; q + Lanes <= q1; q += Lanes) tile.Narrow(q);
                for (; q < q1; q++) tile.Single(q);
            }
        }
    }

    /// <summary>Computes up to four output channels (one packed block) at a few time steps.</summary>
    private readonly unsafe struct Tile(float* x, int ldx, int cin, int* offsets, int taps, float* w, float* bias, int nco,
        float* y, long ldy, int yStep, bool accumulate)
    {
        /// <summary>24 time steps: 4 channels × 3 vectors of accumulators.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Wide(int q)
        {
            Vector256<float> a00 = Vector256<float>.Zero, a01 = a00, a02 = a00, a10 = a00, a11 = a00, a12 = a00;
            Vector256<float> a20 = a00, a21 = a00, a22 = a00, a30 = a00, a31 = a00, a32 = a00;
            float* wp = w;
            for (int ci = 0; ci < cin; ci++)
            {
                float* xr = x + (long)ci * ldx + q;
                for (int j = 0; j < taps; j++, wp += 4)
                {
                    float* xs = xr + offsets[j];
                    Vector256<float> x0 = Vector256.Load(xs), x1 = Vector256.Load(xs + Lanes), x2 = Vector256.Load(xs + 2 * Lanes);
                    Vector256<float> c = Vector256.Create(wp[0]);
                    a00 = Vector256.FusedMultiplyAdd(x0, c, a00);
                    a01 = Vector256.FusedMultiplyAdd(x1, c, a01);
                    a02 = Vector256.FusedMultiplyAdd(x2, c, a02);
                    c = Vector256.Create(wp[1]);
                    a10 = Vector256.FusedMultiplyAdd(x0, c, a10);
                    a11 = Vector256.FusedMultiplyAdd(x1, c, a11);
                    a12 = Vector256.FusedMultiplyAdd(x2, c, a12);
                    c = Vector256.Create(wp[2]);
                    a20 = Vector256.FusedMultiplyAdd(x0, c, a20);
                    a21 = Vector256.FusedMultiplyAdd(x1, c, a21);
                    a22 = Vector256.FusedMultiplyAdd(x2, c, a22);
                    c = Vector256.Create(wp[3]);
                    a30 = Vector256.FusedMultiplyAdd(x0, c, a30);
                    a31 = Vector256.FusedMultiplyAdd(x1, c, a31);
                    a32 = Vector256.FusedMultiplyAdd(x2, c, a32);
                }
            }
            StoreRow(0, q, a00, a01, a02);
            if (nco > 1) StoreRow(1, q, a10, a11, a12);
            if (nco > 2) StoreRow(2, q, a20, a21, a22);
            if (nco > 3) StoreRow(3, q, a30, a31, a32);
        }

        /// <summary>8 time steps: 4 channels × 1 vector.</summary>
        public void Narrow(int q)
        {
            Vector256<float> a0 = Vector256<float>.Zero, a1 = a0, a2 = a0, a3 = a0;
            float* wp = w;
            for (int ci = 0; ci < cin; ci++)
            {
                float* xr = x + (long)ci * ldx + q;
                for (int j = 0; j < taps; j++, wp += 4)
                {
                    Vector256<float> v = Vector256.Load(xr + offsets[j]);
                    a0 = Vector256.FusedMultiplyAdd(v, Vector256.Create(wp[0]), a0);
                    a1 = Vector256.FusedMultiplyAdd(v, Vector256.Create(wp[1]), a1);
                    a2 = Vector256.FusedMultiplyAdd(v, Vector256.Create(wp[2]), a2);
                    a3 = Vector256.FusedMultiplyAdd(v, Vector256.Create(wp[3]), a3);
                }
            }
            Store(0, q, a0);
            if (nco > 1) Store(1, q, a1);
            if (nco > 2) Store(2, q, a2);
            if (nco > 3) Store(3, q, a3);
        }

        /// <summary>One time step.</summary>
        public void Single(int q)
        {
            float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            float* wp = w;
            for (int ci = 0; ci < cin; ci++)
            {
                float* xr = x + (long)ci * ldx + q;
                for (int j = 0; j < taps; j++, wp += 4)
                {
                    float v = xr[offsets[j]];
                    s0 = MathF.FusedMultiplyAdd(v, wp[0], s0);
                    s1 = MathF.FusedMultiplyAdd(v, wp[1], s1);
                    s2 = MathF.FusedMultiplyAdd(v, wp[2], s2);
                    s3 = MathF.FusedMultiplyAdd(v, wp[3], s3);
                }
            }
            Store(0, q, s0);
            if (nco > 1) Store(1, q, s1);
            if (nco > 2) Store(2, q, s2);
            if (nco > 3) Store(3, q, s3);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void StoreRow(int row, int q, Vector256<float> v0, Vector256<float> v1, Vector256<float> v2)
        {
            Store(row, q, v0);
            Store(row, q + Lanes, v1);
            Store(row, q + 2 * Lanes, v2);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void Store(int row, int q, Vector256<float> v)
        {
            if (bias is not null) v += Vector256.Create(bias[row]);
            float* dst = y + row * ldy + (long)q * yStep;
            if (yStep == 1)
            {
                if (accumulate) v += Vector256.Load(dst);
                v.Store(dst);
                return;
            }
            for (int i = 0; i < Lanes; i++)
            {
                float* p = dst + (long)i * yStep;
                *p = accumulate ? *p + v.GetElement(i) : v.GetElement(i);
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void Store(int row, int q, float v)
        {
            if (bias is not null) v += bias[row];
            float* dst = y + row * ldy + (long)q * yStep;
            *dst = accumulate ? *dst + v : v;
        }
    }
}
