using BarkSharp.Generation;

namespace BarkSharp.Speech;

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
