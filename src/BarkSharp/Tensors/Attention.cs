using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

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
public static class Attention
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
        int total = past + queryCount;
        if (total > stride) throw new ArgumentException($"{total} positions exceed the cache stride {stride}.");
        if (stride % 16 != 0) throw new ArgumentException("the cache stride must be a multiple of 16.", nameof(stride));
        if (scratch.Length < ScratchSize(heads, total)) throw new ArgumentException("scratch too small; see ScratchSize.", nameof(scratch));
        if (!keyMask.IsEmpty && keyMask.Length < total) throw new ArgumentException("key mask shorter than past + T.", nameof(keyMask));

        long work = (long)heads * queryCount * total * headDim;
        int threads = work < (1 << 18) ? 1 : Math.Min(maxThreads, heads);
        unsafe
        {
            fixed (float* pq = q)
            fixed (T* pk = keys)
            fixed (T* pv = values)
            fixed (float* pm = keyMask)
            fixed (float* po = output)
            fixed (float* ps = scratch)
            {
                var job = new Job<T, TElement>(pq, qStride, pk, pv, stride, heads, headDim, past, queryCount, causal, keyMask.IsEmpty ? null : pm, po, ps);
                if (threads <= 1)
                {
                    for (int h = 0; h < heads; h++) job.Head(h);
                }
                else
                {
                    Parallel.For(0, heads, new ParallelOptions { MaxDegreeOfParallelism = threads }, job.Head);
                }
            }
        }
    }

    /// <summary>Scratch floats <see cref="Forward"/> needs: four rows of scores per head.</summary>
    public static int ScratchSize(int heads, int positions) => heads * QueryBlock * Padded(positions);

    private const int QueryBlock = 4;

    private static int Padded(int positions) => (positions + 15) & ~15;

    private readonly unsafe struct Job<T, TElement>(
        float* q, int qStride, T* keys, T* values, int stride, int heads, int headDim,
        int past, int queryCount, bool causal, float* keyMask, float* output, float* scratch)
        where T : unmanaged
        where TElement : struct, IKvElement<T>
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Head(int h)
        {
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
                if (block == QueryBlock && headDim % 16 == 0)
                    Scores4(q + (long)t0 * qStride + h * headDim, qStride, kt, stride, headDim, longest, s, padded);
                else
                    for (int i = 0; i < block; i++)
                        Scores1(q + (long)(t0 + i) * qStride + h * headDim, kt, stride, headDim, longest, s + i * padded);
                for (int i = 0; i < block; i++)
                {
                    int length = causal ? past + t0 + i + 1 : total;
                    var scores = new Span<float>(s + i * padded, length);
                    TensorPrimitives.Multiply(scores, scale, scores);
                    if (keyMask != null) TensorPrimitives.Add(scores, new ReadOnlySpan<float>(keyMask, length), scores);
                    float max = TensorPrimitives.Max(scores);
                    TensorPrimitives.Subtract(scores, max, scores);
                    Exp.Forward(scores, scores);
                    TensorPrimitives.Multiply(scores, 1f / TensorPrimitives.Sum(scores), scores);
                    new Span<float>(s + i * padded + length, longest - length).Clear();
                }
                WeightedValues(s, padded, block, longest, vh, headDim, output + (long)t0 * outStride + h * headDim, outStride);
            }
        }

        /// <summary>Scores of four consecutive queries against positions <c>[0, length)</c> (rounded up to 16), sharing each key load.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void Scores4(float* q, int qStride, T* kt, int stride, int headDim, int length, float* s, int rowStride)
        {
            float* q0 = q, q1 = q + qStride, q2 = q + 2 * qStride, q3 = q + 3 * qStride;
            int j = 0;
            for (; j + 32 <= length; j += 32)
            {
                // 4 queries × 32 positions: 8 chains, 2 key loads and 4 broadcasts per 8 FMAs.
                Vector512<float> a0 = Vector512<float>.Zero, a1 = a0, b0 = a0, b1 = a0, c0 = a0, c1 = a0, d0 = a0, d1 = a0;
                T* column = kt + j;
                for (int d = 0; d < headDim; d++)
                {
                    T* row = column + (long)d * stride;
                    Vector512<float> k0 = TElement.Load(row), k1 = TElement.Load(row + 16);
                    Vector512<float> w = Vector512.Create(q0[d]);
                    a0 = Vector512.FusedMultiplyAdd(w, k0, a0); a1 = Vector512.FusedMultiplyAdd(w, k1, a1);
                    w = Vector512.Create(q1[d]);
                    b0 = Vector512.FusedMultiplyAdd(w, k0, b0); b1 = Vector512.FusedMultiplyAdd(w, k1, b1);
                    w = Vector512.Create(q2[d]);
                    c0 = Vector512.FusedMultiplyAdd(w, k0, c0); c1 = Vector512.FusedMultiplyAdd(w, k1, c1);
                    w = Vector512.Create(q3[d]);
                    d0 = Vector512.FusedMultiplyAdd(w, k0, d0); d1 = Vector512.FusedMultiplyAdd(w, k1, d1);
                }
                a0.Store(s + j); a1.Store(s + j + 16);
                b0.Store(s + rowStride + j); b1.Store(s + rowStride + j + 16);
                c0.Store(s + 2 * rowStride + j); c1.Store(s + 2 * rowStride + j + 16);
                d0.Store(s + 3 * rowStride + j); d1.Store(s + 3 * rowStride + j + 16);
            }
            for (; j < length; j += 16)
            {
                Vector512<float> a0 = Vector512<float>.Zero, a1 = a0, a2 = a0, a3 = a0;
                T* column = kt + j;
                for (int d = 0; d < headDim; d++)
                {
                    Vector512<float> k = TElement.Load(column + (long)d * stride);
                    a0 = Vector512.FusedMultiplyAdd(Vector512.Create(q0[d]), k, a0);
                    a1 = Vector512.FusedMultiplyAdd(Vector512.Create(q1[d]), k, a1);
                    a2 = Vector512.FusedMultiplyAdd(Vector512.Create(q2[d]), k, a2);
                    a3 = Vector512.FusedMultiplyAdd(Vector512.Create(q3[d]), k, a3);
                }
                a0.Store(s + j);
                a1.Store(s + rowStride + j);
                a2.Store(s + 2 * rowStride + j);
                a3.Store(s + 3 * rowStride + j);
            }
        }

        /// <summary>Scores of one query, four independent chains over 64 positions at a time.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void Scores1(float* qt, T* kt, int stride, int headDim, int length, float* s)
        {
            int j = 0;
            for (; j + 64 <= length; j += 64)
            {
                Vector512<float> a0 = Vector512<float>.Zero, a1 = a0, a2 = a0, a3 = a0;
                T* column = kt + j;
                for (int d = 0; d < headDim; d++)
                {
                    Vector512<float> qd = Vector512.Create(qt[d]);
                    T* row = column + (long)d * stride;
                    a0 = Vector512.FusedMultiplyAdd(qd, TElement.Load(row), a0);
                    a1 = Vector512.FusedMultiplyAdd(qd, TElement.Load(row + 16), a1);
                    a2 = Vector512.FusedMultiplyAdd(qd, TElement.Load(row + 32), a2);
                    a3 = Vector512.FusedMultiplyAdd(qd, TElement.Load(row + 48), a3);
                }
                a0.Store(s + j);
                a1.Store(s + j + 16);
                a2.Store(s + j + 32);
                a3.Store(s + j + 48);
            }
            for (; j < length; j += 16)
            {
                Vector512<float> acc = Vector512<float>.Zero;
                T* column = kt + j;
                for (int d = 0; d < headDim; d++)
                    acc = Vector512.FusedMultiplyAdd(Vector512.Create(qt[d]), TElement.Load(column + (long)d * stride), acc);
                acc.Store(s + j);
            }
        }

        /// <summary>
        /// <c>o_i = Σ_j p_i[j] · V[j]</c> for the block's queries (weights already normalized, zero past each query's
        /// length), one chain per output over the positions in order, each value row loaded once for the block.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void WeightedValues(float* p, int rowStride, int block, int length, T* v, int headDim, float* o, int outStride)
        {
            if (block == QueryBlock && headDim == 64)
            {
                WeightedValues4x64(p, rowStride, length, v, o, outStride);
                return;
            }
            if (headDim == 64)
            {
                for (int i = 0; i < block; i++)
                {
                    float* pi = p + i * rowStride;
                    Vector512<float> a0 = Vector512<float>.Zero, a1 = a0, a2 = a0, a3 = a0;
                    for (int j = 0; j < length; j++)
                    {
                        T* vj = v + (long)j * 64;
                        Vector512<float> w = Vector512.Create(pi[j]);
                        a0 = Vector512.FusedMultiplyAdd(w, TElement.Load(vj), a0);
                        a1 = Vector512.FusedMultiplyAdd(w, TElement.Load(vj + 16), a1);
                        a2 = Vector512.FusedMultiplyAdd(w, TElement.Load(vj + 32), a2);
                        a3 = Vector512.FusedMultiplyAdd(w, TElement.Load(vj + 48), a3);
                    }
                    float* oi = o + i * outStride;
                    a0.Store(oi);
                    a1.Store(oi + 16);
                    a2.Store(oi + 32);
                    a3.Store(oi + 48);
                }
                return;
            }
            for (int c = 0; c < headDim; c += 16)
            {
                if (c + 16 > headDim)
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
                Vector512<float> a0 = Vector512<float>.Zero, a1 = a0, a2 = a0, a3 = a0;
                float* p0 = p, p1 = p + rowStride, p2 = p + 2 * rowStride, p3 = p + 3 * rowStride;
                for (int j = 0; j < length; j++)
                {
                    Vector512<float> vj = TElement.Load(v + (long)j * headDim + c);
                    a0 = Vector512.FusedMultiplyAdd(Vector512.Create(p0[j]), vj, a0);
                    if (block > 1) a1 = Vector512.FusedMultiplyAdd(Vector512.Create(p1[j]), vj, a1);
                    if (block > 2) a2 = Vector512.FusedMultiplyAdd(Vector512.Create(p2[j]), vj, a2);
                    if (block > 3) a3 = Vector512.FusedMultiplyAdd(Vector512.Create(p3[j]), vj, a3);
                }
                a0.Store(o + c);
                if (block > 1) a1.Store(o + outStride + c);
                if (block > 2) a2.Store(o + 2 * outStride + c);
                if (block > 3) a3.Store(o + 3 * outStride + c);
            }
        }

        /// <summary>The common case of <see cref="WeightedValues"/>: four queries, 64-wide heads, sixteen chains; same order per output.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void WeightedValues4x64(float* p, int rowStride, int length, T* v, float* o, int outStride)
        {
            Vector512<float> a00 = Vector512<float>.Zero, a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00, a12 = a00, a13 = a00;
            Vector512<float> a20 = a00, a21 = a00, a22 = a00, a23 = a00, a30 = a00, a31 = a00, a32 = a00, a33 = a00;
            float* p0 = p, p1 = p + rowStride, p2 = p + 2 * rowStride, p3 = p + 3 * rowStride;
            for (int j = 0; j < length; j++)
            {
                T* vj = v + (long)j * 64;
                Vector512<float> v0 = TElement.Load(vj), v1 = TElement.Load(vj + 16), v2 = TElement.Load(vj + 32), v3 = TElement.Load(vj + 48);
                Vector512<float> w = Vector512.Create(p0[j]);
                a00 = Vector512.FusedMultiplyAdd(w, v0, a00); a01 = Vector512.FusedMultiplyAdd(w, v1, a01);
                a02 = Vector512.FusedMultiplyAdd(w, v2, a02); a03 = Vector512.FusedMultiplyAdd(w, v3, a03);
                w = Vector512.Create(p1[j]);
                a10 = Vector512.FusedMultiplyAdd(w, v0, a10); a11 = Vector512.FusedMultiplyAdd(w, v1, a11);
                a12 = Vector512.FusedMultiplyAdd(w, v2, a12); a13 = Vector512.FusedMultiplyAdd(w, v3, a13);
                w = Vector512.Create(p2[j]);
                a20 = Vector512.FusedMultiplyAdd(w, v0, a20); a21 = Vector512.FusedMultiplyAdd(w, v1, a21);
                a22 = Vector512.FusedMultiplyAdd(w, v2, a22); a23 = Vector512.FusedMultiplyAdd(w, v3, a23);
                w = Vector512.Create(p3[j]);
                a30 = Vector512.FusedMultiplyAdd(w, v0, a30); a31 = Vector512.FusedMultiplyAdd(w, v1, a31);
                a32 = Vector512.FusedMultiplyAdd(w, v2, a32); a33 = Vector512.FusedMultiplyAdd(w, v3, a33);
            }
            a00.Store(o); a01.Store(o + 16); a02.Store(o + 32); a03.Store(o + 48);
            o += outStride;
            a10.Store(o); a11.Store(o + 16); a12.Store(o + 32); a13.Store(o + 48);
            o += outStride;
            a20.Store(o); a21.Store(o + 16); a22.Store(o + 32); a23.Store(o + 48);
            o += outStride;
            a30.Store(o); a31.Store(o + 16); a32.Store(o + 32); a33.Store(o + 48);
        }
    }
}
