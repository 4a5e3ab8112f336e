using System.Text.Json;
using BarkSharp.Diagnostics;
using BarkSharp.Tensors;
using BarkSharp.Tensors.Jit;

namespace BarkSharp.Tests.Diagnostics;

/// <summary>
/// Runs in <see cref="Tensors.JitSwitchCollection"/>, alone: one test switches <see cref="JitKernels.Enabled"/>, which
/// every int8 and bf16 product of a test running beside it would see.
/// </summary>
[Collection(nameof(Tensors.JitSwitchCollection))]
public class LongFormBenchmarkTests
{
    /// <summary>The long-form workload runs (narrow shapes, short segments) and both passes speak the same text into the same audio length.</summary>
    [Fact]
    public void Long_form_workload_reports_both_runs()
    {
        LongFormReport report = LongFormBenchmark.Run(new LongFormBenchmarkOptions { ConfigOverride = BenchmarkTests.Narrow, Threads = 2, SegmentSeconds = 0.2, MaxBatchSize = 4 });
        Assert.Equal(2, report.Runs.Count);
        Assert.Equal([1, 4], report.Runs.Select(r => r.MaxBatchSize));
        Assert.All(report.Runs, r => Assert.True(r.Segments >= 10, $"{r.Segments} segments"));
        Assert.Equal(report.Runs[0].AudioSeconds, report.Runs[1].AudioSeconds);          // same seed, same audio whatever the batching
        Assert.All(report.Runs, r => Assert.True(r.TtfaSeconds > 0 && r.TtfaSeconds <= r.TotalSeconds));
        Assert.All(report.Runs, r => Assert.Equal(r.Segments, r.ReadySeconds.Length));
        Assert.Equal(10, report.SemanticTokens);
        using JsonDocument json = JsonDocument.Parse(report.ToJson());
        Assert.Equal(2, json.RootElement.GetProperty("runs").GetArrayLength());
        Assert.Contains("batched / one by one", report.ToTable());
    }

    /// <summary><c>bark bench --long-form --no-jit-kernels</c>: the option reaches the long-form workload and switches the generated kernels off.</summary>
    [Fact]
    public void Long_form_without_jit_kernels_switches_them_off()
    {
        bool was = JitKernels.Enabled;
        try
        {
            JitKernels.Enabled = true;
            LongFormReport report = LongFormBenchmark.Run(new LongFormBenchmarkOptions
            {
                ConfigOverride = BenchmarkTests.Narrow,
                Threads = 1,
                SegmentSeconds = 0.2,
                MaxBatchSize = 2,
                Weights = WeightType.Int8,
                UseJitKernels = false,
            });
            Assert.False(JitKernels.Enabled);
            Assert.Equal(report.Runs[0].AudioSeconds, report.Runs[1].AudioSeconds);
        }
        finally
        {
            JitKernels.Enabled = was;
        }
    }
}
