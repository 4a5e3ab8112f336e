using System.CommandLine;
using System.Globalization;
using BarkSharp.Diagnostics;

namespace BarkSharp.Cli.Commands;

/// <summary><c>bark bench</c>: the fixed Bark workload on random weights of the real shapes, timed per stage.</summary>
internal static class BenchCommand
{
    public static Command Create(CliContext context)
    {
        var shape = new Option<string>("--shape") { Description = "Model shapes: bark-small or bark.", DefaultValueFactory = _ => "bark-small" };
        shape.AcceptOnlyFromAmong("bark-small", "bark");
        var weights = new Option<string>("--weights") { Description = "Block weight storage: f32, bf16, f16 or int8.", DefaultValueFactory = _ => "f32" };
        weights.AcceptOnlyFromAmong("f32", "bf16", "f16", "int8");
        var noJit = new Option<bool>("--no-jit-kernels") { Description = "Run the managed kernels only, not the machine code generated for int8/bf16 weights (as BARKSHARP_JIT=0)." };
        var kvCache = new Option<string>("--kv-cache") { Description = "KV cache storage: auto (f32 with f32 weights, else bf16), f32 or bf16.", DefaultValueFactory = _ => "auto" };
        kvCache.AcceptOnlyFromAmong("auto", "f32", "bf16");
        var threads = NumberOption.Whole("--threads", "Kernel threads (default: all cores).", 1, 4096);
        var batch = NumberOption.Whole("--batch", "Sequences generated together (default 1; with --long-form, segments per batch, default 4).", 1, 1024);
        var json = new Option<bool>("--json") { Description = "Print the report as JSON." };
        var longForm = new Option<bool>("--long-form")
        {
            Description = "Instead: speak a twelve-sentence text (about a minute of speech) through the long-form generator, segment by segment " +
                          "and then batched; reports time to first audio, total, real-time factor and peak RSS.",
        };
        var segmentSeconds = NumberOption.Real("--segment-seconds", "With --long-form: seconds of speech per segment (default 5).", 0.1, 15, "S");
        var command = new Command("bench", "Time every stage on random weights of the real shapes (no download): semantic 257-position prefill (text + history, as generation) + " +
            "256 decode steps, coarse 770 tokens in 60-token windows, one fine window, codec for 5.13 s of audio.")
        {
            shape, weights, kvCache, threads, batch, json, longForm, segmentSeconds, noJit,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            int t = result.GetValue(threads) ?? Environment.ProcessorCount, b = result.GetValue(batch) ?? 1;
            var log = new Progress<string>(line => context.Error.WriteLine("bench: " + line));
            if (result.GetValue(longForm))
            {
                var longOptions = new LongFormBenchmarkOptions
                {
                    Shape = result.GetValue(shape)!,
                    Weights = BarkBenchmark.ParseWeightType(result.GetValue(weights)!),
                    Threads = t,
                    MaxBatchSize = result.GetValue(batch) ?? 4,
                    SegmentSeconds = result.GetValue(segmentSeconds) ?? 5,
                    UseJitKernels = !result.GetValue(noJit),
                };
                LongFormReport longReport = await Task.Run(() => LongFormBenchmark.Run(longOptions, log, cancellationToken), cancellationToken);
                await context.Out.WriteLineAsync(result.GetValue(json) ? longReport.ToJson() : longReport.ToTable());
                return ExitCodes.Success;
            }
            var options = new BenchmarkOptions
            {
                Shape = result.GetValue(shape)!,
                Weights = BarkBenchmark.ParseWeightType(result.GetValue(weights)!),
                KvCache = BarkBenchmark.ParseKvCacheType(result.GetValue(kvCache)!),
                Threads = t,
                Batch = b,
                UseJitKernels = !result.GetValue(noJit),
            };
            BenchmarkReport report = await Task.Run(() => BarkBenchmark.Run(options, log, cancellationToken), cancellationToken);
            await context.Out.WriteLineAsync(result.GetValue(json) ? report.ToJson() : FormatTable(report));
            return ExitCodes.Success;
        });
        return command;
    }

    internal static string FormatTable(BenchmarkReport r)
    {
        var c = CultureInfo.InvariantCulture;
        var lines = new List<string>
        {
            string.Create(c, $"{r.Machine.Cpu}: FMA peak {r.Machine.FmaGflops:F0} GFLOP/s{(r.Machine.Int8Gops is double int8 ? $", int8 dot {int8:F0} GOP/s" : "")}, read {r.Machine.ReadGBs:F1} GB/s ({r.Threads} threads)"),
            $"{r.Shape}, {r.Weights} weights, {r.KvCache} KV cache, batch {r.Batch}; {r.Machine.VectorPath}, generated kernels: {r.Machine.GeneratedKernels}",
            "stage               seconds   tokens   ms/token        rate   of limit",
        };
        foreach (var (name, s) in r.Stages)
        {
            string rate = s.Gflops is { } g ? string.Create(c, $"{g,7:F1} GFLOP/s") : string.Create(c, $"{s.Gbs,7:F1} GB/s   ");
            string fraction = s.Fraction is { } f ? string.Create(c, $"{f,8:P0}") : "       –";
            lines.Add(string.Create(c, $"{name,-18} {s.Seconds,8:F2} {s.Tokens,8} {s.MsPerToken,10:F2} {rate} {fraction}"));
        }
        lines.Add(string.Create(c, $"total {r.TotalSeconds:F2} s for {r.AudioSeconds:F2} s of audio: real-time factor {r.Rtf:F2}; peak RSS {r.PeakRssMb:F0} MB"));
        if (r.LimitSeconds is { } limit)
            lines.Add(string.Create(c, $"the stages at their machine limits would take {limit:F2} s: this run is {r.TotalSeconds / limit:F2}× that"));
        return string.Join(Environment.NewLine, lines);
    }
}
