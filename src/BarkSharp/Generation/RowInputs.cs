namespace BarkSharp.Generation;

/// <summary>
/// A value for every row of a batch: either one value shared by all rows (what <see cref="BarkModel.Generate"/>
/// passes: one voice for the batch) or a value of each row's own (segments of different requests batched together).
/// </summary>
internal readonly struct PerRow<T>
{
    private readonly T _shared;
    private readonly IReadOnlyList<T>? _rows;

    /// <summary>A value of each row's own.</summary>
    public PerRow(IReadOnlyList<T> rows)
    {
        _shared = default!;
        _rows = rows;
    }

    private PerRow(T shared)
    {
        _shared = shared;
        _rows = null;
    }

    /// <summary>The value of row <paramref name="row"/>.</summary>
    public T this[int row] => _rows is null ? _shared : _rows[row];

    /// <summary>One value for every row.</summary>
    public static implicit operator PerRow<T>(T shared) => new(shared);
}

/// <summary>
/// Where each row's random stream comes from: a generation seed (row <c>b</c> gets stream <c>b</c> of it, see
/// <see cref="BarkRandom.ForSequence"/>), or an explicit stream seed per row, so that a row draws the same numbers
/// whatever batch it is in.
/// </summary>
internal readonly struct RandomStreams
{
    private readonly ulong _seed;
    private readonly IReadOnlyList<ulong>? _rows;

    private RandomStreams(ulong seed, IReadOnlyList<ulong>? rows)
    {
        _seed = seed;
        _rows = rows;
    }

    /// <summary>Row <c>b</c> draws stream <c>b</c> of <paramref name="seed"/>.</summary>
    public static implicit operator RandomStreams(ulong seed) => new(seed, null);

    /// <summary>Row <c>b</c> draws from <c>new BarkRandom(streamSeeds[b])</c>.</summary>
    public static RandomStreams PerRow(IReadOnlyList<ulong> streamSeeds) => new(0, streamSeeds);

    /// <summary>A fresh random source for row <paramref name="row"/> (each stage starts its rows' streams anew).</summary>
    public BarkRandom For(int row) => _rows is null ? BarkRandom.ForSequence(_seed, row) : new BarkRandom(_rows[row]);

    /// <summary>Fresh sources for rows <c>0..batch−1</c>.</summary>
    public BarkRandom[] ForRows(int batch) => Enumerable.Range(0, batch).Select(For).ToArray();
}
