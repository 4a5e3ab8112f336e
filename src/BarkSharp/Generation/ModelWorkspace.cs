namespace BarkSharp.Generation;

/// <summary>
/// Activation buffers of one model forward, grown to the largest <c>rows</c> seen and then reused, so repeated
/// decode steps allocate nothing. Not thread-safe: one workspace per concurrent forward.
/// </summary>
internal sealed class ModelWorkspace
{
    private readonly int _hidden;
    private readonly int _heads;
    private int _rows;
    private int _positions;

    /// <summary>Creates an empty workspace for a model of width <paramref name="hidden"/>.</summary>
    public ModelWorkspace(int hidden, int heads)
    {
        _hidden = hidden;
        _heads = heads;
    }

    internal float[] Input { get; private set; } = [];

    internal float[] Hidden { get; private set; } = [];

    internal float[] Normed { get; private set; } = [];

    internal float[] Qkv { get; private set; } = [];

    internal float[] AttnOut { get; private set; } = [];

    internal float[] Proj { get; private set; } = [];

    internal float[] Mlp { get; private set; } = [];

    internal float[] Scores { get; private set; } = [];

    internal float[] KeyMask { get; private set; } = [];

    private KvCache? _scratchCache;

    /// <summary>A one-layer cache of exactly <paramref name="capacity"/> positions for non-causal forwards, reused across calls.</summary>
    internal KvCache LayerScratchCache(int batch, int heads, int headDim, int capacity, KvCacheType type = KvCacheType.Float32)
    {
        if (_scratchCache is null || _scratchCache.Batch != batch || _scratchCache.Capacity != capacity || _scratchCache.Type != type)
            _scratchCache = new KvCache(batch, 1, heads, headDim, capacity, type);
        return _scratchCache;
    }

    /// <summary>Makes sure buffers hold <paramref name="rows"/> token rows attending over <paramref name="positions"/> keys for <paramref name="batch"/> sequences.</summary>
    internal void Ensure(int rows, int positions, int batch)
    {
        if (rows > _rows)
        {
            _rows = rows;
            Input = new float[rows * _hidden];
            Hidden = new float[rows * _hidden];
            Normed = new float[rows * _hidden];
            Qkv = new float[rows * 3 * _hidden];
            AttnOut = new float[rows * _hidden];
            Proj = new float[rows * _hidden];
            Mlp = new float[rows * 4 * _hidden];
        }
        if (positions > _positions || KeyMask.Length < batch * positions)
        {
            _positions = Math.Max(positions, _positions);
            Scores = new float[Tensors.Attention.ScratchSize(_heads, _positions)];
            KeyMask = new float[batch * _positions];
        }
    }
}
