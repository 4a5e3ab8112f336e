using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using BarkSharp.Cli;
using BarkSharp.Tests.Infrastructure;

namespace BarkSharp.Tests.Server;

public partial class ServeCommandTests
{
    [GeneratedRegex(@"listening on (http://127\.0\.0\.1:\d+)")]
    private static partial Regex Listening();

    [Fact]
    public async Task Bark_serve_listens_on_loopback_with_keys_from_options_and_environment_and_stops_on_cancel()
    {
        string voices = Fixtures.TempDir();
        var output = new StringWriter();
        var error = new StringWriter();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var env = new Dictionary<string, string?> { ["BARK_API_KEYS"] = "env-key, other" };
        Task<int> run = Program.RunAsync(["serve", "--model", Fixtures.TinyBark, "--port", "0", "--api-key", "cli-key", "--voices-dir", voices,
            "--max-semantic-tokens", "8", "--queue", "3", "--threads", "1"], TextWriter.Synchronized(output), TextWriter.Synchronized(error), null, env.GetValueOrDefault, cancellationToken: stop.Token);
        try
        {
            Uri? address = null;
            for (int i = 0; i < 600 && address is null && !run.IsCompleted; i++)
            {
                Match m = Listening().Match(output.ToString());
                if (m.Success) address = new Uri(m.Groups[1].Value);
                else await Task.Delay(50);
            }
            Assert.True(address is not null, $"no address printed; stdout: {output}\nstderr: {error}");
            using var http = new HttpClient { BaseAddress = address };
            for (int i = 0; i < 600 && (await http.GetAsync("/health/ready")).StatusCode != HttpStatusCode.OK; i++) await Task.Delay(50);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/ready")).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/v1/models")).StatusCode);
            foreach (string key in new[] { "cli-key", "env-key", "other" })
            {
                var request = new HttpRequestMessage(HttpMethod.Get, "/v1/models");
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
                Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(request)).StatusCode);
            }
        }
        finally
        {
            stop.Cancel();
            Assert.Equal(0, await run.WaitAsync(TimeSpan.FromSeconds(30)));
            Directory.Delete(voices, true);
        }
    }

    [Fact]
    public async Task Bad_settings_are_usage_errors()
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = await Program.RunAsync(["serve", "--model", Fixtures.TinyBark, "--port", "0", "--max-batch", "0"], output, error);
        Assert.Equal(2, code);
        Assert.Contains("MaxBatch", error.ToString());
    }
}

public class ServerConfigurationTests
{
    [Fact]
    public async Task Settings_come_from_aspnet_configuration_and_the_voice_table_keeps_its_defaults()
    {
        await using Microsoft.AspNetCore.Builder.WebApplication app = BarkSharp.Server.BarkServerHost.Build(
            ["--Bark:MaxBatch=7", "--Bark:QueueSize=3", "--Bark:VoiceMap:ALLOY=v2/en_speaker_0", "--Bark:ApiKeys:0=k", "--Bark:RequestTimeout=00:00:42"],
            "http://127.0.0.1:0", o => o.Model = Fixtures.TinyBark);
        var options = ((Microsoft.Extensions.Options.IOptions<BarkSharp.Server.BarkServerOptions>)app.Services.GetService(typeof(Microsoft.Extensions.Options.IOptions<BarkSharp.Server.BarkServerOptions>))!).Value;
        Assert.Equal(7, options.MaxBatch);
        Assert.Equal(3, options.QueueSize);
        Assert.Equal(["k"], options.ApiKeys);
        Assert.Equal(TimeSpan.FromSeconds(42), options.RequestTimeout);
        Assert.Equal("v2/en_speaker_0", options.VoiceMap["alloy"]);
        Assert.Equal("v2/en_speaker_1", options.VoiceMap["Ash"]);
        Assert.Equal(11, options.VoiceMap.Count);
        Assert.Equal("tiny-bark", options.ResolvedModelId);
    }
}

public class ServerBenchmarkTests
{
    [Fact]
    public async Task The_benchmark_measures_every_round_over_http()
    {
        IReadOnlyList<BarkSharp.Server.ServerBenchmarkRow> rows = await BarkSharp.Server.ServerBenchmark.RunAsync(new BarkSharp.Server.ServerBenchmarkOptions
        {
            ConfigOverride = TinyBark.Config,
            Weights = BarkSharp.Tensors.WeightType.Float32,
            Threads = 1,
            MaxBatch = 2,
            Clients = [1, 2],
            RequestsPerClient = 1,
            SemanticTokens = 4,
        });
        Assert.Equal([(1, 1), (1, 2), (2, 1), (2, 2)], rows.Select(r => (r.MaxBatch, r.Clients)));
        Assert.All(rows, r =>
        {
            Assert.Equal(r.Clients, r.Requests);
            Assert.True(r.AudioSeconds > 0 && r.Throughput > 0);
            Assert.InRange(r.TtfaP50, 0, r.WallSeconds);
            Assert.True(r.TtfaP95 >= r.TtfaP50);
        });
        Assert.All(rows.Where(r => r.MaxBatch == 1), r => Assert.Equal(1, r.LargestBatch));
        Assert.Contains("| max batch | clients |", BarkSharp.Server.ServerBenchmark.ToTable(rows));
    }
}
