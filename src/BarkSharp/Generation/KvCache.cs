namespace BarkSharp.Generation;

/// <summary>
/// Keys and values of every layer of a causal model for a batch of sequences, preallocated for
/// <see cref="Capacity"/> positions. Per (sequence, layer) the keys are stored transposed, <c>[heads, headDim, Stride]</c>,
/// so attention scores 16 positions per vector instruction, and the values <c>[heads, Stride, headDim]</c>;
/// <see cref="Stride"/> is the capacity rounded up to an odd multiple of 16. All sequences of the batch share one
/// <see cref="Length"/>.
/// </summary>
public sealed class KvCache
{
    private readonly float[] _keys;
    private readonly float[] _values;
    private readonly int _layerSize;

    /// <summary>Allocates a cache.</summary>
    public KvCache(int batch, int layers, int heads, int headDim, int capacity)
    {
        if (batch <= 0 || layers <= 0 || heads <= 0 || headDim <= 0 || capacity <= 0)
            throw new ArgumentOutOfRangeException(nameof(capacity), "cache dimensions must be positive.");
        Batch = batch;
        Layers = layers;
        Heads = heads;
        HeadDim = headDim;
        Capacity = capacity;
        // An odd number of 64-byte lines between key rows spreads a head's rows over every L1 set; a power-of-two
        // stride such as 1024 (the fine model's window) maps them all to one set and costs a third of attention's speed.
        Stride = ((capacity + 15) / 16 | 1) * 16;
        _layerSize = heads * Stride * headDim;
        _keys = new float[(long)batch * layers * _layerSize];
        _values = new float[(long)batch * layers * _layerSize];
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

    /// <summary>Positions filled so far.</summary>
    public int Length { get; internal set; }

    /// <summary>Forgets every cached position (the buffers are kept).</summary>
    public void Reset() => Length = 0;

    /// <summary>Keys of one sequence and layer, transposed: <c>[heads, headDim, Stride]</c>.</summary>
    public Span<float> Keys(int sequence, int layer) => _keys.AsSpan((sequence * Layers + layer) * _layerSize, _layerSize);

    /// <summary>Values of one sequence and layer, <c>[heads, Stride, headDim]</c>.</summary>
    public Span<float> Values(int sequence, int layer) => _values.AsSpan((sequence * Layers + layer) * _layerSize, _layerSize);

    /// <summary>Copies the cached keys of one sequence and layer out as <c>[heads, Length, headDim]</c> (Transformers' layout).</summary>
    public float[] ExportKeys(int sequence, int layer)
    {
        ReadOnlySpan<float> src = Keys(sequence, layer);
        var result = new float[Heads * Length * HeadDim];
        for (int h = 0; h < Heads; h++)
            for (int t = 0; t < Length; t++)
                for (int d = 0; d < HeadDim; d++)
                    result[(h * Length + t) * HeadDim + d] = src[(h * HeadDim + d) * Stride + t];
        return result;
    }

    /// <summary>Copies the cached values of one sequence and layer out as <c>[heads, Length, headDim]</c>.</summary>
    public float[] ExportValues(int sequence, int layer)
    {
        ReadOnlySpan<float> src = Values(sequence, layer);
        var result = new float[Heads * Length * HeadDim];
        for (int h = 0; h < Heads; h++)
            src.Slice(h * Stride * HeadDim, Length * HeadDim).CopyTo(result.AsSpan(h * Length * HeadDim));
        return result;
    }
}
