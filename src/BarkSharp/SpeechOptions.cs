using BarkSharp.Generation;
using BarkSharp.Speech;

namespace BarkSharp;

/// <summary>How <see cref="SpeechGenerator"/> speaks a text of any length.</summary>
public sealed record SpeechOptions
{
    /// <summary>
    /// The min_eos_p each segment of a text of two or more segments uses when <see cref="BarkGenerationOptions.MinEosP"/>
    /// is not set: 0.05, the value of suno's long-form notebook. A segment is a sentence or two, and with only "stop when
    /// the end token wins" Bark tends to go on babbling after the text; a low threshold ends the segment once the end
    /// token becomes plausible. A text that fits one segment keeps the stock behaviour, so it is spoken exactly as
    /// <see cref="BarkModel.Generate"/> speaks it.
    /// </summary>
    public const double DefaultMinEosP = 0.05;

    /// <summary>The voice of every segment; null lets the first segment's generation become the voice of the rest.</summary>
    public VoicePreset? Voice { get; init; }

    /// <summary>How segments keep one voice (default <see cref="VoiceMode.Fixed"/>).</summary>
    public VoiceMode VoiceMode { get; init; } = VoiceMode.Fixed;

    /// <summary>In <see cref="VoiceMode.Chained"/> mode, go back to the original voice every this many segments (0: never).</summary>
    public int ChainResetInterval { get; init; }

    /// <summary>Silence between segments, in seconds (default 0.25).</summary>
    public double GapSeconds { get; init; } = 0.25;

    /// <summary>Fade-out and fade-in on both sides of each join between segments, in seconds (default 0.01), so joins do not click. The text's very start and end are not faded.</summary>
    public double FadeSeconds { get; init; } = 0.01;

    /// <summary>
    /// Most segments of this text generated in one batch (default 1: one after another, the next one generated while
    /// the current one is consumed). A batch shares each weight read of the decode steps, but Bark's time goes to the
    /// coarse windows' prefills and the fine passes, which are compute-bound; measured on bark-small's shapes (int8, 2
    /// threads, AMD EPYC without AVX-VNNI), batches of 4 took 1.3× as long as one by one, so batching is opt-in. The
    /// first segment always runs alone so that the first audio comes early.
    /// </summary>
    public int MaxBatchSize { get; init; } = 1;

    /// <summary>How the text is cut into segments.</summary>
    public TextSegmenterOptions Segmentation { get; init; } = new();

    /// <summary>
    /// Sampling options and the seed. Segment <c>i</c> draws from random stream <c>i</c> of the seed, so a seed gives
    /// the same audio whatever the batching and thread count. Without a <see cref="BarkGenerationOptions.MinEosP"/>,
    /// <see cref="DefaultMinEosP"/> applies.
    /// </summary>
    public BarkGenerationOptions Generation { get; init; } = new();

    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(Segmentation);
        ArgumentNullException.ThrowIfNull(Generation);
        Segmentation.Validate();
        if (!double.IsFinite(GapSeconds) || GapSeconds is < 0 or > 10)
            throw new BarkInputException($"the gap between segments must be between 0 and 10 seconds, not {GapSeconds}.");
        if (!double.IsFinite(FadeSeconds) || FadeSeconds is < 0 or > 1)
            throw new BarkInputException($"the fade at segment edges must be between 0 and 1 second, not {FadeSeconds}.");
        if (MaxBatchSize is < 1 or > 64) throw new BarkInputException($"the batch size must be between 1 and 64, not {MaxBatchSize}.");
        if (ChainResetInterval < 0) throw new BarkInputException($"the chain reset interval must be 0 (never) or positive, not {ChainResetInterval}.");
        if (!Enum.IsDefined(VoiceMode)) throw new BarkInputException($"unknown voice mode {VoiceMode}.");
    }

    /// <summary>The generation options segments run with: <see cref="DefaultMinEosP"/> filled in.</summary>
    internal BarkGenerationOptions SegmentOptions => Generation.MinEosP is null ? Generation with { MinEosP = DefaultMinEosP } : Generation;
}
