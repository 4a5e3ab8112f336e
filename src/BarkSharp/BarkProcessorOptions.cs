namespace BarkSharp;

/// <summary>
/// How <see cref="BarkProcessor"/> turns text into ids: the keyword arguments of Transformers' <c>BarkProcessor.__call__</c>,
/// with its defaults. Give them to <see cref="BarkProcessor.FromPretrained"/> as the processor's defaults, or to a
/// <c>Process</c> call to override them for that call.
/// </summary>
/// <remarks>
/// Padding is always Transformers' <c>padding="max_length"</c> on the right with the attention mask returned, because
/// <c>BarkProcessor</c> fixes both; <c>return_token_type_ids</c> (all zeros) and <c>pad_to_multiple_of</c> are not offered.
/// </remarks>
public sealed record BarkProcessorOptions
{
    /// <summary>The defaults (Transformers' <c>BarkProcessor.__call__</c>).</summary>
    public static BarkProcessorOptions Default { get; } = new();

    /// <summary>
    /// Rows are padded to this many ids (<c>max_length</c>, default 256: the text positions the semantic model reads).
    /// Without <see cref="Truncation"/> a longer text keeps all its ids, as in Transformers.
    /// </summary>
    public int MaxLength { get; init; } = 256;

    /// <summary>
    /// Cut texts longer than <see cref="MaxLength"/> ids (<c>truncation</c>, default false, as in Transformers: the
    /// semantic model then uses only the first 256 ids). Either way the result reports cut texts in
    /// <see cref="BarkInputs.Truncated"/> and the processor logs a warning.
    /// </summary>
    public bool Truncation { get; init; }

    /// <summary>
    /// Put <c>[CLS]</c> in front and <c>[SEP]</c> at the end (<c>add_special_tokens</c>, default false: Bark was trained
    /// without them).
    /// </summary>
    public bool AddSpecialTokens { get; init; }

    internal void Validate()
    {
        if (MaxLength < 1)
            throw new ArgumentOutOfRangeException(nameof(MaxLength), MaxLength, "MaxLength must be at least 1.");
        if (Truncation && AddSpecialTokens && MaxLength < 2)
            throw new ArgumentOutOfRangeException(nameof(MaxLength), MaxLength, "MaxLength must leave room for [CLS] and [SEP] when truncating with special tokens.");
    }
}
