using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace BarkSharp.Tensors;

/// <summary>
/// Scaled dot-product attention of <c>T</c> new queries over cached keys/values, as Bark's eager attention computes it:
/// <c>s = (q · k) · 1/√d</c>; causal positions (key after query) are set to <c>float.MinValue</c>; an additive key mask
/// (0 or <c>float.MinValue</c>) is added; softmax over keys; weighted sum of values.
/// Keys live in a per-sequence cache laid out transposed, <c>[heads, headDim, stride]</c>, values as
/// <c>[heads, stride, headDim]</c>, positions <c>[0, past + T)</c> filled; <c>stride</c> is a multiple of 16 so scores
/// are computed 16 positions per vector. The cache's elements may be float32 or 16-bit (<see cref="IKvElement{T}"/>):
/// one kernel body, generic over the element, widens them in registers as it loads them, so a 16-bit cache streams
/// half the bytes and gives the same bits as a float32 cache holding the same (rounded) values.
/// </summary>
internal static partial class Attention
{
    /// <summary>Runs attention for one sequence.</summary>
    /// <param name="q">Queries: row <c>t</c> starts at <c>t · qStride</c>, head <c>h</c> at column <c>h · headDim</c>.</param>
    /// <param name="qStride">Distance between query rows.</param>
    /// <param name="keys">Key cache, transposed: <c>[heads, headDim, stride]</c>.</param>
    /// <param name="values">Value cache <c>[heads, stride, headDim]</c>.</param>
    /// <param name="stride">Positions allocated per head in the caches (a multiple of 16).</param>
    /// <param name="heads">Number of heads.</param>
    /// <param name="headDim">Width of one head.</param>
    /// <param name="past">Positions cached before these queries; query <c>t</c> sits at position <c>past + t</c>.</param>
    /// <param name="queryCount">Number of queries <c>T</c>.</param>
    /// <param name="causal">Mask keys after each query's position.</param>
    /// <param name="keyMask">Additive mask per key position (length ≥ past + T), or empty for none.</param>
    /// <param name="output">Result <c>[T, heads · headDim]</c>.</param>
    /// <param name="scratch">Work space of at least <see cref="ScratchSize"/> floats.</param>
    /// <param name="maxThreads">Threads to split heads across.</param>
    public static void Forward(
        ReadOnlySpan<float> q, int qStride,
        ReadOnlySpan<float> keys, ReadOnlySpan<float> values, int stride,
        int heads, int headDim, int past, int queryCount, bool causal,
        ReadOnlySpan<float> keyMask, Span<float> output, Span<float> scratch, int maxThreads = 1) =>
        Forward<float, KvFloat32>(q, qStride, keys, values, stride, heads, headDim, past, queryCount, causal, keyMask, output, scratch, maxThreads);

    /// <summary>
    /// The checks both attention paths (<see cref="Forward{T, TElement}"/>, <see cref="ForwardBf16"/>) make of their
    /// operands (lengths in elements; a key mask of length 0 is none), and the threads they use: one below 2¹⁸
    /// multiply-adds, else up to one per head.
    /// </summary>
    private static int CheckOperands(int qLength, int qStride, int keysLength, int valuesLength, int stride, int heads, int headDim,
        int past, int queryCount, int keyMaskLength, int outputLength, int maxThreads)
    {
        int total = past + queryCount;
        if (total > stride) throw new ArgumentException($"{total} positions exceed the cache stride {stride}.");
        if (stride % 16 != 0) throw new ArgumentException("the cache stride must be a multiple of 16.", nameof(stride));
        if (keysLength < (long)heads * headDim * stride || valuesLength < (long)heads * headDim * stride) throw new ArgumentException("cache shorter than heads × headDim × stride.");
        if (qLength < (long)(queryCount - 1) * qStride + heads * headDim) throw new ArgumentException("q shorter than its rows.", "q");
        if (outputLength < (long)queryCount * heads * headDim) throw new ArgumentException("output shorter than T × heads × headDim.", "output");
        if (keyMaskLength != 0 && keyMaskLength < total) throw new ArgumentException("key mask shorter than past + T.", "keyMask");
        long work = (long)heads * queryCount * total * headDim;
        return work < (1 << 18) ? 1 : Math.Min(maxThreads, heads);
    }

    /// <summary>
    /// <see cref="Forward(ReadOnlySpan{float}, int, ReadOnlySpan{float}, ReadOnlySpan{float}, int, int, int, int, int, bool, ReadOnlySpan{float}, Span{float}, Span{float}, int)"/>
    /// over keys and values stored as <typeparamref name="TElement"/>, widened to float32 in registers as they are read.
    /// </summary>
    internal static void Forward<T, TElement>(
        ReadOnlySpan<float> q, int qStride,
        ReadOnlySpan<T> keys, ReadOnlySpan<T> values, int stride,
        int heads, int headDim, int past, int queryCount, bool causal,
        ReadOnlySpan<float> keyMask, Span<float> output, Span<float> scratch, int maxThreads = 1)
        where T : unmanaged
        where TElement : struct, IKvElement<T>
    {
        int threads = CheckOperands(q.Length, qStride, keys.Length, values.Length, stride, heads, headDim, past, queryCount, keyMask.Length, output.Length, maxThreads);
        if (scratch.Length < ScratchSize(heads, past + queryCount)) throw new ArgumentException("scratch too small; see ScratchSize.", nameof(scratch));
        unsafe
        {
            fixed (float* pq = q)
            fixed (T* pk = keys)
            fixed (T* pv = values)
            fixed (float* pm = keyMask)
            fixed (float* po = output)
            fixed (float* ps = scratch)
            {
                var args = new Operands<T>(pq, qStride, pk, pv, stride, heads, headDim, past, queryCount, causal, keyMask.IsEmpty ? null : pm, po, ps);
                switch (Simd.Path)
                {
                    case VectorPath.Vector512: KernelParallel.For(new Job<T, TElement, Simd512, Vector512<float>>(args), heads, threads); break;
                    case VectorPath.Vector256: KernelParallel.For(new Job<T, TElement, Simd256, Vector256<float>>(args), heads, threads); break;
                    default: KernelParallel.For(new Job<T, TElement, Simd128, Vector128<float>>(args), heads, threads); break;
                }
            }
        }
    }

    /// <summary>Scratch floats <see cref="Forward"/> needs: four rows of scores per head.</summary>
    public static int ScratchSize(int heads, int positions) => heads * QueryBlock * Padded(positions);

    private const int QueryBlock = 4;

    /// <summary>Whether the CPU has only 16 vector registers (x86 without AVX-512; AVX-512 and Arm64 have 32).</summary>
    private static readonly bool SixteenRegisters = X86Base.IsSupported && !Avx512F.IsSupported;

    private static int Padded(int positions) => (positions + 15) & ~15;

    /// <summary>The operands of one call (pointers stay valid while it runs).</summary>
    private readonly unsafe struct Operands<T>(
        float* q, int qStride, T* keys, T* values, int stride, int heads, int headDim,
        int past, int queryCount, bool causal, float* keyMask, float* output, float* scratch)
        where T : unmanaged
    {
        public readonly float* Q = q, KeyMask = keyMask, Output = output, Scratch = scratch;
        public readonly T* Keys = keys, Values = values;
        public readonly int QStride = qStride, Stride = stride, Heads = heads, HeadDim = headDim, Past = past, QueryCount = queryCount;
        public readonly bool Causal = causal;
    }

    private readonly unsafe struct Job<T, TElement, TSimd, TVec>(Operands<T> args) : IRangeJob
        where T : unmanaged
        where TElement : struct, IKvElement<T>
        where TSimd : struct, ISimd<TVec>
        where TVec : struct
    {
        public void Run(int begin, int end)
        {
            for (int h = begin; h < end; h++) Head(h);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Head(int h)
        {
            float* q = args.Q, keyMask = args.KeyMask, output = args.Output, scratch = args.Scratch;
            T* keys = args.Keys, values = args.Values;
            int qStride = args.QStride, stride = args.Stride, heads = args.Heads, headDim = args.HeadDim, past = args.Past, queryCount = args.QueryCount;
            bool causal = args.Causal;
            int total = past + queryCount, padded = Padded(total);
            float scale = 1f / MathF.Sqrt(headDim);
            T* kt = keys + (long)h * headDim * stride;               // [headDim, stride]
            T* vh = values + (long)h * stride * headDim;             // [stride, headDim]
            float* s = scratch + (long)h * QueryBlock * padded;      // QueryBlock rows of scores
            int outStride = heads * headDim;
            for (int t0 = 0; t0 < queryCount; t0 += QueryBlock)
            {
                int block = Math.Min(QueryBlock, queryCount - t0);
                // Keys after a query's position would get float.MinValue and an exp of exactly 0: they are skipped
                // (their weights are zero in the block's shared loops).
                int longest = causal ? past + t0 + block : total;
                if (block == QueryBlock && headDim % TSimd.Count == 0)
                    Scores4(q + (long)t0 * qStride + h * headDim, qStride, kt, stride, headDim, longest, s, padded);
                else
                    for (int i = 0; i < block; i++)
                        Scores1(q + (long)(t0 + i) * qStride + h * headDim, kt, stride, headDim, longest, s + i * padded);
                for (int i = 0; i < block; i++)
                    Softmax(s + i * padded, causal ? past + t0 + i + 1 : total, longest, scale, keyMask);
                WeightedValues(s, padded, block, longest, vh, headDim, output + (long)t0 * outStride + h * headDim, outStride);
            }
        }

        /// <summary>
        /// Softmax of one row of raw scores over positions <c>[0, length)</c>, in place, zeros in <c>[length, longest)</c>:
        /// <c>x = s · scale (+ mask)</c>, <c>e = e^(x − max x)</c>, <c>e / Σ e</c>, the sum in <see cref="Simd.Sum"/>'s
        /// order. Without a mask the maximum is taken of the raw scores (rounding a product by a positive factor keeps
        /// the order, so <c>max(s) · scale</c> is the maximum of the scaled ones) and the scaling, the exponential and
        /// the sum share one pass. The exponential runs over whole vectors, the last one reaching into the row's
        /// padding (scratch rows are padded to 16), so every element takes the same lane-wise formula.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void Softmax(float* row, int length, int longest, float scale, float* keyMask)
        {
            int n = TSimd.Count, j = 0;
            float* lanes = stackalloc float[16];
            // The maximum by the native instruction (x86's vmaxps is one instruction where .NET's IEEE Vector256.Max
            // is seven in a chain), in two running maxima. It can differ from the IEEE maximum only with a NaN in the
            // row, which makes its numerator, the sum and so every output NaN either way, or in the sign of a zero
            // maximum, which gives the same x − max for every x and so the same bits.
            TVec max0 = TSimd.Broadcast(float.NegativeInfinity), max1 = max0;
            float m = float.NegativeInfinity;
            if (keyMask == null)
            {
                for (; j + 2 * n <= length; j += 2 * n)
                {
                    max0 = TSimd.MaxNative(max0, TSimd.Load(row + j));
                    max1 = TSimd.MaxNative(max1, TSimd.Load(row + j + n));
                }
                for (; j + n <= length; j += n) max0 = TSimd.MaxNative(max0, TSimd.Load(row + j));
                TSimd.Store(TSimd.MaxNative(max0, max1), lanes);
                for (int l = 0; l < n; l++) m = MathF.Max(m, lanes[l]);
                for (; j < length; j++) m = MathF.Max(m, row[j]);
                m *= scale;
            }
            else
            {
                TVec factor = TSimd.Broadcast(scale);
                for (; j + n <= length; j += n)
                {
                    TVec x = TSimd.Add(TSimd.Multiply(TSimd.Load(row + j), factor), TSimd.Load(keyMask + j));
                    TSimd.Store(x, row + j);
                    max0 = TSimd.MaxNative(max0, x);
                }
                TSimd.Store(max0, lanes);
                for (int l = 0; l < n; l++) m = MathF.Max(m, lanes[l]);
                for (; j < length; j++)
                {
                    float x = row[j] * scale + keyMask[j];
                    row[j] = x;
                    m = MathF.Max(m, x);
                }
            }
            bool scaled = keyMask == null;
            TVec shift = TSimd.Broadcast(m), by = TSimd.Broadcast(scale);
            // The numerators first, then their sum in Simd.Sum's order: summing in the same pass kept running sums
            // live across the exponential, and with AVX2's sixteen registers the JIT spilled one, a loop-carried
            // store and reload per step.
            for (j = 0; j < length; j += n) StoreNumerator(row + j, scaled, by, shift);
            TVec inverse = TSimd.Broadcast(1f / Simd.Sum<TSimd, TVec>(row, length));
            for (j = 0; j < length; j += n) TSimd.Store(TSimd.Multiply(TSimd.Load(row + j), inverse), row + j);
            new Span<float>(row + length, longest - length).Clear();
        }

        /// <summary>
        /// One vector of <see cref="Softmax"/>'s numerators, stored in place at <paramref name="at"/>:
        /// <c>e^(x − max)</c>, <c>x</c> the raw score times <paramref name="by"/> when <paramref name="scaled"/>, else as stored.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void StoreNumerator(float* at, bool scaled, TVec by, TVec shift) =>
            TSimd.Store(Exp.NonPositive<TSimd, TVec>(TSimd.Subtract(scaled ? TSimd.Multiply(TSimd.Load(at), by) : TSimd.Load(at), shift)), at);

        /// <summary>Scores of four consecutive queries against positions <c>[0, length)</c> (rounded up to a vector), sharing each key load.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void Scores4(float* q, int qStride, T* kt, int stride, int headDim, int length, float* s, int rowStride)
        {
            int n = TSimd.Count;
            float* q0 = q, q1 = q + qStride, q2 = q + 2 * qStride, q3 = q + 3 * qStride;
            int j = n < 16 && SixteenRegisters ? Scores4x3(q, qStride, kt, stride, headDim, length, s, rowStride) : 0;
            for (; j + 2 * n <= length; j += 2 * n)
            {
                // 4 queries × 2 vectors of positions: 8 chains, 2 key loads and 4 broadcasts per 8 FMAs.
                TVec a0 = TSimd.Zero, a1 = a0, b0 = a0, b1 = a0, c0 = a0, c1 = a0, d0 = a0, d1 = a0;
                T* column = kt + j;
                for (int d = 0; d < headDim; d++)
                {
                    T* row = column + (long)d * stride;
                    TVec k0 = TElement.Load<TSimd, TVec>(row), k1 = TElement.Load<TSimd, TVec>(row + n);
                    TVec w = TSimd.Broadcast(q0[d]);
                    a0 = TSimd.Fma(w, k0, a0); a1 = TSimd.Fma(w, k1, a1);
                    w = TSimd.Broadcast(q1[d]);
                    b0 = TSimd.Fma(w, k0, b0); b1 = TSimd.Fma(w, k1, b1);
                    w = TSimd.Broadcast(q2[d]);
                    c0 = TSimd.Fma(w, k0, c0); c1 = TSimd.Fma(w, k1, c1);
                    w = TSimd.Broadcast(q3[d]);
                    d0 = TSimd.Fma(w, k0, d0); d1 = TSimd.Fma(w, k1, d1);
                }
                TSimd.Store(a0, s + j); TSimd.Store(a1, s + j + n);
                TSimd.Store(b0, s + rowStride + j); TSimd.Store(b1, s + rowStride + j + n);
                TSimd.Store(c0, s + 2 * rowStride + j); TSimd.Store(c1, s + 2 * rowStride + j + n);
                TSimd.Store(d0, s + 3 * rowStride + j); TSimd.Store(d1, s + 3 * rowStride + j + n);
            }
            for (; j < length; j += n)
            {
                TVec a0 = TSimd.Zero, a1 = a0, a2 = a0, a3 = a0;
                T* column = kt + j;
                for (int d = 0; d < headDim; d++)
                {
                    TVec k = TElement.Load<TSimd, TVec>(column + (long)d * stride);
                    a0 = TSimd.Fma(TSimd.Broadcast(q0[d]), k, a0);
                    a1 = TSimd.Fma(TSimd.Broadcast(q1[d]), k, a1);
                    a2 = TSimd.Fma(TSimd.Broadcast(q2[d]), k, a2);
                    a3 = TSimd.Fma(TSimd.Broadcast(q3[d]), k, a3);
                }
                TSimd.Store(a0, s + j);
                TSimd.Store(a1, s + rowStride + j);
                TSimd.Store(a2, s + 2 * rowStride + j);
                TSimd.Store(a3, s + 3 * rowStride + j);
            }
        }

        /// <summary>
        /// <see cref="Scores4"/>'s leading positions where x86 has 16 vector registers (AVX2, SSE): 4 queries × 3
        /// vectors of positions, 12 chains (two FMA ports of latency 4 need 8 in flight, and 8 leave no slack), 3 key
        /// vectors and a broadcast: all sixteen registers. Returns the first position left; same chain per score.
        /// A method of its own so the 32-register paths' <see cref="Scores4"/> keeps its registers.
        /// </summary>
        [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
        private static int Scores4x3(float* q, int qStride, T* kt, int stride, int headDim, int length, float* s, int rowStride)
        {
            int n = TSimd.Count, j = 0;
            float* q0 = q, q1 = q + qStride, q2 = q + 2 * qStride, q3 = q + 3 * qStride;
            for (; j + 3 * n <= length; j += 3 * n)
            {
                TVec a0 = TSimd.Zero, a1 = a0, a2 = a0, b0 = a0, b1 = a0, b2 = a0, c0 = a0, c1 = a0, c2 = a0, d0 = a0, d1 = a0, d2 = a0;
                T* row = kt + j;
                for (int d = 0; d < headDim; d++, row += stride)
                {
                    TVec k0 = TElement.Load<TSimd, TVec>(row), k1 = TElement.Load<TSimd, TVec>(row + n), k2 = TElement.Load<TSimd, TVec>(row + 2 * n);
                    TVec w = TSimd.Broadcast(q0[d]);
                    a0 = TSimd.Fma(w, k0, a0); a1 = TSimd.Fma(w, k1, a1); a2 = TSimd.Fma(w, k2, a2);
                    w = TSimd.Broadcast(q1[d]);
                    b0 = TSimd.Fma(w, k0, b0); b1 = TSimd.Fma(w, k1, b1); b2 = TSimd.Fma(w, k2, b2);
                    w = TSimd.Broadcast(q2[d]);
                    c0 = TSimd.Fma(w, k0, c0); c1 = TSimd.Fma(w, k1, c1); c2 = TSimd.Fma(w, k2, c2);
                    w = TSimd.Broadcast(q3[d]);
                    d0 = TSimd.Fma(w, k0, d0); d1 = TSimd.Fma(w, k1, d1); d2 = TSimd.Fma(w, k2, d2);
                }
                float* o = s + j;
                TSimd.Store(a0, o); TSimd.Store(a1, o + n); TSimd.Store(a2, o + 2 * n); o += rowStride;
                TSimd.Store(b0, o); TSimd.Store(b1, o + n); TSimd.Store(b2, o + 2 * n); o += rowStride;
                TSimd.Store(c0, o); TSimd.Store(c1, o + n); TSimd.Store(c2, o + 2 * n); o += rowStride;
                TSimd.Store(d0, o); TSimd.Store(d1, o + n); TSimd.Store(d2, o + 2 * n);
            }
            return j;
        }

        /// <summary>Scores of one query, four independent chains over four vectors of positions at a time.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void Scores1(float* qt, T* kt, int stride, int headDim, int length, float* s)
        {
            int n = TSimd.Count;
            int j = 0;
            for (; j + 4 * n <= length; j += 4 * n)
            {
                TVec a0 = TSimd.Zero, a1 = a0, a2 = a0, a3 = a0;
                T* column = kt + j;
                for (int d = 0; d < headDim; d++)
                {
                    TVec qd = TSimd.Broadcast(qt[d]);
                    T* row = column + (long)d * stride;
                    a0 = TSimd.Fma(qd, TElement.Load<TSimd, TVec>(row), a0);
                    a1 = TSimd.Fma(qd, TElement.Load<TSimd, TVec>(row + n), a1);
                    a2 = TSimd.Fma(qd, TElement.Load<TSimd, TVec>(row + 2 * n), a2);
                    a3 = TSimd.Fma(qd, TElement.Load<TSimd, TVec>(row + 3 * n), a3);
                }
                TSimd.Store(a0, s + j);
                TSimd.Store(a1, s + j + n);
                TSimd.Store(a2, s + j + 2 * n);
                TSimd.Store(a3, s + j + 3 * n);
            }
            for (; j < length; j += n)
            {
                TVec acc = TSimd.Zero;
                T* column = kt + j;
                for (int d = 0; d < headDim; d++)
                    acc = TSimd.Fma(TSimd.Broadcast(qt[d]), TElement.Load<TSimd, TVec>(column + (long)d * stride), acc);
                TSimd.Store(acc, s + j);
            }
        }

        /// <summary>
        /// <c>o_i = Σ_j p_i[j] · V[j]</c> for the block's queries (weights already normalized, zero past each query's
        /// length), one chain per output over the positions in order, each value row loaded once for the block.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void WeightedValues(float* p, int rowStride, int block, int length, T* v, int headDim, float* o, int outStride)
        {
            int n = TSimd.Count;
            if (block == QueryBlock && n < 16 && SixteenRegisters && headDim % (2 * n) == 0)
            {
                // x86 without AVX-512 has 16 vector registers, too few for the 4 × 4 tile's 16 chains, its four value
                // vectors and a broadcast. 4 × 3 tiles (12 chains, 3 value vectors, a broadcast) where the columns
                // left allow, 4 × 2 where not (a 64-wide head is 3 + 3 + 2 vectors): two FMA ports of latency 4 need
                // 8 chains in flight, and 8 leave no slack. Same order per output.
                for (int c = 0; c < headDim;)
                {
                    int left = (headDim - c) / n;
                    if (left == 3 || left >= 5)
                    {
                        WeightedValues4x3(p, rowStride, length, v + c, headDim, o + c, outStride);
                        c += 3 * n;
                    }
                    else
                    {
                        WeightedValues4x2(p, rowStride, length, v + c, headDim, o + c, outStride);
                        c += 2 * n;
                    }
                }
                return;
            }
            if (headDim % (4 * n) == 0)
            {
                if (block == QueryBlock)
                {
                    for (int c = 0; c < headDim; c += 4 * n) WeightedValues4(p, rowStride, length, v + c, headDim, o + c, outStride);
                    return;
                }
                // Fewer queries (a decode step has one): four vectors of columns per pass, four independent chains.
                for (int i = 0; i < block; i++)
                {
                    float* pi = p + i * rowStride, oi = o + i * outStride;
                    for (int c = 0; c < headDim; c += 4 * n)
                    {
                        TVec a0 = TSimd.Zero, a1 = a0, a2 = a0, a3 = a0;
                        for (int j = 0; j < length; j++)
                        {
                            T* vj = v + (long)j * headDim + c;
                            TVec w = TSimd.Broadcast(pi[j]);
                            a0 = TSimd.Fma(w, TElement.Load<TSimd, TVec>(vj), a0);
                            a1 = TSimd.Fma(w, TElement.Load<TSimd, TVec>(vj + n), a1);
                            a2 = TSimd.Fma(w, TElement.Load<TSimd, TVec>(vj + 2 * n), a2);
                            a3 = TSimd.Fma(w, TElement.Load<TSimd, TVec>(vj + 3 * n), a3);
                        }
                        TSimd.Store(a0, oi + c);
                        TSimd.Store(a1, oi + c + n);
                        TSimd.Store(a2, oi + c + 2 * n);
                        TSimd.Store(a3, oi + c + 3 * n);
                    }
                }
                return;
            }
            for (int c = 0; c < headDim; c += n)
            {
                if (c + n > headDim)
                {
                    for (int i = 0; i < block; i++)
                        for (int d = c; d < headDim; d++)
                        {
                            float sum = 0;
                            for (int j = 0; j < length; j++) sum = MathF.FusedMultiplyAdd(p[i * rowStride + j], TElement.ToSingle(v[(long)j * headDim + d]), sum);
                            o[i * outStride + d] = sum;
                        }
                    break;
                }
                TVec a0 = TSimd.Zero, a1 = a0, a2 = a0, a3 = a0;
                float* p0 = p, p1 = p + rowStride, p2 = p + 2 * rowStride, p3 = p + 3 * rowStride;
                for (int j = 0; j < length; j++)
                {
                    TVec vj = TElement.Load<TSimd, TVec>(v + (long)j * headDim + c);
                    a0 = TSimd.Fma(TSimd.Broadcast(p0[j]), vj, a0);
                    if (block > 1) a1 = TSimd.Fma(TSimd.Broadcast(p1[j]), vj, a1);
                    if (block > 2) a2 = TSimd.Fma(TSimd.Broadcast(p2[j]), vj, a2);
                    if (block > 3) a3 = TSimd.Fma(TSimd.Broadcast(p3[j]), vj, a3);
                }
                TSimd.Store(a0, o + c);
                if (block > 1) TSimd.Store(a1, o + outStride + c);
                if (block > 2) TSimd.Store(a2, o + 2 * outStride + c);
                if (block > 3) TSimd.Store(a3, o + 3 * outStride + c);
            }
        }

        /// <summary>Four queries × two vectors of a head's columns: eight chains, the tile that fits sixteen vector registers.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void WeightedValues4x2(float* p, int rowStride, int length, T* v, int headDim, float* o, int outStride)
        {
            int n = TSimd.Count;
            TVec a00 = TSimd.Zero, a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
            float* p0 = p, p1 = p + rowStride, p2 = p + 2 * rowStride, p3 = p + 3 * rowStride;
            for (int j = 0; j < length; j++)
            {
                T* vj = v + (long)j * headDim;
                TVec v0 = TElement.Load<TSimd, TVec>(vj), v1 = TElement.Load<TSimd, TVec>(vj + n);
                TVec w = TSimd.Broadcast(p0[j]);
                a00 = TSimd.Fma(w, v0, a00); a01 = TSimd.Fma(w, v1, a01);
                w = TSimd.Broadcast(p1[j]);
                a10 = TSimd.Fma(w, v0, a10); a11 = TSimd.Fma(w, v1, a11);
                w = TSimd.Broadcast(p2[j]);
                a20 = TSimd.Fma(w, v0, a20); a21 = TSimd.Fma(w, v1, a21);
                w = TSimd.Broadcast(p3[j]);
                a30 = TSimd.Fma(w, v0, a30); a31 = TSimd.Fma(w, v1, a31);
            }
            TSimd.Store(a00, o); TSimd.Store(a01, o + n);
            o += outStride;
            TSimd.Store(a10, o); TSimd.Store(a11, o + n);
            o += outStride;
            TSimd.Store(a20, o); TSimd.Store(a21, o + n);
            o += outStride;
            TSimd.Store(a30, o); TSimd.Store(a31, o + n);
        }

        /// <summary>Four queries × three vectors of a head's columns: twelve chains, three value vectors and a broadcast in sixteen registers.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void WeightedValues4x3(float* p, int rowStride, int length, T* v, int headDim, float* o, int outStride)
        {
            int n = TSimd.Count;
            TVec a00 = TSimd.Zero, a01 = a00, a02 = a00, a10 = a00, a11 = a00, a12 = a00, a20 = a00, a21 = a00, a22 = a00, a30 = a00, a31 = a00, a32 = a00;
            float* p0 = p, p1 = p + rowStride, p2 = p + 2 * rowStride, p3 = p + 3 * rowStride;
            T* vj = v;
            for (int j = 0; j < length; j++, vj += headDim)
            {
                TVec v0 = TElement.Load<TSimd, TVec>(vj), v1 = TElement.Load<TSimd, TVec>(vj + n), v2 = TElement.Load<TSimd, TVec>(vj + 2 * n);
                TVec w = TSimd.Broadcast(p0[j]);
                a00 = TSimd.Fma(w, v0, a00); a01 = TSimd.Fma(w, v1, a01); a02 = TSimd.Fma(w, v2, a02);
                w = TSimd.Broadcast(p1[j]);
                a10 = TSimd.Fma(w, v0, a10); a11 = TSimd.Fma(w, v1, a11); a12 = TSimd.Fma(w, v2, a12);
                w = TSimd.Broadcast(p2[j]);
                a20 = TSimd.Fma(w, v0, a20); a21 = TSimd.Fma(w, v1, a21); a22 = TSimd.Fma(w, v2, a22);
                w = TSimd.Broadcast(p3[j]);
                a30 = TSimd.Fma(w, v0, a30); a31 = TSimd.Fma(w, v1, a31); a32 = TSimd.Fma(w, v2, a32);
            }
            TSimd.Store(a00, o); TSimd.Store(a01, o + n); TSimd.Store(a02, o + 2 * n);
            o += outStride;
            TSimd.Store(a10, o); TSimd.Store(a11, o + n); TSimd.Store(a12, o + 2 * n);
            o += outStride;
            TSimd.Store(a20, o); TSimd.Store(a21, o + n); TSimd.Store(a22, o + 2 * n);
            o += outStride;
            TSimd.Store(a30, o); TSimd.Store(a31, o + n); TSimd.Store(a32, o + 2 * n);
        }

        /// <summary>
        /// The common case of <see cref="WeightedValues"/>: four queries × four vectors of a head's columns, sixteen
        /// chains (a 64-wide head in one pass with AVX-512); same order per output.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void WeightedValues4(float* p, int rowStride, int length, T* v, int headDim, float* o, int outStride)
        {
            int n = TSimd.Count;
            TVec a00 = TSimd.Zero, a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00, a12 = a00, a13 = a00;
            TVec a20 = a00, a21 = a00, a22 = a00, a23 = a00, a30 = a00, a31 = a00, a32 = a00, a33 = a00;
            float* p0 = p, p1 = p + rowStride, p2 = p + 2 * rowStride, p3 = p + 3 * rowStride;
            for (int j = 0; j < length; j++)
            {
                T* vj = v + (long)j * headDim;
                TVec v0 = TElement.Load<TSimd, TVec>(vj), v1 = TElement.Load<TSimd, TVec>(vj + n);
                TVec v2 = TElement.Load<TSimd, TVec>(vj + 2 * n), v3 = TElement.Load<TSimd, TVec>(vj + 3 * n);
                TVec w = TSimd.Broadcast(p0[j]);
                a00 = TSimd.Fma(w, v0, a00); a01 = TSimd.Fma(w, v1, a01); a02 = TSimd.Fma(w, v2, a02); a03 = TSimd.Fma(w, v3, a03);
                w = TSimd.Broadcast(p1[j]);
                a10 = TSimd.Fma(w, v0, a10); a11 = TSimd.Fma(w, v1, a11); a12 = TSimd.Fma(w, v2, a12); a13 = TSimd.Fma(w, v3, a13);
                w = TSimd.Broadcast(p2[j]);
                a20 = TSimd.Fma(w, v0, a20); a21 = TSimd.Fma(w, v1, a21); a22 = TSimd.Fma(w, v2, a22); a23 = TSimd.Fma(w, v3, a23);
                w = TSimd.Broadcast(p3[j]);
                a30 = TSimd.Fma(w, v0, a30); a31 = TSimd.Fma(w, v1, a31); a32 = TSimd.Fma(w, v2, a32); a33 = TSimd.Fma(w, v3, a33);
            }
            TSimd.Store(a00, o); TSimd.Store(a01, o + n); TSimd.Store(a02, o + 2 * n); TSimd.Store(a03, o + 3 * n);
            o += outStride;
            TSimd.Store(a10, o); TSimd.Store(a11, o + n); TSimd.Store(a12, o + 2 * n); TSimd.Store(a13, o + 3 * n);
            o += outStride;
            TSimd.Store(a20, o); TSimd.Store(a21, o + n); TSimd.Store(a22, o + 2 * n); TSimd.Store(a23, o + 3 * n);
            o += outStride;
            TSimd.Store(a30, o); TSimd.Store(a31, o + n); TSimd.Store(a32, o + 2 * n); TSimd.Store(a33, o + 3 * n);
        }
    }
}
