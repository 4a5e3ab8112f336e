using System.Runtime.CompilerServices;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace BarkSharp.Tensors;

/// <summary>
/// Scaled dot-product attention of <c>T</c> new queries over cached keys/values, as Bark's eager attention computes it:
/// <c>s = (q · k) · 1/√d</c>; causal positions (key after query) are set to <c>float.MinValue</c>; an additive key mask
/// (0 or <c>float.MinValue</c>) is added; softmax over keys; weighted sum of values.
/// Keys live in a per-sequence cache laid out transposed, <c>[heads, headDim, stride]</c>, values as
/// <c>[heads, stride, headDim]</c>, positions <c>[0, past + T)</c> filled; <c>stride</c> is a multiple of 16 so scores
/// are computed 16 positions per vector.
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
        ReadOnlySpan<float> keyMask, Span<float> output, Span<float> scratch, int maxThreads = 1)
    {
        int total = past + queryCount;
        if (total > stride) throw new ArgumentException($"{total} positions exceed the cache stride {stride}.");
        if (stride % 16 != 0) throw new ArgumentException("the cache stride must be a multiple of 16.", nameof(stride));
        if (scratch.Length < ScratchSize(heads, total)) throw new ArgumentException("scratch too small; see ScratchSize.", nameof(scratch));
        if (!keyMask.IsEmpty && keyMask.Length < total) throw new ArgumentException("key mask shorter than past + T.", nameof(keyMask));

        long work = (long)heads * queryCount * total * headDim;
        int threads = work < (1 << 21) ? 1 : Math.Min(maxThreads, heads);
        unsafe
        {
            fixed (float* pq = q)
            fixed (float* pk = keys)
            fixed (float* pv = values)
            fixed (float* pm = keyMask)
            fixed (float* po = output)
            fixed (float* ps = scratch)
            {
                var job = new Job(pq, qStride, pk, pv, stride, heads, headDim, past, queryCount, causal, keyMask.IsEmpty ? null : pm, po, ps);
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

    /// <summary>Scratch floats <see cref="Forward"/> needs: one row of scores per head.</summary>
    public static int ScratchSize(int heads, int positions) => heads * Padded(positions);

    private static int Padded(int positions) => (positions + 15) & ~15;

    private readonly unsafe struct Job(
        float* q, int qStride, float* keys, float* values, int stride, int heads, int headDim,
        int past, int queryCount, bool causal, float* keyMask, float* output, float* scratch)
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Head(int h)
        {
            int total = past + queryCount;
            float scale = 1f / MathF.Sqrt(headDim);
            float* kt = keys + (long)h * headDim * stride;           // [headDim, stride]
            float* vh = values + (long)h * stride * headDim;         // [stride, headDim]
            float* s = scratch + (long)h * Padded(total);
            int outStride = heads * headDim;
            for (int t = 0; t < queryCount; t++)
            {
                float* qt = q + (long)t * qStride + h * headDim;
                // Keys after the query's position would get float.MinValue and an exp of exactly 0: skip them.
                int length = causal ? past + t + 1 : total;
                ScoresTransposed(qt, kt, stride, headDim, length, s);
                var scores = new Span<float>(s, length);
                TensorPrimitives.Multiply(scores, scale, scores);
                if (keyMask != null) TensorPrimitives.Add(scores, new ReadOnlySpan<float>(keyMask, length), scores);
                float max = TensorPrimitives.Max(scores);
                TensorPrimitives.Subtract(scores, max, scores);
                Exp.Forward(scores, scores);
                float inv = 1f / TensorPrimitives.Sum(scores);
                WeightedValues(s, length, vh, headDim, inv, output + (long)t * outStride + h * headDim);
            }
        }

        /// <summary><c>s[j] = Σ_d q[d] · K[j, d]</c> for j &lt; length (rounded up to 16), 16 keys per vector from the transposed keys.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void ScoresTransposed(float* qt, float* kt, int stride, int headDim, int length, float* s)
        {
            int j = 0;
            for (; j + 64 <= length; j += 64)
            {
                // Four independent chains: the FMA latency, not the loads, bounds a single chain.
                Vector512<float> a0 = Vector512<float>.Zero, a1 = a0, a2 = a0, a3 = a0;
                float* column = kt + j;
                for (int d = 0; d < headDim; d++)
                {
                    Vector512<float> q = Vector512.Create(qt[d]);
                    float* row = column + (long)d * stride;
                    a0 = Vector512.FusedMultiplyAdd(q, Vector512.Load(row), a0);
                    a1 = Vector512.FusedMultiplyAdd(q, Vector512.Load(row + 16), a1);
                    a2 = Vector512.FusedMultiplyAdd(q, Vector512.Load(row + 32), a2);
                    a3 = Vector512.FusedMultiplyAdd(q, Vector512.Load(row + 48), a3);
                }
                a0.Store(s + j);
                a1.Store(s + j + 16);
                a2.Store(s + j + 32);
                a3.Store(s + j + 48);
            }
            for (; j < length; j += 16)
            {
                Vector512<float> acc = Vector512<float>.Zero;
                float* column = kt + j;
                for (int d = 0; d < headDim; d++)
                    acc = Vector512.FusedMultiplyAdd(Vector512.Create(qt[d]), Vector512.Load(column + (long)d * stride), acc);
                acc.Store(s + j);
            }
        }

        /// <summary><c>o = inv · Σ_j p[j] · V[j]</c>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void WeightedValues(float* p, int length, float* v, int headDim, float inv, float* o)
        {
            if (headDim == 64)
            {
                Vector512<float> o0 = Vector512<float>.Zero, o1 = o0, o2 = o0, o3 = o0;
                for (int j = 0; j < length; j++)
                {
                    Vector512<float> w = Vector512.Create(p[j] * inv);
                    float* vj = v + (long)j * 64;
                    o0 = Vector512.FusedMultiplyAdd(w, Vector512.Load(vj), o0);
                    o1 = Vector512.FusedMultiplyAdd(w, Vector512.Load(vj + 16), o1);
                    o2 = Vector512.FusedMultiplyAdd(w, Vector512.Load(vj + 32), o2);
                    o3 = Vector512.FusedMultiplyAdd(w, Vector512.Load(vj + 48), o3);
                }
                o0.Store(o);
                o1.Store(o + 16);
                o2.Store(o + 32);
                o3.Store(o + 48);
                return;
            }
            var output = new Span<float>(o, headDim);
            output.Clear();
            for (int j = 0; j < length; j++)
                TensorPrimitives.MultiplyAdd(new ReadOnlySpan<float>(v + (long)j * headDim, headDim), p[j] * inv, output, output);
        }
    }
}
