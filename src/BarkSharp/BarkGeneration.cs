using BarkSharp.Generation;

namespace BarkSharp;

/// <summary>
/// What <see cref="BarkModel.Generate"/> produced for a batch: audio per sample (each trimmed to its own length,
/// as Transformers' <c>return_output_lengths=True</c> decodes it) and the tokens of every stage.
/// </summary>
public sealed class BarkGeneration
{
    internal BarkGeneration(float[][] audio, int sampleRate, SemanticResult semantic, AudioCodes coarseCodes, AudioCodes fineCodes, BarkTimings timings)
    {
        Audio = audio;
        SampleRate = sampleRate;
        SemanticTokens = semantic.Tokens;
        SemanticLengths = semantic.Lengths;
        CoarseCodes = coarseCodes;
        FineCodes = fineCodes;
        Timings = timings;
    }

    /// <summary>Waveform per sample, mono float in about [−1, 1], <see cref="SampleRate"/> Hz.</summary>
    public float[][] Audio { get; }

    /// <summary>Samples per second (24000).</summary>
    public int SampleRate { get; }

    /// <summary>Samples of each waveform (Transformers' <c>output_lengths</c>).</summary>
    public int[] OutputLengths => Audio.Select(a => a.Length).ToArray();

    /// <summary>Semantic tokens per sample as Transformers returns them: the end token 10000 and padding included.</summary>
    public int[][] SemanticTokens { get; }

    /// <summary>Semantic tokens of each sample before its end token.</summary>
    public int[] SemanticLengths { get; }

    /// <summary>The coarse stage's codes: codebooks 0 and 1, <c>[sample][codebook][frame]</c>, with each sample's frames.</summary>
    public AudioCodes CoarseCodes { get; }

    /// <summary>The fine stage's codes: all eight codebooks, <c>[sample][codebook][frame]</c>, with each sample's frames; what the codec decoded.</summary>
    public AudioCodes FineCodes { get; }

    /// <summary>Codec frames of each sample (75 per second): <see cref="FineCodes"/>' frames.</summary>
    public int[] Frames => FineCodes.Frames;

    /// <summary>Time and token counts per stage.</summary>
    public BarkTimings Timings { get; }

    /// <summary>
    /// Sample <paramref name="index"/> as a voice prompt (Suno's <c>save_as_prompt</c> layout): its semantic tokens
    /// before the end token, and its coarse (first two codebooks) and fine codes for its own frames.
    /// </summary>
    /// <exception cref="BarkInputException">The sample is empty (no semantic tokens), which no voice prompt can be.</exception>
    public VoicePreset ToVoicePreset(int index)
    {
        long[] semantic = SemanticTokens[index].Take(SemanticLengths[index]).Select(t => (long)t).ToArray();
        int frames = Frames[index];
        if (semantic.Length == 0 || frames == 0)
            throw new BarkInputException($"sample {index} has no semantic tokens or no frames (the semantic stage ended at once), so it cannot serve as a voice prompt.");
        long[][] fine = FineCodes.Codes[index].Select(cb => cb.Take(frames).Select(c => (long)c).ToArray()).ToArray();
        return VoicePreset.FromArrays(semantic, fine.Take(2).Select(r => r.ToArray()).ToArray(), fine);
    }
}

/// <summary>Wall time and work of each stage of one generation.</summary>
/// <param name="Semantic">Semantic stage time.</param>
/// <param name="SemanticTokens">Semantic decode steps.</param>
/// <param name="Coarse">Coarse stage time.</param>
/// <param name="CoarseTokens">Coarse decode steps.</param>
/// <param name="Fine">Fine stage time.</param>
/// <param name="FineFrames">Frames the fine stage filled (per sample).</param>
/// <param name="Codec">Codec decode time.</param>
/// <param name="AudioSeconds">Seconds of audio produced (longest sample).</param>
public sealed record BarkTimings(TimeSpan Semantic, int SemanticTokens, TimeSpan Coarse, int CoarseTokens, TimeSpan Fine, int FineFrames, TimeSpan Codec, double AudioSeconds)
{
    /// <summary>Total wall time.</summary>
    public TimeSpan Total => Semantic + Coarse + Fine + Codec;

    /// <summary>Wall time over audio duration (below 1 is faster than real time).</summary>
    public double RealTimeFactor => AudioSeconds > 0 ? Total.TotalSeconds / AudioSeconds : double.NaN;
}
