using BarkSharp.Speech;

namespace BarkSharp;

/// <summary>How the segments of a long text keep one voice.</summary>
public enum VoiceMode
{
    /// <summary>
    /// Every segment continues the same voice prompt (the given voice, or without one the first segment's own
    /// generation). Segments do not depend on each other, so they are generated in batches. Each segment starts
    /// afresh from the voice, so delivery (pace, loudness, mood) can vary a little between segments.
    /// </summary>
    Fixed,

    /// <summary>
    /// Each segment continues from the previous segment's generation (its semantic, coarse and fine tokens), as suno's
    /// long-form notebook does: transitions are smoother and the delivery flows on, but the voice can drift over many
    /// segments (set <see cref="SpeechOptions.ChainResetInterval"/> to go back to the original voice every N segments),
    /// and segments run one after another.
    /// </summary>
    Chained,
}
