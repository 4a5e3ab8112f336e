using BarkSharp.Generation;

namespace BarkSharp.Cli;

/// <summary>The report printed after a generation: tokens, time and ms/token per stage, total time and real-time factor.</summary>
internal static class Statistics
{
    public static async Task WriteAsync(TextWriter output, BarkTimings t, BarkGenerationOptions options, int samples)
    {
        await StageTableAsync(output, t, options);
        string batch = samples > 1 ? $" (batch of {samples}, longest sample)" : "";
        await output.WriteLineAsync($"total {t.Total.TotalSeconds:F2} s for {t.AudioSeconds:F2} s of audio{batch}: real-time factor {t.RealTimeFactor:F2} (below 1 is faster than real time)");
    }

    /// <summary>A long text's report: one line per segment, the stage table summed over the batches, and time to first audio.</summary>
    public static async Task WriteLongFormAsync(TextWriter output, IReadOnlyList<Speech.AudioChunk> chunks, TimeSpan total, BarkGenerationOptions options)
    {
        if (chunks.Count > 1)
        {
            await output.WriteLineAsync($"{"segment",-8}{"audio",9}{"tokens",8}{"batch",6}{"ready",9}  text");
            foreach (Speech.AudioChunk c in chunks)
            {
                string text = c.Text.ReplaceLineEndings(" ");
                if (text.Length > 48) text = text[..47] + "…";
                await output.WriteLineAsync($"{c.SegmentIndex,-8}{c.EndSeconds - c.StartSeconds,7:F2} s{c.SemanticTokens,8}{c.BatchSize,6}{c.Elapsed.TotalSeconds,7:F2} s  {text}");
            }
        }
        // Each batch's times are shared by its segments: count every batch once.
        BarkTimings[] batches = chunks.Select(c => c.Timings).Distinct().ToArray();
        var sum = new BarkTimings(
            TimeSpan.FromTicks(batches.Sum(b => b.Semantic.Ticks)), batches.Sum(b => b.SemanticTokens),
            TimeSpan.FromTicks(batches.Sum(b => b.Coarse.Ticks)), batches.Sum(b => b.CoarseTokens),
            TimeSpan.FromTicks(batches.Sum(b => b.Fine.Ticks)), batches.Sum(b => b.FineFrames),
            TimeSpan.FromTicks(batches.Sum(b => b.Codec.Ticks)), chunks.Sum(c => c.Samples.Length) / (double)chunks[0].SampleRate);
        await StageTableAsync(output, sum, options);
        double rtf = sum.AudioSeconds > 0 ? total.TotalSeconds / sum.AudioSeconds : double.NaN;
        await output.WriteLineAsync($"total {total.TotalSeconds:F2} s for {sum.AudioSeconds:F2} s of audio: real-time factor {rtf:F2} (below 1 is faster than real time); " +
                                    $"first audio after {chunks[0].Elapsed.TotalSeconds:F2} s");
    }

    /// <summary>How the run sampled, then tokens, time and ms/token of each stage.</summary>
    private static async Task StageTableAsync(TextWriter output, BarkTimings t, BarkGenerationOptions options)
    {
        await output.WriteLineAsync(options.DoSample == false
            ? "greedy decoding (no sampling)"
            : $"seed {options.Seed} (pass --seed {options.Seed} to reproduce)");
        await output.WriteLineAsync($"{"stage",-10}{"tokens",8}{"time",11}{"ms/token",10}");
        await Row(output, "semantic", t.SemanticTokens, "", t.Semantic);
        await Row(output, "coarse", t.CoarseTokens, "", t.Coarse);
        await Row(output, "fine", t.FineFrames, " fr", t.Fine);
        await Row(output, "codec", t.FineFrames, " fr", t.Codec);
    }

    private static Task Row(TextWriter output, string stage, int tokens, string unit, TimeSpan time) =>
        output.WriteLineAsync($"{stage,-10}{tokens + unit,8}{time.TotalSeconds,9:F2} s{(tokens > 0 ? (time.TotalMilliseconds / tokens).ToString("F2", System.Globalization.CultureInfo.InvariantCulture) : "-"),10}");
}
