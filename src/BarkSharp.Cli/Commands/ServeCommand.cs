using System.CommandLine;
using BarkSharp.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace BarkSharp.Cli.Commands;

/// <summary>
/// <c>bark serve</c>: the OpenAI-compatible speech server (<see cref="BarkServerHost"/>). Settings come from
/// appsettings.json and <c>Bark__*</c> environment variables (section <c>Bark</c>), then from these options;
/// <c>BARK_API_KEYS</c> (comma-separated) adds API keys.
/// </summary>
internal static class ServeCommand
{
    public static Command Create(CliContext context)
    {
        var model = new Option<string?>("--model", "-m") { Description = "Hub repository id or local model folder (default suno/bark-small, or Bark:Model).", HelpName = "REPO|FOLDER" };
        var host = new Option<string>("--host") { Description = "Address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 for every interface).", DefaultValueFactory = _ => "127.0.0.1", HelpName = "ADDRESS" };
        var port = new Option<int>("--port") { Description = "Port to listen on (0: any free port).", DefaultValueFactory = _ => 8000, HelpName = "N" };
        var apiKeys = new Option<string[]>("--api-key") { Description = "Require 'Authorization: Bearer KEY' on every endpoint but /health (repeatable; also BARK_API_KEYS=k1,k2).", HelpName = "KEY", AllowMultipleArgumentsPerToken = false };
        var maxBatch = new Option<int?>("--max-batch") { Description = "Requests generated at the same time (default 4).", HelpName = "N" };
        var queue = new Option<int?>("--queue") { Description = "Requests that may wait beyond --max-batch; more get 429 + Retry-After (default 16).", HelpName = "N" };
        var weights = new Option<string?>("--weights") { Description = "Store the transformer weights as f32, bf16, f16 or int8 (default: the checkpoint's type).", HelpName = "TYPE" };
        weights.AcceptOnlyFromAmong("f32", "bf16", "f16", "int8");
        var threads = new Option<int?>("--threads") { Description = "Kernel threads (default: all cores).", HelpName = "N" };
        var voicesDir = new Option<string?>("--voices-dir") { Description = "Folder of uploaded voices (default ./voices).", HelpName = "FOLDER" };
        var maxInput = new Option<int?>("--max-input") { Description = "Longest input in characters (default 4096).", HelpName = "N" };
        var timeout = new Option<double?>("--timeout") { Description = "Per-request deadline in seconds, queueing included (default 300).", HelpName = "SECONDS" };
        var noPlayground = new Option<bool>("--no-playground") { Description = "Do not serve the playground page at GET / (a page to try voices, stream speech and see stage timings)." };
        var maxSemantic = new Option<int?>("--max-semantic-tokens") { Description = "Cap the semantic tokens of every generation (about 50 per second of speech).", HelpName = "N" };
        var noJit = new Option<bool>("--no-jit-kernels") { Description = "Run the managed kernels only, not the machine code generated at load time for int8/bf16 weights (as BARKSHARP_JIT=0)." };
        var benchmark = new Option<bool>("--benchmark") { Description = "Instead of serving: measure the server under 1, 2, 4 and 8 concurrent clients, unbatched and batched (--max-batch, default 8), on random weights of the real shapes (--shape), and print a table." };
        var shape = new Option<string>("--shape") { Description = "With --benchmark: bark-small or bark.", DefaultValueFactory = _ => "bark-small", HelpName = "SHAPE" };
        shape.AcceptOnlyFromAmong("bark-small", "bark");
        var clients = new Option<string>("--clients") { Description = "With --benchmark: concurrent clients of each round.", DefaultValueFactory = _ => "1,2,4,8", HelpName = "N,N,…" };
        var requests = new Option<int>("--requests") { Description = "With --benchmark: requests per client in each round.", DefaultValueFactory = _ => 2, HelpName = "N" };

        var command = new Command("serve", "Serve speech over HTTP with OpenAI's API: POST /v1/audio/speech (wav, pcm, opus; audio or SSE streaming), /v1/models, /v1/audio/voices, /health/live, /health/ready, /metrics, and a playground page at /.\n" +
                                            "Example: bark serve --port 8000 --api-key secret")
        {
            model, host, port, apiKeys, maxBatch, queue, weights, threads, voicesDir, maxInput, timeout, maxSemantic, noPlayground, noJit, benchmark, shape, clients, requests,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            if (result.GetValue(benchmark))
            {
                int[] clientCounts;
                try
                {
                    clientCounts = [.. (result.GetValue(clients) ?? "1,2,4,8").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(c => int.Parse(c, System.Globalization.CultureInfo.InvariantCulture))];
                }
                catch (FormatException)
                {
                    throw new CliException(ExitCodes.Usage, "--clients takes numbers separated by commas, like 1,2,4,8.");
                }
                if (clientCounts.Length == 0 || clientCounts.Any(c => c is < 1 or > 256)) throw new CliException(ExitCodes.Usage, "--clients must list counts between 1 and 256.");
                if (result.GetValue(requests) is < 1) throw new CliException(ExitCodes.Usage, "--requests must be at least 1.");
                var bench = new ServerBenchmarkOptions
                {
                    Shape = result.GetValue(shape) ?? "bark-small",
                    Weights = result.GetValue(weights) is { } bw ? Diagnostics.BarkBenchmark.ParseWeightType(bw) : Tensors.WeightType.Int8,
                    Threads = result.GetValue(threads) ?? Environment.ProcessorCount,
                    MaxBatch = result.GetValue(maxBatch) ?? 8,
                    Clients = clientCounts,
                    RequestsPerClient = result.GetValue(requests),
                    SemanticTokens = result.GetValue(maxSemantic) ?? 50,
                    UseJitKernels = !result.GetValue(noJit),
                };
                var clock = System.Diagnostics.Stopwatch.StartNew();
                var progress = new Progress<string>(line => context.Error.WriteLine($"bark serve --benchmark [{clock.Elapsed.TotalSeconds,6:F1} s]: {line}"));
                IReadOnlyList<ServerBenchmarkRow> rows = await ServerBenchmark.RunAsync(bench, progress, cancellationToken);
                await context.Out.WriteLineAsync($"{bench.Shape} random weights, {Diagnostics.BarkBenchmark.ShortName(bench.Weights)}, {bench.Threads} threads, " +
                                                 $"{bench.SemanticTokens} semantic tokens per request ({bench.SemanticTokens / 49.9:F1} s of audio), {bench.RequestsPerClient} requests per client, streamed PCM, one voice prompt of 450 frames");
                await context.Out.WriteAsync(ServerBenchmark.ToTable(rows));
                return ExitCodes.Success;
            }
            int portValue = result.GetValue(port);
            if (portValue is < 0 or > 65535) throw new CliException(ExitCodes.Usage, $"--port must lie in 0..65535, not {portValue}.");
            string hostValue = result.GetValue(host) ?? "127.0.0.1";
            string urls = $"http://{(hostValue.Contains(':') && !hostValue.StartsWith('[') ? $"[{hostValue}]" : hostValue)}:{portValue}";
            var keys = new List<string>(result.GetValue(apiKeys) ?? []);
            keys.AddRange((context.Environment("BARK_API_KEYS") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

            WebApplication app;
            try
            {
                app = BarkServerHost.Build([], urls, o =>
                {
                    if (result.GetValue(model) is { } m) o.Model = m;
                    if (keys.Count > 0) o.ApiKeys = [.. o.ApiKeys, .. keys];
                    if (result.GetValue(maxBatch) is { } b) o.MaxBatch = b;
                    if (result.GetValue(queue) is { } q) o.QueueSize = q;
                    if (result.GetValue(weights) is { } w) o.WeightType = Diagnostics.BarkBenchmark.ParseWeightType(w);
                    if (result.GetValue(threads) is { } t) o.Threads = t;
                    if (result.GetValue(voicesDir) is { } v) o.VoicesDirectory = v;
                    if (result.GetValue(maxInput) is { } i) o.MaxInputCharacters = i;
                    if (result.GetValue(timeout) is { } s) o.RequestTimeout = TimeSpan.FromSeconds(s);
                    if (result.GetValue(maxSemantic) is { } n) o.MaxSemanticTokens = n;
                    if (result.GetValue(noPlayground)) o.Playground = false;
                    if (result.GetValue(noJit)) o.UseJitKernels = false;
                }, builder => builder.Logging.ClearProviders().AddSimpleConsole(c => c.SingleLine = true)
                    .AddFilter("Microsoft.AspNetCore", LogLevel.Warning)
                    .Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(c => c.LogToStandardErrorThreshold = LogLevel.Trace));
            }
            catch (Microsoft.Extensions.Options.OptionsValidationException e)
            {
                throw new CliException(ExitCodes.Usage, e.Message);
            }
            catch (ArgumentException e)
            {
                throw new CliException(ExitCodes.Usage, e.Message);
            }

            await using (app)
            {
                try
                {
                    await app.StartAsync(cancellationToken);
                }
                catch (IOException e)
                {
                    throw new CliException(ExitCodes.Usage, $"cannot listen on {urls}: {e.Message}", e);
                }
                ICollection<string> addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [urls];
                BarkServerOptions options = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<BarkServerOptions>>().Value;
                await context.Out.WriteLineAsync($"bark serve: listening on {string.Join(", ", addresses)} (model {options.Model}; loading, /health/ready turns 200 when ready)");
                if (options.ApiKeys.Count == 0 && hostValue is not ("127.0.0.1" or "localhost" or "::1"))
                    await context.Error.WriteLineAsync($"bark serve: warning: listening on {hostValue} without API keys; anyone who reaches this port can use it (--api-key).");
                await context.Out.FlushAsync(CancellationToken.None);
                try
                {
                    // Ctrl+C (the command's token) or SIGTERM and the like (the host's own stopping signal)
                    using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, app.Lifetime.ApplicationStopping);
                    await Task.Delay(Timeout.Infinite, stop.Token);
                }
                catch (OperationCanceledException)
                {
                }
                await context.Error.WriteLineAsync("bark serve: stopping");
                await app.StopAsync(CancellationToken.None);
            }
            return ExitCodes.Success;
        });
        return command;
    }
}
