using BarkSharp.Tensors;

namespace BarkSharp.Generation;

/// <summary>
/// Keys and values of every layer of a causal model for a batch of sequences, preallocated for
/// <see cref="Capacity"/> positions. Per (sequence, layer) the keys are stored transposed, <c>[heads, headDim, Stride]</c>,
/// so attention scores 16 positions per vector instruction, and the values <c>[heads, Stride, headDim]</c>;
/// <see cref="Stride"/> is the capacity rounded up to an odd multiple of 16. All sequences of the batch share one
/// <see cref="Length"/>. Elements are stored as <see cref="Type"/>: float32, or 16 bits rounded to nearest even when written.
/// </summary>
internal sealed class KvCache
{
    private readonly Array _keys;      // float[] or ushort[], pinned; element _keysOrigin starts a cache line
    private readonly Array _values;
    private readonly int _keysOrigin;
    private readonly int _valuesOrigin;
    private readonly int _layerSize;

    /// <summary>Allocates a cache.</summary>
    /// <param name="batch">Sequences.</param>
    /// <param name="layers">Transformer layers.</param>
    /// <param name="heads">Attention heads.</param>
    /// <param name="headDim">Width of one head.</param>
    /// <param name="capacity">Maximum positions.</param>
    /// <param name="type">Element storage; <see cref="KvCacheType.Auto"/> means float32 here (a model resolves it from its weights).</param>
    public KvCache(int batch, int layers, int heads, int headDim, int capacity, KvCacheType type = KvCacheType.Float32)
    {
        if (batch <= 0 || layers <= 0 || heads <= 0 || headDim <= 0 || capacity <= 0)
            throw new ArgumentOutOfRangeException(nameof(capacity), "cache dimensions must be positive.");
        Batch = batch;
        Layers = layers;
        Heads = heads;
        HeadDim = headDim;
        Capacity = capacity;
        Type = Resolve(type, WeightType.Float32);
        // An odd multiple of 16 elements between key rows (an odd number of 64-byte lines in float32, of 32-byte halves
        // in bfloat16) spreads a head's rows over the L1 sets; a power-of-two stride such as 1024 (the fine model's
        // window) maps them all to one or two sets and costs a third of attention's speed.
        Stride = ((capacity + 15) / 16 | 1) * 16;
        _layerSize = heads * Stride * headDim;
        // Every layer's block of keys and values starts on a cache line (a layer holds a multiple of 16 elements per
        // head row), so attention's vector loads of whole rows never split across two lines.
        long size = (long)batch * layers * _layerSize;
        _keys = Type == KvCacheType.Float32 ? CacheLineArray.Allocate<float>(size, out _keysOrigin) : CacheLineArray.Allocate<ushort>(size, out _keysOrigin);
        _values = Type == KvCacheType.Float32 ? CacheLineArray.Allocate<float>(size, out _valuesOrigin) : CacheLineArray.Allocate<ushort>(size, out _valuesOrigin);
    }

    /// <summary>Sequences in the batch.</summary>
    public int Batch { get; }

    /// <summary>Transformer layers.</summary>
    public int Layers { get; }

    /// <summary>Attention heads.</summary>
    public int Heads { get; }

    /// <summary>Width of one head.</summary>
    public int HeadDim { get; }

    /// <summary>Maximum positions.</summary>
    public int Capacity { get; }

    /// <summary>Positions allocated per head (capacity rounded up to an odd multiple of 16).</summary>
    public int Stride { get; }

    /// <summary>How the elements are stored (never <see cref="KvCacheType.Auto"/>).</summary>
    public KvCacheType Type { get; }

    /// <summary>Bytes the keys and values occupy.</summary>
    public long StorageBytes => 2L * Batch * Layers * _layerSize * (Type == KvCacheType.Float32 ? 4 : 2);

    /// <summary>Positions filled so far.</summary>
    public int Length { get; internal set; }

    /// <summary>Forgets every cached position (the buffers are kept).</summary>
    public void Reset() => Length = 0;

    /// <summary>
    /// The storage a model uses for <paramref name="requested"/>: <see cref="KvCacheType.Auto"/> is float32 for float32
    /// weights and bfloat16 for every reduced weight type.
    /// </summary>
    public static KvCacheType Resolve(KvCacheType requested, WeightType weights) => requested switch
    {
        KvCacheType.Auto => weights is WeightType.Float32 or WeightType.Auto ? KvCacheType.Float32 : KvCacheType.BFloat16,
        KvCacheType.Float32 or KvCacheType.BFloat16 => requested,
        _ => throw new ArgumentOutOfRangeException(nameof(requested), requested, "unknown KV cache type."),
    };

    /// <summary>Keys of one sequence and layer, transposed: <c>[heads, headDim, Stride]</c>, as stored elements <typeparamref name="T"/>.</summary>
    internal Span<T> Keys<T>(int sequence, int layer) => ((T[])_keys).AsSpan(_keysOrigin + (sequence * Layers + layer) * _layerSize, _layerSize);

    /// <summary>Values of one sequence and layer, <c>[heads, Stride, headDim]</c>, as stored elements <typeparamref name="T"/>.</summary>
    internal Span<T> Values<T>(int sequence, int layer) => ((T[])_values).AsSpan(_valuesOrigin + (sequence * Layers + layer) * _layerSize, _layerSize);

    /// <summary>
    /// Stores positions <c>[position, position + count)</c> of one sequence and layer, narrowing each element to
    /// <typeparamref name="TElement"/>: row <c>t</c> of <paramref name="keys"/> and <paramref name="values"/> starts at
    /// <c>t · rowStride</c> and holds <c>heads · headDim</c> floats, head-major (a slice of the fused q|k|v projection).
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    internal void Write<T, TElement>(int sequence, int layer, int position, ReadOnlySpan<float> keys, ReadOnlySpan<float> values, int rowStride, int count)
        where T : unmanaged
        where TElement : struct, IKvElement<T>
    {
        if (typeof(T) == typeof(ushort))
        {
            WriteBFloat16(sequence, layer, position, keys, values, rowStride, count);
            return;
        }
        int width = Heads * HeadDim;
        Span<T> kCache = Keys<T>(sequence, layer);                         // [heads, hd, stride] (transposed)
        Span<T> vCache = Values<T>(sequence, layer);                       // [heads, stride, hd]
        // Keys go in transposed, 16 positions × 16 dimensions at a time so the writes stay within a few cache lines.
        for (int t0 = 0; t0 < count; t0 += 16)
        {
            int t1 = Math.Min(count, t0 + 16);
            for (int c = 0; c < width; c += 16)                            // c = head · hd + d
                for (int e = c; e < Math.Min(width, c + 16); e++)
                {
                    Span<T> dst = kCache.Slice(e * Stride + position, count);
                    for (int t = t0; t < t1; t++) dst[t] = TElement.FromSingle(keys[t * rowStride + e]);
                }
        }
        for (int t = 0; t < count; t++)
            for (int head = 0; head < Heads; head++)
            {
                ReadOnlySpan<float> src = values.Slice(t * rowStride + head * HeadDim, HeadDim);
                Span<T> dst = vCache.Slice((head * Stride + position + t) * HeadDim, HeadDim);
                for (int d = 0; d < src.Length; d++) dst[d] = TElement.FromSingle(src[d]);
            }
    }

    /// <summary>
    /// <see cref="Write{T, TElement}"/> into a bfloat16 cache, the same bits (<see cref="MatMul.RoundToBFloat16(ReadOnlySpan{float}, Span{ushort})"/> rounds
    /// as <see cref="KvBFloat16.FromSingle"/>) with the rounding vectorized: 16 positions' keys rounded row by row, then
    /// stored transposed; each head's values rounded straight into place.
    /// </summary>
    private void WriteBFloat16(int sequence, int layer, int position, ReadOnlySpan<float> keys, ReadOnlySpan<float> values, int rowStride, int count)
    {
        int width = Heads * HeadDim;
        Span<ushort> kCache = Keys<ushort>(sequence, layer);               // [heads, hd, stride] (transposed)
        Span<ushort> vCache = Values<ushort>(sequence, layer);             // [heads, stride, hd]
        ushort[] rounded = System.Buffers.ArrayPool<ushort>.Shared.Rent(16 * width);
        try
        {
            for (int t0 = 0; t0 < count; t0 += 16)
            {
                int block = Math.Min(16, count - t0);
                for (int t = 0; t < block; t++) MatMul.RoundToBFloat16(keys.Slice((t0 + t) * rowStride, width), rounded.AsSpan(t * width, width));
                for (int e = 0; e < width; e++)
                {
                    Span<ushort> dst = kCache.Slice(e * Stride + position + t0, block);
                    for (int t = 0; t < block; t++) dst[t] = rounded[t * width + e];
                }
            }
        }
        finally
        {
            System.Buffers.ArrayPool<ushort>.Shared.Return(rounded);
        }
        for (int t = 0; t < count; t++)
            for (int head = 0; head < Heads; head++)
                MatMul.RoundToBFloat16(values.Slice(t * rowStride + head * HeadDim, HeadDim), vCache.Slice((head * Stride + position + t) * HeadDim, HeadDim));
    }

    /// <summary>Copies the cached keys of one sequence and layer out as float32 <c>[heads, Length, headDim]</c> (Transformers' layout).</summary>
    public float[] ExportKeys(int sequence, int layer) => Export(sequence, layer, keys: true);

    /// <summary>Copies the cached values of one sequence and layer out as float32 <c>[heads, Length, headDim]</c>.</summary>
    public float[] ExportValues(int sequence, int layer) => Export(sequence, layer, keys: false);

    private float[] Export(int sequence, int layer, bool keys) => Type == KvCacheType.Float32
        ? Export<float, KvFloat32>(keys ? Keys<float>(sequence, layer) : Values<float>(sequence, layer), keys)
        : Export<ushort, KvBFloat16>(keys ? Keys<ushort>(sequence, layer) : Values<ushort>(sequence, layer), keys);

    /// <summary>Widens positions <c>[0, Length)</c> of one layer's keys (stored transposed) or values to <c>[heads, Length, headDim]</c>.</summary>
    private float[] Export<T, TElement>(ReadOnlySpan<T> src, bool transposed)
        where T : unmanaged
        where TElement : struct, IKvElement<T>
    {
        var result = new float[Heads * Length * HeadDim];
        for (int h = 0; h < Heads; h++)
            for (int t = 0; t < Length; t++)
                for (int d = 0; d < HeadDim; d++)
                    result[(h * Length + t) * HeadDim + d] = TElement.ToSingle(src[transposed ? (h * HeadDim + d) * Stride + t : (h * Stride + t) * HeadDim + d]);
        return result;
    }
}
