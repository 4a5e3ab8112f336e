using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using BarkSharp.Configuration;
using BarkSharp.Generation;
using BarkSharp.Speech;

namespace BarkSharp.Diagnostics;

/// <summary>What <see cref="LongFormBenchmark.Run"/> measures.</summary>
internal sealed record LongFormBenchmarkOptions
{
    /// <summary><c>bark-small</c> (default) or <c>bark</c>: the real shapes, random weights.</summary>
    public string Shape { get; init; } = "bark-small";

    /// <summary>Threads for the kernels (default: processor count).</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>Storage type of the blocks' weights.</summary>
    public Tensors.WeightType Weights { get; init; } = Tensors.WeightType.Float32;

    /// <summary>Seconds of speech each segment stands for (default 5: 250 semantic tokens, 12 segments make a minute).</summary>
    public double SegmentSeconds { get; init; } = 5;

    /// <summary>Segments of the batched run (default 4).</summary>
    public int MaxBatchSize { get; init; } = 4;

    /// <summary>
    /// Run the generated int8/bf16 kernels where the CPU supports them (default true); false switches them off for
    /// the process (<c>--no-jit-kernels</c>), as <see cref="BarkModelOptions.UseJitKernels"/> does.
    /// </summary>
    public bool UseJitKernels { get; init; } = true;

    /// <summary>Shapes to use instead of <see cref="Shape"/> (tests run the workload on a small model).</summary>
    internal BarkConfig? ConfigOverride { get; init; }
}

/// <summary>
/// Long-form speech on random weights of the real shapes: a text of twelve sentences (about a minute of speech at
/// the default five seconds a segment) spoken in one voice through <see cref="SpeechGenerator"/>, once segment by
/// segment and once in batches, in the same process: time to first audio, total time, real-time factor, peak RSS.
/// </summary>
/// <remarks>
/// Random weights never choose the end token, so every segment runs to the semantic token count its
/// <see cref="LongFormBenchmarkOptions.SegmentSeconds"/> gives (49.9 tokens a second), and the coarse and fine stages
/// follow from it as in real speech. The voice is a random prompt of realistic length (six seconds), so the coarse
/// stage carries its full 630-token history. The tokenizer is a small one made for the text: the ids differ from
/// the real vocabulary's, but the semantic stage reads its 256 text positions either way.
/// </remarks>
internal static class LongFormBenchmark
{
    /// <summary>The benchmark's text: twelve sentences of ordinary English.</summary>
    public const string Text =
        "The morning train left the station a few minutes late. Most of the passengers were still half asleep. " +
        "A woman near the window was reading an old paperback novel. Outside, the fields were covered in a thin layer of frost. " +
        "The conductor walked slowly down the aisle, checking tickets. Somewhere behind me, a child was laughing at a cartoon. " +
        "I tried to remember whether I had locked the front door. The coffee from the platform kiosk had already gone cold. " +
        "After an hour the sun finally broke through the clouds. We crossed a wide river and entered the hills. " +
        "My phone buzzed with a message from an old friend. By noon we had reached the city, and the day really began.";

    /// <summary>Runs the workload: a warm-up, then segment by segment, then batched.</summary>
    public static LongFormReport Run(LongFormBenchmarkOptions options, IProgress<string>? log = null, CancellationToken cancellationToken = default)
    {
        BarkConfig config = options.ConfigOverride ?? BarkBenchmark.ShapeConfig(options.Shape);
        string folder = Directory.CreateTempSubdirectory("bark-longform-").FullName;
        try
        {
            File.WriteAllLines(Path.Combine(folder, "vocab.txt"), Vocabulary(Text));
            BarkProcessor processor = BarkProcessor.FromPretrained(folder);
            log?.Report("building random weights…");
            if (!options.UseJitKernels) Tensors.Jit.JitKernels.Enabled = false;
            using BarkModel model = BarkModel.CreateRandom(config, 11, weightType: options.Weights);
            model.MaxThreads = Math.Max(1, options.Threads);
            var random = new Random(5);
            int voiceFrames = 450;                                        // six seconds of codec frames
            VoicePreset voice = VoicePreset.FromArrays(
                Enumerable.Range(0, 300).Select(_ => (long)random.Next(10_000)).ToArray(),
                Enumerable.Range(0, 2).Select(_ => Enumerable.Range(0, voiceFrames).Select(_ => (long)random.Next(1024)).ToArray()).ToArray(),
                Enumerable.Range(0, 8).Select(_ => Enumerable.Range(0, voiceFrames).Select(_ => (long)random.Next(1024)).ToArray()).ToArray());
            int semanticTokens = Math.Max(1, (int)Math.Round(options.SegmentSeconds * 49.9));
            SpeechOptions Speech(int batch, int tokens) => new()
            {
                Voice = voice,
                MaxBatchSize = batch,
                Segmentation = new TextSegmenterOptions { MaxTokens = 16 },          // one sentence a segment
                // min_eos_p 1 never fires: every segment speaks its full token count.
                Generation = new BarkGenerationOptions { Seed = 3, MinEosP = 1, Semantic = new StageOptions { MaxNewTokens = tokens } },
            };

            using var speech = new SpeechGenerator(model, processor);
            log?.Report("warm-up…");
            Measure(speech, "Warm up. Two segments.", Speech(2, 8), cancellationToken);
            var runs = new List<LongFormRun>();
            foreach (int batch in new[] { 1, Math.Max(1, options.MaxBatchSize) })
            {
                log?.Report(batch == 1 ? "segment by segment…" : $"batches of {batch}…");
                runs.Add(Measure(speech, Text, Speech(batch, semanticTokens), cancellationToken));
            }
            return new LongFormReport(MachineProbe.CpuName(), options.Shape, BarkBenchmark.ShortName(options.Weights), model.MaxThreads,
                options.SegmentSeconds, semanticTokens, runs, Process.GetCurrentProcess().PeakWorkingSet64 / 1e6);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static LongFormRun Measure(SpeechGenerator speech, string text, SpeechOptions options, CancellationToken cancellationToken)
    {
        SpeechResult result = speech.GenerateAsync(text, options, cancellationToken: cancellationToken).GetAwaiter().GetResult();
        return new LongFormRun(options.MaxBatchSize, result.Segments.Count, result.TimeToFirstAudio.TotalSeconds, result.Elapsed.TotalSeconds,
            result.AudioSeconds, result.RealTimeFactor, result.Segments.Select(s => Math.Round(s.Elapsed.TotalSeconds, 3)).ToArray());
    }

    /// <summary>A WordPiece vocabulary that covers <paramref name="text"/>: the special tokens, its words and its punctuation.</summary>
    private static IEnumerable<string> Vocabulary(string text) =>
        new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" }
            .Concat(text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(w => w.Trim('.', ',')).Distinct(StringComparer.Ordinal))
            .Concat([".", ","]);
}

/// <summary>One pass over the text.</summary>
/// <param name="MaxBatchSize">Segments per batch (1: one by one).</param>
/// <param name="Segments">Segments of the text.</param>
/// <param name="TtfaSeconds">Time to the first segment's audio.</param>
/// <param name="TotalSeconds">Time to the last.</param>
/// <param name="AudioSeconds">Seconds of audio, gaps included.</param>
/// <param name="Rtf">Total time over audio time.</param>
/// <param name="ReadySeconds">When each segment's audio was ready.</param>
internal sealed record LongFormRun(
    [property: JsonPropertyName("max_batch")] int MaxBatchSize,
    [property: JsonPropertyName("segments")] int Segments,
    [property: JsonPropertyName("ttfa_seconds")] double TtfaSeconds,
    [property: JsonPropertyName("total_seconds")] double TotalSeconds,
    [property: JsonPropertyName("audio_seconds")] double AudioSeconds,
    [property: JsonPropertyName("rtf")] double Rtf,
    [property: JsonPropertyName("ready_seconds")] double[] ReadySeconds);

/// <summary>The long-form benchmark's results.</summary>
/// <param name="Cpu">The processor.</param>
/// <param name="Shape">Model shapes.</param>
/// <param name="Weights">Block weight storage.</param>
/// <param name="Threads">Kernel threads.</param>
/// <param name="SegmentSeconds">Speech per segment.</param>
/// <param name="SemanticTokens">Semantic tokens per segment.</param>
/// <param name="Runs">Segment by segment, then batched.</param>
/// <param name="PeakRssMb">Peak resident memory of the process.</param>
internal sealed record LongFormReport(
    [property: JsonPropertyName("cpu")] string Cpu,
    [property: JsonPropertyName("shape")] string Shape,
    [property: JsonPropertyName("weights")] string Weights,
    [property: JsonPropertyName("threads")] int Threads,
    [property: JsonPropertyName("segment_seconds")] double SegmentSeconds,
    [property: JsonPropertyName("semantic_tokens_per_segment")] int SemanticTokens,
    [property: JsonPropertyName("runs")] IReadOnlyList<LongFormRun> Runs,
    [property: JsonPropertyName("peak_rss_mb")] double PeakRssMb)
{
    /// <summary>The report as indented JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, new JsonSerializerOptions { WriteIndented = true });

    /// <summary>The report as a table.</summary>
    public string ToTable()
    {
        var c = System.Globalization.CultureInfo.InvariantCulture;
        var lines = new List<string>
        {
            $"{Cpu}: {Shape}, {Weights} weights, {Threads} threads; {Runs[0].Segments} segments of {SegmentSeconds:F1} s ({SemanticTokens} semantic tokens each)",
            "run              first audio      total      audio     RTF",
        };
        foreach (LongFormRun r in Runs)
            lines.Add(string.Create(c, $"{(r.MaxBatchSize == 1 ? "one by one" : $"batches of {r.MaxBatchSize}"),-15}{r.TtfaSeconds,10:F2} s{r.TotalSeconds,9:F2} s{r.AudioSeconds,9:F2} s{r.Rtf,8:F2}"));
        if (Runs.Count == 2)
            lines.Add(string.Create(c, $"batched / one by one: total {Runs[1].TotalSeconds / Runs[0].TotalSeconds:F2}×, first audio {Runs[1].TtfaSeconds / Runs[0].TtfaSeconds:F2}×; peak RSS {PeakRssMb:F0} MB"));
        return string.Join(Environment.NewLine, lines);
    }
}
