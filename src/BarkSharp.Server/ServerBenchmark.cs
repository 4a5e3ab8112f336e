using System.Diagnostics;
using System.Text;
using System.Text.Json;
using BarkSharp.Configuration;
using BarkSharp.Tensors;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace BarkSharp.Server;

/// <summary>What <see cref="ServerBenchmark.RunAsync"/> measures.</summary>
internal sealed record ServerBenchmarkOptions
{
    /// <summary><c>bark-small</c> (default) or <c>bark</c>: the real shapes, random weights.</summary>
    public string Shape { get; init; } = "bark-small";

    /// <summary>Weight storage type (default int8, the fastest).</summary>
    public WeightType Weights { get; init; } = WeightType.Int8;

    /// <summary>Kernel threads.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>The batched server's <see cref="BarkServerOptions.MaxBatch"/> (the unbatched one has 1). Default 8.</summary>
    public int MaxBatch { get; init; } = 8;

    /// <summary>Concurrent clients of each round. Default 1, 2, 4, 8.</summary>
    public IReadOnlyList<int> Clients { get; init; } = [1, 2, 4, 8];

    /// <summary>Requests each client sends, one after another. Default 2.</summary>
    public int RequestsPerClient { get; init; } = 2;

    /// <summary>
    /// Run the generated int8/bf16 kernels where the CPU supports them (default true); false switches them off for
    /// the process (<c>--no-jit-kernels</c>), as <see cref="BarkModelOptions.UseJitKernels"/> does.
    /// </summary>
    public bool UseJitKernels { get; init; } = true;

    /// <summary>A configuration to use instead of <see cref="Shape"/> (tests use a tiny one).</summary>
    internal BarkConfig? ConfigOverride { get; init; }

    /// <summary>Semantic tokens of every request (min_eos_p 1, so each speaks exactly this many; 50 ≈ 1 s of audio). Default 50.</summary>
    public int SemanticTokens { get; init; } = 50;
}

/// <summary>One round: some clients against one server configuration.</summary>
/// <param name="MaxBatch">The server's max batch (1: unbatched).</param>
/// <param name="Clients">Concurrent clients.</param>
/// <param name="Requests">Requests answered.</param>
/// <param name="WallSeconds">Time of the round.</param>
/// <param name="AudioSeconds">Audio received, all requests.</param>
/// <param name="TtfaP50">Median time to the first audio byte, seconds.</param>
/// <param name="TtfaP95">95th percentile of the time to the first audio byte, seconds.</param>
/// <param name="LargestBatch">The most segments one batch held so far on this server.</param>
internal sealed record ServerBenchmarkRow(int MaxBatch, int Clients, int Requests, double WallSeconds, double AudioSeconds, double TtfaP50, double TtfaP95, long LargestBatch)
{
    /// <summary>Audio seconds per wall second.</summary>
    public double Throughput => AudioSeconds / WallSeconds;
}

/// <summary>
/// Load on the speech server over real HTTP: a random-weight model of the real shapes behind a server on 127.0.0.1,
/// unbatched (max batch 1) and batched, with 1, 2, 4 and 8 concurrent clients streaming PCM; reports throughput (audio
/// seconds per wall second) and time to first audio. What <c>bark serve --benchmark</c> prints.
/// </summary>
internal static class ServerBenchmark
{
    private const string Text = "The quick brown fox jumps over the lazy dog near the river bank today";

    /// <summary>Runs the rounds and returns one row per server configuration and client count.</summary>
    public static async Task<IReadOnlyList<ServerBenchmarkRow>> RunAsync(ServerBenchmarkOptions options, IProgress<string>? log = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        BarkConfig config = options.ConfigOverride ?? options.Shape switch
        {
            "bark-small" => BarkConfig.BarkSmall,
            "bark" or "bark-large" => BarkConfig.BarkLarge,
            _ => throw new BarkInputException($"unknown shape '{options.Shape}': use bark-small or bark."),
        };
        string folder = Directory.CreateTempSubdirectory("bark-serve-bench-").FullName;
        try
        {
            string modelFolder = Directory.CreateDirectory(Path.Combine(folder, "model")).FullName;
            string voices = Directory.CreateDirectory(Path.Combine(folder, "voices")).FullName;
            File.WriteAllLines(Path.Combine(modelFolder, "vocab.txt"),
                new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "." }.Concat(Text.Split(' ').Distinct(StringComparer.Ordinal)).Concat(Enumerable.Range(0, 100).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))));
            BarkProcessor processor = BarkProcessor.FromPretrained(modelFolder);
            log?.Report($"building random {options.Shape} weights ({options.Weights})…");
            if (!options.UseJitKernels) Tensors.Jit.JitKernels.Enabled = false;
            using BarkModel model = BarkModel.CreateRandom(config, 11, weightType: options.Weights);
            model.MaxThreads = Math.Max(1, options.Threads);
            var random = new Random(5);
            const int voiceFrames = 450;   // six seconds of codec frames, like a real preset
            VoicePreset.FromArrays(
                Enumerable.Range(0, 300).Select(_ => (long)random.Next(10_000)).ToArray(),
                Enumerable.Range(0, 2).Select(_ => Enumerable.Range(0, voiceFrames).Select(_ => (long)random.Next(1024)).ToArray()).ToArray(),
                Enumerable.Range(0, 8).Select(_ => Enumerable.Range(0, voiceFrames).Select(_ => (long)random.Next(1024)).ToArray()).ToArray())
                .SaveNpz(Path.Combine(voices, "voice_bench.npz"));

            var rows = new List<ServerBenchmarkRow>();
            foreach (int maxBatch in new[] { 1, Math.Max(2, options.MaxBatch) })
            {
                WebApplication app = BarkServerHost.Build([], "http://127.0.0.1:0", o =>
                {
                    o.Model = modelFolder;
                    o.VoicesDirectory = voices;
                    o.MaxBatch = maxBatch;
                    o.QueueSize = 256;
                    o.MaxSemanticTokens = options.SemanticTokens;
                    o.RequestTimeout = TimeSpan.FromHours(1);
                }, b => b.Logging.ClearProviders());
                await using (app)
                {
                    ServerMetrics metrics = app.Services.GetRequiredService<ServerMetrics>();
                    app.Services.GetRequiredService<ModelHost>().EngineFactory = (_, _) =>
                        Task.FromResult<ISpeechEngine>(new SpeechGeneratorEngine(model, processor, maxBatch, metrics, NullLogger.Instance, ownsModel: false));
                    await app.StartAsync(cancellationToken);
                    // a SIGTERM stops the hosted server: end the benchmark as cancelled rather than with its 503s
                    using var stopping = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, app.Lifetime.ApplicationStopping);
                    CancellationToken token = stopping.Token;
                    string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
                    using var http = new HttpClient { BaseAddress = new Uri(address), Timeout = Timeout.InfiniteTimeSpan };
                    log?.Report($"max batch {maxBatch}: warm-up…");
                    while (!(await http.GetAsync("/health/ready", token)).IsSuccessStatusCode) await Task.Delay(50, token);
                    await RoundAsync(http, 1, 1, options, token);
                    foreach (int clients in options.Clients)
                    {
                        log?.Report($"max batch {maxBatch}: {clients} client(s)…");
                        (double wall, double audio, List<double> ttfa) = await RoundAsync(http, clients, options.RequestsPerClient, options, token);
                        ttfa.Sort();
                        rows.Add(new ServerBenchmarkRow(maxBatch, clients, ttfa.Count, wall, audio, Percentile(ttfa, 0.5), Percentile(ttfa, 0.95), metrics.LargestBatch));
                    }
                    await app.StopAsync(CancellationToken.None);
                }
            }
            return rows;
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static double Percentile(List<double> sorted, double p) => sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];

    private static async Task<(double Wall, double Audio, List<double> Ttfa)> RoundAsync(HttpClient http, int clients, int requests, ServerBenchmarkOptions options, CancellationToken cancellationToken)
    {
        var ttfa = new List<double>();
        long bytes = 0;
        var wall = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(async client =>
        {
            for (int r = 0; r < requests; r++)
            {
                var clock = Stopwatch.StartNew();
                string json = JsonSerializer.Serialize(new Dictionary<string, object>
                {
                    ["input"] = $"{Text} {client * 10 + r}.",
                    ["voice"] = "voice_bench",
                    ["seed"] = client * 1000 + r,
                    ["min_eos_p"] = 1.0,
                    ["response_format"] = "pcm",
                    ["stream_format"] = "audio",
                });
                using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/audio/speech") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
                using HttpResponseMessage response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
                cancellationToken.ThrowIfCancellationRequested();
                if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"the server answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken)}");
                await using Stream body = await response.Content.ReadAsStreamAsync(cancellationToken);
                byte[] buffer = new byte[64 * 1024];
                long total = 0;
                int n;
                bool first = true;
                while ((n = await body.ReadAsync(buffer, cancellationToken)) > 0)
                {
                    if (first)
                    {
                        first = false;
                        lock (ttfa) ttfa.Add(clock.Elapsed.TotalSeconds);
                    }
                    total += n;
                }
                Interlocked.Add(ref bytes, total);
            }
        }));
        return (wall.Elapsed.TotalSeconds, bytes / 2 / 24_000.0, ttfa);
    }

    /// <summary>The rows as a Markdown table.</summary>
    public static string ToTable(IReadOnlyList<ServerBenchmarkRow> rows)
    {
        var s = new StringBuilder();
        s.AppendLine("| max batch | clients | requests | wall s | audio s | audio s / wall s | first audio p50 | p95 | largest batch |");
        s.AppendLine("|---|---|---|---|---|---|---|---|---|");
        foreach (ServerBenchmarkRow r in rows)
            s.AppendLine(System.Globalization.CultureInfo.InvariantCulture,
                $"| {r.MaxBatch} | {r.Clients} | {r.Requests} | {r.WallSeconds:F1} | {r.AudioSeconds:F1} | {r.Throughput:F2} | {r.TtfaP50:F2} s | {r.TtfaP95:F2} s | {r.LargestBatch} |");
        return s.ToString();
    }
}
