using BarkSharp.Speech;

namespace BarkSharp;

/// <summary>Settings of <see cref="TextSegmenter"/>.</summary>
public sealed record TextSegmenterOptions
{
    /// <summary>
    /// Most tokens (the processor's own WordPiece tokens) a segment may have; default 40. Bark speaks at most 768
    /// semantic tokens per generation (49.9 per second: 15.4 s); 40 tokens are about 30 English words or 40 Chinese
    /// characters, 8–11 s of speech, so a segment ends well before the semantic stage's limit.
    /// </summary>
    public int MaxTokens { get; init; } = 40;

    /// <summary>Keep paragraphs (text separated by a blank line) in separate segments even when they would fit together; default true.</summary>
    public bool KeepParagraphs { get; init; } = true;

    internal void Validate()
    {
        if (MaxTokens is < 1 or > BarkProcessor.SemanticTextLength)
            throw new BarkInputException($"the segment budget must be between 1 and {BarkProcessor.SemanticTextLength} tokens, not {MaxTokens}.");
    }
}
