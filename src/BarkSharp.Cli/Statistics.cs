using BarkSharp.Generation;

namespace BarkSharp.Cli;

/// <summary>The report printed after a generation: tokens, time and ms/token per stage, total time and real-time factor.</summary>
internal static class Statistics
{
    public static async Task WriteAsync(TextWriter output, BarkTimings t, BarkGenerationOptions options, int samples)
    {
        await output.WriteLineAsync(options.DoSample == false
            ? "greedy decoding (no sampling)"
            : $"seed {options.Seed} (pass --seed {options.Seed} to reproduce)");
        await output.WriteLineAsync($"{"stage",-10}{"tokens",8}{"time",11}{"ms/token",10}");
        await Row(output, "semantic", t.SemanticTokens, "", t.Semantic);
        await Row(output, "coarse", t.CoarseTokens, "", t.Coarse);
        await Row(output, "fine", t.FineFrames, " fr", t.Fine);
        await Row(output, "codec", t.FineFrames, " fr", t.Codec);
        string batch = samples > 1 ? $" (batch of {samples}, longest sample)" : "";
        await output.WriteLineAsync($"total {t.Total.TotalSeconds:F2} s for {t.AudioSeconds:F2} s of audio{batch}: real-time factor {t.RealTimeFactor:F2} (below 1 is faster than real time)");
    }

    private static Task Row(TextWriter output, string stage, int tokens, string unit, TimeSpan time) =>
        output.WriteLineAsync($"{stage,-10}{tokens + unit,8}{time.TotalSeconds,9:F2} s{(tokens > 0 ? (time.TotalMilliseconds / tokens).ToString("F2", System.Globalization.CultureInfo.InvariantCulture) : "-"),10}");
}
