using System.Text.Json;
using BarkSharp.Configuration;
using BarkSharp.Diagnostics;
using BarkSharp.Generation;
using BarkSharp.Tensors;

namespace BarkSharp.Tests.Diagnostics;

public class BenchmarkTests
{
    /// <summary>bark-small's vocabularies and windows with one narrow layer per model: the workloads run in seconds.</summary>
    internal static BarkConfig Narrow
    {
        get
        {
            BarkConfig small = BarkConfig.BarkSmall;
            return small with
            {
                SemanticConfig = small.SemanticConfig with { HiddenSize = 32, NumHeads = 2, NumLayers = 1 },
                CoarseAcousticsConfig = small.CoarseAcousticsConfig with { HiddenSize = 32, NumHeads = 2, NumLayers = 1 },
                FineAcousticsConfig = small.FineAcousticsConfig with { HiddenSize = 32, NumHeads = 2, NumLayers = 1 },
                CodecConfig = small.CodecConfig with { NumFilters = 2, HiddenSize = 16, CodebookDim = 16 },
            };
        }
    }

    /// <summary>The workload runs end to end (on narrow shapes here) and reports every stage in the documented JSON shape.</summary>
    [Theory]
    [InlineData(WeightType.Float32)]
    [InlineData(WeightType.Int8)]
    public void Workload_reports_every_stage_as_documented(WeightType weights)
    {
        BenchmarkReport report = BarkBenchmark.Run(new BenchmarkOptions { ConfigOverride = Narrow, SkipProbe = true, Threads = 2, Weights = weights });
        using JsonDocument doc = JsonDocument.Parse(report.ToJson());
        JsonElement root = doc.RootElement;
        Assert.Equal(BarkBenchmark.ShortName(weights), root.GetProperty("weights").GetString());
        Assert.Equal(weights == WeightType.Float32 ? "f32" : "bf16", root.GetProperty("kv_cache").GetString());      // auto follows the weights
        Assert.Equal(5.13, root.GetProperty("audio_seconds").GetDouble());
        JsonElement stages = root.GetProperty("stages");
        Assert.Equal(["semantic_prefill", "semantic_decode", "coarse_prefill", "coarse_decode", "fine", "codec"], stages.EnumerateObject().Select(p => p.Name).ToArray());
        Assert.Equal(257, stages.GetProperty("semantic_prefill").GetProperty("tokens").GetInt32());
        Assert.Equal(256, stages.GetProperty("semantic_decode").GetProperty("tokens").GetInt32());
        Assert.True(stages.GetProperty("semantic_decode").TryGetProperty("gbs", out _));
        Assert.True(stages.GetProperty("fine").TryGetProperty("gflops", out _));
        // 770 coarse tokens: one prefill per 60-token window (13 windows), the rest are cached decode steps.
        Assert.Equal(770 - 13, stages.GetProperty("coarse_decode").GetProperty("tokens").GetInt32());
        // Window w's prefill: 256 semantic tokens, the infer token and min(630, 60·w) coarse tokens of history.
        Assert.Equal(Enumerable.Range(0, 13).Sum(w => 257 + Math.Min(630, 60 * w)), stages.GetProperty("coarse_prefill").GetProperty("tokens").GetInt32());
        Assert.Equal(6 * 1024, stages.GetProperty("fine").GetProperty("tokens").GetInt32());
        Assert.Equal(385, stages.GetProperty("codec").GetProperty("tokens").GetInt32());
        Assert.True(root.GetProperty("rtf").GetDouble() > 0);
        Assert.True(root.GetProperty("peak_rss_mb").GetDouble() > 0);
        string table = BarkSharp.Cli.Commands.BenchCommand.FormatTable(report);
        Assert.Contains("real-time factor", table);
        Assert.Contains($"{BarkBenchmark.ShortName(weights)} weights, {root.GetProperty("kv_cache").GetString()} KV cache", table);
    }

    [Fact]
    public void Limit_seconds_sum_each_stage_at_its_bound()
    {
        var stages = new Dictionary<string, StageReport>
        {
            ["fine"] = new(2.0, 10, 200, 50, null, 0.5),
            ["semantic_decode"] = new(1.0, 10, 100, null, 40, 1.2),      // a noisy probe can exceed 1: capped
        };
        var report = new BenchmarkReport(new MachineReport("cpu", 100, 30), "f32", "f32", 1, 1, "bark-small", stages, 3.5, 5.13, 0.68, 100);
        Assert.Equal(2.0 * 0.5 + 1.0, report.LimitSeconds);
        Assert.Contains("1.75×", BarkSharp.Cli.Commands.BenchCommand.FormatTable(report));
        var unprobed = report with { Stages = new Dictionary<string, StageReport> { ["fine"] = new(2.0, 10, 200, 50, null, null) } };
        Assert.Null(unprobed.LimitSeconds);
    }

    [Fact]
    public void Weight_and_cache_type_names_parse_and_unknown_ones_fail_clearly()
    {
        Assert.Equal(KvCacheType.BFloat16, BarkBenchmark.ParseKvCacheType("BF16"));
        Assert.Equal(KvCacheType.Auto, BarkBenchmark.ParseKvCacheType("auto"));
        Assert.Contains("f8", Assert.Throws<BarkInputException>(() => BarkBenchmark.ParseKvCacheType("f8")).Message);
        Assert.Equal(WeightType.BFloat16, BarkBenchmark.ParseWeightType("bf16"));
        Assert.Equal(WeightType.Int8, BarkBenchmark.ParseWeightType("INT8"));
        var e = Assert.Throws<BarkInputException>(() => BarkBenchmark.ParseWeightType("q4"));
        Assert.Contains("q4", e.Message);
    }
}
