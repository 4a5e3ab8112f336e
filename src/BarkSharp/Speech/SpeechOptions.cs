using BarkSharp.Generation;

namespace BarkSharp.Speech;

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

/// <summary>One segment's audio, as <see cref="SpeechGenerator.StreamAsync"/> yields it.</summary>
public sealed class AudioChunk
{
    internal AudioChunk(TextSegment segment, int segmentCount, float[] samples, int gapSamples, int sampleRate, long startSample,
        SegmentOutput output, TimeSpan elapsed)
    {
        SegmentIndex = segment.Index;
        SegmentCount = segmentCount;
        Text = segment.Text;
        StartChar = segment.Start;
        EndChar = segment.End;
        InputTokens = segment.TokenCount;
        Samples = samples;
        GapSamples = gapSamples;
        SampleRate = sampleRate;
        StartSample = startSample;
        SemanticTokens = output.SemanticTokens.Length;
        BatchSize = output.BatchSize;
        Timings = output.Timings;
        Elapsed = elapsed;
        Output = output;
    }

    /// <summary>The segment's index.</summary>
    public int SegmentIndex { get; }

    /// <summary>Segments of the whole text.</summary>
    public int SegmentCount { get; }

    /// <summary>True for the last segment.</summary>
    public bool IsLast => SegmentIndex == SegmentCount - 1;

    /// <summary>The text this chunk speaks.</summary>
    public string Text { get; }

    /// <summary>Index of the segment's first character in the whole text.</summary>
    public int StartChar { get; }

    /// <summary>Index just past the segment's last character.</summary>
    public int EndChar { get; }

    /// <summary>The segment's tokens (the processor's).</summary>
    public int InputTokens { get; }

    /// <summary>
    /// Mono samples at <see cref="SampleRate"/>: the silence between this segment and the previous one
    /// (<see cref="GapSamples"/>, none before the first), then the segment's audio with faded edges. Concatenating
    /// the chunks gives the whole audio.
    /// </summary>
    public float[] Samples { get; }

    /// <summary>Leading silence samples in <see cref="Samples"/>.</summary>
    public int GapSamples { get; }

    /// <summary>Samples per second (24000).</summary>
    public int SampleRate { get; }

    /// <summary>Position of <see cref="Samples"/>' first sample in the whole audio.</summary>
    public long StartSample { get; }

    /// <summary>Where the segment's speech starts in the whole audio, in seconds (after its gap).</summary>
    public double StartSeconds => (StartSample + GapSamples) / (double)SampleRate;

    /// <summary>Where this chunk ends in the whole audio, in seconds.</summary>
    public double EndSeconds => (StartSample + Samples.Length) / (double)SampleRate;

    /// <summary>Semantic tokens the segment produced (before the end token).</summary>
    public int SemanticTokens { get; }

    /// <summary>Segments in the batch that generated this one.</summary>
    public int BatchSize { get; }

    /// <summary>Stage times of that batch.</summary>
    public BarkTimings Timings { get; }

    /// <summary>Time from the start of the call until this chunk was ready.</summary>
    public TimeSpan Elapsed { get; }

    /// <summary>The segment's tokens and raw audio (before gap and fades).</summary>
    public SegmentOutput Output { get; }
}

/// <summary>A whole text's audio, from <see cref="SpeechGenerator.GenerateAsync"/>.</summary>
public sealed class SpeechResult
{
    internal SpeechResult(float[] audio, int sampleRate, IReadOnlyList<AudioChunk> segments, TimeSpan elapsed)
    {
        Audio = audio;
        SampleRate = sampleRate;
        Segments = segments;
        Elapsed = elapsed;
    }

    /// <summary>The joined audio (the chunks' samples, concatenated).</summary>
    public float[] Audio { get; }

    /// <summary>Samples per second (24000).</summary>
    public int SampleRate { get; }

    /// <summary>The segments in order, each with its text, span, timing and samples.</summary>
    public IReadOnlyList<AudioChunk> Segments { get; }

    /// <summary>Time until the first segment's audio was ready.</summary>
    public TimeSpan TimeToFirstAudio => Segments.Count == 0 ? TimeSpan.Zero : Segments[0].Elapsed;

    /// <summary>Wall time of the whole call.</summary>
    public TimeSpan Elapsed { get; }

    /// <summary>Seconds of audio.</summary>
    public double AudioSeconds => Audio.Length / (double)SampleRate;

    /// <summary>Wall time over audio time (below 1 is faster than real time).</summary>
    public double RealTimeFactor => AudioSeconds > 0 ? Elapsed.TotalSeconds / AudioSeconds : double.NaN;
}

/// <summary>Progress of a long text: which segments are running, and their stage.</summary>
/// <param name="Segments">Indices of the segments in the running batch.</param>
/// <param name="SegmentCount">Segments of the whole text.</param>
/// <param name="Stage">The stage's progress.</param>
public readonly record struct SpeechProgress(IReadOnlyList<int> Segments, int SegmentCount, BarkProgress Stage);
