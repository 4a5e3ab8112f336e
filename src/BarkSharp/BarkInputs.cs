namespace BarkSharp;

/// <summary>
/// What <see cref="BarkProcessor"/> produces for the model: Transformers' <c>input_ids</c>, <c>attention_mask</c> and
/// <c>history_prompt</c>, plus per-text token counts and truncation flags.
/// </summary>
/// <remarks>
/// Ids are raw WordPiece ids (the semantic model adds its text offset itself), padded on the right with the pad id 0
/// (mask 0). All rows have the same length: <see cref="BarkProcessorOptions.MaxLength"/> (256), or more when a text is
/// longer and truncation is off (Transformers keeps such a text whole; in a batch BarkSharp pads the other rows to it,
/// where Transformers fails to build the tensor). A single text that yields no ids at all (empty or whitespace-only) is
/// not padded, exactly as in Transformers: <see cref="InputIds"/> is then one row of length 0.
/// </remarks>
public sealed class BarkInputs
{
    internal BarkInputs(long[][] inputIds, long[][] attentionMask, VoicePreset? historyPrompt, int[] tokenCounts, bool[] truncated)
    {
        InputIds = inputIds;
        AttentionMask = attentionMask;
        HistoryPrompt = historyPrompt;
        TokenCounts = tokenCounts;
        Truncated = truncated;
    }

    /// <summary>Token ids, [batch][length].</summary>
    public long[][] InputIds { get; }

    /// <summary>1 for a real token, 0 for padding, [batch][length].</summary>
    public long[][] AttentionMask { get; }

    /// <summary>The voice preset for the whole batch, or null for none.</summary>
    public VoicePreset? HistoryPrompt { get; }

    /// <summary>Per text, the number of ids it produced before any truncation (special tokens included when added).</summary>
    public IReadOnlyList<int> TokenCounts { get; }

    /// <summary>
    /// Per text, whether some of its ids will not reach the model: cut by the processor (<see cref="BarkProcessorOptions.Truncation"/>)
    /// or beyond the <see cref="BarkProcessor.SemanticTextLength"/> text positions the semantic model reads.
    /// </summary>
    public IReadOnlyList<bool> Truncated { get; }

    /// <summary>Number of texts.</summary>
    public int BatchSize => InputIds.Length;

    /// <summary>Length of every row.</summary>
    public int SequenceLength => InputIds.Length == 0 ? 0 : InputIds[0].Length;

    /// <summary>True when any text is <see cref="Truncated"/>.</summary>
    public bool AnyTruncated => Truncated.Any(t => t);
}
