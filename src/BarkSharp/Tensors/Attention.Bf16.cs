using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using BarkSharp.Tensors.Jit;

namespace BarkSharp.Tensors;

/// <summary>
/// Attention in bf16 arithmetic over a bfloat16 cache, for models with bf16 weights on CPUs with AVX512-BF16: both
/// products run through the generated <c>vdpbf16ps</c> panel kernel (<see cref="PanelKernels"/>), which reads the
/// caches in place (its row pitch is the cache's). Per head and block of up to 12 queries:
/// <list type="number">
/// <item>the queries are rounded to bf16 and multiplied with 32 key positions per call (keys transposed,
/// <c>[headDim, stride]</c>: the kernel's panel rows), pairs of head dimensions in order;</item>
/// <item>scale, mask, maximum and <c>e^(x − max)</c> (<see cref="ExpOfNonPositive"/>: bf16 keeps 8 bits of it), rounded
/// to bf16, and their sum (<see cref="ExpToBf16"/>);</item>
/// <item>these numerators times the values (<c>[stride, headDim]</c>: 32 columns per call), pairs of positions in order
/// from position 0, zero past each query's length; each output then divided by its row's sum (one multiply by the
/// inverse), so the rounded numerators keep their 8 bits relative to the largest, which is exactly 1.</item>
/// </list>
/// Each output is one chain whatever the block, thread count or batch: a query gets the same bits in a causal prefill
/// as in a decode step (extra zero-probability pairs add exactly zero). Keys and values past the filled positions
/// are read (the kernel's last 32 positions, an odd length's pair partner) but never contribute: their scores are
/// dropped and their probabilities are zero (caches hold finite values: zeros or earlier, rounded activations).
/// </summary>
internal static partial class Attention
{
    private const int Bf16Rows = PanelKernels.MaxRows;
    private const int Bf16Width = 32;

    /// <summary>
    /// Whether <see cref="ForwardBf16"/> serves heads of <paramref name="headDim"/> now (AVX512-BF16, generated kernels
    /// and <see cref="JitKernels.Bf16Attention"/> on).
    /// </summary>
    public static bool Bf16Supported(int headDim) =>
        headDim % Bf16Width == 0 && JitKernels.Enabled && JitKernels.Bf16Attention && JitKernels.Isa.HasFlag(JitIsa.Avx512 | JitIsa.Avx512Bf16);

    /// <summary>
    /// <see cref="Forward{T, TElement}"/> over a bfloat16 cache in bf16 arithmetic (see the type's remarks); the
    /// arguments are the same, without scratch (each thread rents its own).
    /// </summary>
    public static unsafe void ForwardBf16(
        ReadOnlySpan<float> q, int qStride,
        ReadOnlySpan<ushort> keys, ReadOnlySpan<ushort> values, int stride,
        int heads, int headDim, int past, int queryCount, bool causal,
        ReadOnlySpan<float> keyMask, Span<float> output, int maxThreads = 1)
    {
        if (!Bf16Supported(headDim)) throw new PlatformNotSupportedException("bf16 attention needs AVX512-BF16, generated kernels and heads a multiple of 32 wide.");
        int threads = CheckOperands(q.Length, qStride, keys.Length, values.Length, stride, heads, headDim, past, queryCount, keyMask.Length, output.Length, maxThreads);
        if (queryCount == 0) return;

        fixed (float* pq = q)
        fixed (ushort* pk = keys)
        fixed (ushort* pv = values)
        fixed (float* pm = keyMask)
        fixed (float* po = output)
        {
            var args = new Operands<ushort>(pq, qStride, pk, pv, stride, heads, headDim, past, queryCount, causal, keyMask.IsEmpty ? null : pm, po, null);
            KernelParallel.For(new Bf16Job(args), heads, threads);
        }
    }

    /// <summary>
    /// One row of softmax numerators in two passes: <c>x = s · scale (+ mask)</c> and its maximum, then
    /// <c>e^(x − max)</c> summed lane-wise in position order (then across lanes) and rounded to bf16 into
    /// <paramref name="p"/> (positions <c>[0, length)</c>, zeros up to the next multiple of 16). Returns the sum.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe float ExpToBf16(float* row, int length, float scale, float* keyMask, ushort* p)
    {
        int j = 0;
        Vector512<float> factor = Vector512.Create(scale), max = Vector512.Create(float.NegativeInfinity);
        for (; j + 16 <= length; j += 16)
        {
            Vector512<float> x = Vector512.Load(row + j) * factor;
            if (keyMask != null) x += Vector512.Load(keyMask + j);
            x.Store(row + j);
            max = Vector512.Max(max, x);
        }
        float m = max.GetElement(0);
        for (int l = 1; l < 16; l++) m = MathF.Max(m, max.GetElement(l));
        for (; j < length; j++)
        {
            float x = row[j] * scale;
            if (keyMask != null) x += keyMask[j];
            row[j] = x;
            m = MathF.Max(m, x);
        }
        for (; (j & 15) != 0; j++) row[j] = float.NegativeInfinity;   // e^−∞ = 0 past the row
        Vector512<float> shift = Vector512.Create(m), sum = Vector512<float>.Zero;
        for (j = 0; j < length; j += 16)
        {
            Vector512<float> e = ExpOfNonPositive(Vector512.Load(row + j) - shift);
            sum += e;
            Vector512<uint> rounded = MatMul.RoundToBFloat16(e);
            Vector512.Narrow(rounded, rounded).GetLower().Store(p + j);
        }
        float total = 0;
        for (int l = 0; l < 16; l++) total += sum.GetElement(l);
        return total;
    }

    /// <summary>
    /// <c>e^x</c> for <c>x ≤ 0</c>, to about 4e-5 relative (far below the 2⁻⁹ of the bf16 it is rounded to):
    /// <c>x = n·ln2 + r</c>, <c>1 + r + r²/2 + r³/6 + r⁴/24</c>, scaled by <c>2ⁿ</c> with <c>vscalefps</c>;
    /// 0 below −87.3 (where float32's normal range ends, as <see cref="Exp"/>) and for −∞.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> ExpOfNonPositive(Vector512<float> x)
    {
        Vector512<float> low = Vector512.Create(-87.33654f);
        Vector512<float> c = Simd512.ClampBelow(x, low);
        Vector512<float> n = Vector512.Round(c * Vector512.Create(1.44269504f));
        Vector512<float> r = Avx512F.FusedMultiplyAdd(n, Vector512.Create(-0.693147181f), c);
        Vector512<float> p = Avx512F.FusedMultiplyAdd(Vector512.Create(1f / 24), r, Vector512.Create(1f / 6));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(0.5f));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512<float>.One);
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512<float>.One);
        return Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(x, low), Avx512F.Scale(p, n), Vector512<float>.Zero);
    }

    private readonly unsafe struct Bf16Job(Operands<ushort> args) : IRangeJob
    {
        public void Run(int begin, int end)
        {
            int total = args.Past + args.QueryCount, rowStride = (total + Bf16Width) & ~(Bf16Width - 1);   // room for a pair partner
            float[] scores = ArrayPool<float>.Shared.Rent(Bf16Rows * rowStride);
            ushort[] probabilities = ArrayPool<ushort>.Shared.Rent(Bf16Rows * rowStride);
            ushort[] queries = ArrayPool<ushort>.Shared.Rent(Bf16Rows * args.HeadDim);
            ushort[] tail = ArrayPool<ushort>.Shared.Rent(args.HeadDim * Bf16Width);
            try
            {
                fixed (float* s = scores)
                fixed (ushort* p = probabilities)
                fixed (ushort* qb = queries)
                fixed (ushort* t = tail)
                    for (int h = begin; h < end; h++) Head(h, s, p, qb, t, rowStride);
            }
            finally
            {
                ArrayPool<float>.Shared.Return(scores);
                ArrayPool<ushort>.Shared.Return(probabilities);
                ArrayPool<ushort>.Shared.Return(queries);
                ArrayPool<ushort>.Shared.Return(tail);
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Head(int h, float* s, ushort* p, ushort* qb, ushort* tail, int rowStride)
        {
            int qStride = args.QStride, stride = args.Stride, headDim = args.HeadDim, past = args.Past, queryCount = args.QueryCount;
            int total = past + queryCount, outStride = args.Heads * headDim;
            float scale = 1f / MathF.Sqrt(headDim);
            ushort* kt = args.Keys + (long)h * headDim * stride;       // [headDim, stride]
            ushort* vh = args.Values + (long)h * stride * headDim;     // [stride, headDim]
            float* tile = stackalloc float[Bf16Rows * Bf16Width];
            float* inverse = stackalloc float[Bf16Rows];
            PanelKernelArgs k;
            k.C = tile;
            k.PanelBytes = 0;
            for (int t0 = 0; t0 < queryCount; t0 += Bf16Rows)
            {
                int block = Math.Min(Bf16Rows, queryCount - t0);
                int longest = args.Causal ? past + t0 + block : total;
                var kernel = JitKernels.Panel(JitKernelKind.Bf16Avx512, block);
                for (int i = 0; i < block; i++)
                    MatMul.RoundToBFloat16(new ReadOnlySpan<float>(args.Q + (long)(t0 + i) * qStride + h * headDim, headDim), new Span<ushort>(qb + i * headDim, headDim));

                // Scores: the block's queries × 32 positions per call, over head-dimension pairs.
                k.A = qb;
                k.Lda = 2L * headDim;
                k.Groups = headDim / 2;
                for (int j0 = 0; j0 < longest; j0 += Bf16Width)
                {
                    if (j0 + Bf16Width <= stride)
                    {
                        k.B = kt + j0;
                        k.Ldb = 2L * stride;
                    }
                    else
                    {
                        // The last positions of the cache row: a zero-padded copy, so nothing past the cache is read.
                        int have = stride - j0;
                        for (int d = 0; d < headDim; d++)
                        {
                            new ReadOnlySpan<ushort>(kt + (long)d * stride + j0, have).CopyTo(new Span<ushort>(tail + d * Bf16Width, have));
                            new Span<ushort>(tail + d * Bf16Width + have, Bf16Width - have).Clear();
                        }
                        k.B = tail;
                        k.Ldb = 2 * Bf16Width;
                    }
                    kernel(&k);
                    int columns = Math.Min(Bf16Width, longest - j0);
                    for (int i = 0; i < block; i++)
                        new ReadOnlySpan<float>(tile + i * Bf16Width, columns).CopyTo(new Span<float>(s + i * rowStride + j0, columns));
                }

                // Softmax numerators in bf16, zero up to the block's last pair; each row's sum divides its outputs below.
                int pairs = (longest + 1) / 2;
                for (int i = 0; i < block; i++)
                {
                    int length = args.Causal ? past + t0 + i + 1 : total;
                    inverse[i] = 1f / ExpToBf16(s + i * rowStride, length, scale, args.KeyMask, p + i * rowStride);
                    int written = (length + 15) & ~15;
                    if (2 * pairs > written) new Span<ushort>(p + i * rowStride + written, 2 * pairs - written).Clear();
                }

                // Values: the probabilities × 32 head columns per call, over position pairs.
                k.A = p;
                k.Lda = 2L * rowStride;
                k.Groups = pairs;
                k.Ldb = 2L * headDim;
                for (int c0 = 0; c0 < headDim; c0 += Bf16Width)
                {
                    k.B = vh + c0;
                    kernel(&k);
                    for (int i = 0; i < block; i++)
                        TensorPrimitives.Multiply(new ReadOnlySpan<float>(tile + i * Bf16Width, Bf16Width), inverse[i],
                            new Span<float>(args.Output + (long)(t0 + i) * outStride + h * headDim + c0, Bf16Width));
                }
            }
        }
    }
}
