namespace BarkSharp.Tensors;

/// <summary>
/// Scaled dot-product attention of <c>T</c> new queries over cached keys/values, as Bark's eager attention computes it:
/// <c>s = (q · k) · 1/√d</c>; causal positions (key after query) are set to <c>float.MinValue</c>; an additive key mask
/// (0 or <c>float.MinValue</c>) is added; softmax over keys; weighted sum of values.
/// Keys and values live in a per-sequence cache laid out <c>[heads, capacity, headDim]</c>, positions
/// <c>[0, past + T)</c> filled.
/// </summary>
public static class Attention
{
    /// <summary>Runs attention for one sequence.</summary>
    /// <param name="q">Queries: row <c>t</c> starts at <c>t · qStride</c>, head <c>h</c> at column <c>h · headDim</c>.</param>
    /// <param name="qStride">Distance between query rows.</param>
    /// <param name="keys">Key cache <c>[heads, capacity, headDim]</c>.</param>
    /// <param name="values">Value cache <c>[heads, capacity, headDim]</c>.</param>
    /// <param name="capacity">Positions per head in the caches.</param>
    /// <param name="heads">Number of heads.</param>
    /// <param name="headDim">Width of one head.</param>
    /// <param name="past">Positions cached before these queries; query <c>t</c> sits at position <c>past + t</c>.</param>
    /// <param name="queryCount">Number of queries <c>T</c>.</param>
    /// <param name="causal">Mask keys after each query's position.</param>
    /// <param name="keyMask">Additive mask per key position (length ≥ past + T), or empty for none.</param>
    /// <param name="output">Result <c>[T, heads · headDim]</c>.</param>
    /// <param name="scratch">Work space of at least <c>heads · (past + T)</c> floats.</param>
    /// <param name="maxThreads">Threads to split heads across.</param>
    public static void Forward(
        ReadOnlySpan<float> q, int qStride,
        ReadOnlySpan<float> keys, ReadOnlySpan<float> values, int capacity,
        int heads, int headDim, int past, int queryCount, bool causal,
        ReadOnlySpan<float> keyMask, Span<float> output, Span<float> scratch, int maxThreads = 1)
    {
        int total = past + queryCount;
        if (total > capacity) throw new ArgumentException($"{total} positions exceed the cache capacity {capacity}.");
        if (scratch.Length < heads * total) throw new ArgumentException("scratch too small.", nameof(scratch));
        if (!keyMask.IsEmpty && keyMask.Length < total) throw new ArgumentException("key mask shorter than past + T.", nameof(keyMask));

        long work = (long)heads * queryCount * total * headDim;
        int threads = work < (1 << 16) ? 1 : Math.Min(maxThreads, heads);
        unsafe
        {
            fixed (float* pq = q)
            fixed (float* pk = keys)
            fixed (float* pv = values)
            fixed (float* pm = keyMask)
            fixed (float* po = output)
            fixed (float* ps = scratch)
            {
                var job = new Job(pq, qStride, pk, pv, capacity, heads, headDim, past, queryCount, causal, keyMask.IsEmpty ? null : pm, po, ps);
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

    private readonly unsafe struct Job(
        float* q, int qStride, float* keys, float* values, int capacity, int heads, int headDim,
        int past, int queryCount, bool causal, float* keyMask, float* output, float* scratch)
    {
        public void Head(int h)
        {
            int total = past + queryCount;
            float scale = 1f / MathF.Sqrt(headDim);
            float* kh = keys + (long)h * capacity * headDim;
            float* vh = values + (long)h * capacity * headDim;
            float* s = scratch + (long)h * total;
            int outStride = heads * headDim;
            for (int t = 0; t < queryCount; t++)
            {
                float* qt = q + (long)t * qStride + h * headDim;
                int position = past + t;
                float max = float.NegativeInfinity;
                for (int j = 0; j < total; j++)
                {
                    float v = MatMul.Dot(qt, kh + (long)j * headDim, headDim) * scale;
                    if (causal && j > position) v = float.MinValue;
                    if (keyMask != null) v += keyMask[j];
                    s[j] = v;
                    if (v > max) max = v;
                }
                float sum = 0;
                for (int j = 0; j < total; j++)
                {
                    float e = MathF.Exp(s[j] - max);
                    s[j] = e;
                    sum += e;
                }
                float inv = 1f / sum;
                var o = new Span<float>(output + (long)t * outStride + h * headDim, headDim);
                o.Clear();
                for (int j = 0; j < total; j++)
                {
                    float p = s[j] * inv;
                    if (p == 0) continue;
                    System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(new ReadOnlySpan<float>(vh + (long)j * headDim, headDim), p, o, o);
                }
            }
        }
    }
}
