using BarkSharp.Generation;

namespace BarkSharp.Speech;

/// <summary>
/// One piece of text to speak as one Bark generation, with its own voice and random stream — a row of
/// <see cref="BarkModel.GenerateSegments"/>. Rows of one batch may have different voices and seeds.
/// </summary>
/// <param name="TextIds">The text's WordPiece ids as <see cref="BarkProcessor"/> produces them (no padding); the semantic model reads the first 256.</param>
/// <param name="Voice">The history prompt this segment continues, or null for none.</param>
/// <param name="Seed">The seed of the request the segment belongs to.</param>
/// <param name="Stream">The segment's random stream of that seed (its index in the request): the same seed and stream give the same audio in any batch.</param>
public sealed record SegmentRequest(IReadOnlyList<int> TextIds, VoicePreset? Voice, ulong Seed, int Stream)
{
    /// <summary>The seed of this row's random streams (<see cref="BarkRandom.StreamSeed"/> of <see cref="Seed"/> and <see cref="Stream"/>).</summary>
    internal ulong StreamSeed => BarkRandom.StreamSeed(Seed, Stream);
}

/// <summary>What one segment produced: its audio and every stage's tokens, trimmed to the segment's own length.</summary>
public sealed class SegmentOutput
{
    internal SegmentOutput(float[] audio, int sampleRate, int[] semanticTokens, int[][] codes, BarkTimings timings, int batchSize)
    {
        Audio = audio;
        SampleRate = sampleRate;
        SemanticTokens = semanticTokens;
        Codes = codes;
        Timings = timings;
        BatchSize = batchSize;
    }

    /// <summary>Mono waveform at <see cref="SampleRate"/> Hz.</summary>
    public float[] Audio { get; }

    /// <summary>Samples per second (24000).</summary>
    public int SampleRate { get; }

    /// <summary>Semantic tokens before the end token.</summary>
    public int[] SemanticTokens { get; }

    /// <summary>EnCodec codes <c>[codebook 0..7][frame]</c>.</summary>
    public int[][] Codes { get; }

    /// <summary>Frames of codec audio (75 per second).</summary>
    public int Frames => Codes.Length == 0 ? 0 : Codes[0].Length;

    /// <summary>Time of each stage of the batch this segment ran in (shared by the batch's rows).</summary>
    public BarkTimings Timings { get; }

    /// <summary>Rows in the semantic batch this segment ran in.</summary>
    public int BatchSize { get; }

    /// <summary>
    /// The segment as a voice prompt (suno's <c>save_as_prompt</c> layout), or null when it produced no audio: what
    /// the next segment continues from in <see cref="VoiceMode.Chained"/> mode.
    /// </summary>
    public VoicePreset? ToVoicePreset() => Frames == 0 || SemanticTokens.Length == 0
        ? null
        : VoicePreset.FromArrays(SemanticTokens.Select(t => (long)t).ToArray(),
            Codes.Take(2).Select(r => r.Select(c => (long)c).ToArray()).ToArray(),
            Codes.Select(r => r.Select(c => (long)c).ToArray()).ToArray());
}
