namespace BarkSharp.Tensors;

/// <summary>Embedding lookup: copies (or adds) rows of a <c>[vocab, dim]</c> table.</summary>
internal static class Embedding
{
    /// <summary><c>dst[i] = table[ids[i]]</c> for each id; <paramref name="dst"/> is <c>[ids.Length, dim]</c>.</summary>
    /// <exception cref="BarkInputException">An id is outside <c>[0, vocab)</c>.</exception>
    public static void Lookup(ReadOnlySpan<float> table, int dim, ReadOnlySpan<int> ids, Span<float> dst, string tableName = "embedding") =>
        Apply(table, dim, ids, dst, tableName, add: false);

    /// <summary><c>dst[i] += table[ids[i]]</c> for each id.</summary>
    /// <exception cref="BarkInputException">An id is outside <c>[0, vocab)</c>.</exception>
    public static void Accumulate(ReadOnlySpan<float> table, int dim, ReadOnlySpan<int> ids, Span<float> dst, string tableName = "embedding") =>
        Apply(table, dim, ids, dst, tableName, add: true);

    private static void Apply(ReadOnlySpan<float> table, int dim, ReadOnlySpan<int> ids, Span<float> dst, string tableName, bool add)
    {
        int vocab = table.Length / dim;
        for (int i = 0; i < ids.Length; i++)
        {
            int id = ids[i];
            if ((uint)id >= (uint)vocab)
                throw new BarkInputException($"token id {id} at position {i} is outside the {tableName} vocabulary [0, {vocab}).");
            ReadOnlySpan<float> row = table.Slice(id * dim, dim);
            Span<float> d = dst.Slice(i * dim, dim);
            if (add) Simd.Add(d, row, d);
            else row.CopyTo(d);
        }
    }
}
