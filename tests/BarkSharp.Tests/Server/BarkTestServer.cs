using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using BarkSharp.Server;
using BarkSharp.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace BarkSharp.Tests.Server;

/// <summary>A real Kestrel server on 127.0.0.1 (free port) with the tiny fixture model, its own voices folder and few semantic tokens.</summary>
public sealed class BarkTestServer : IAsyncDisposable
{
    private BarkTestServer(WebApplication app, Uri baseAddress, string voices)
    {
        App = app;
        BaseAddress = baseAddress;
        VoicesDirectory = voices;
        Http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(60) };
    }

    public WebApplication App { get; }

    public Uri BaseAddress { get; }

    public string VoicesDirectory { get; }

    public HttpClient Http { get; }

    internal ServerMetrics Metrics => App.Services.GetRequiredService<ServerMetrics>();

    internal static async Task<BarkTestServer> StartAsync(Action<BarkServerOptions>? configure = null, Func<ISpeechEngine>? engine = null, bool waitReady = true, Task<ISpeechEngine>? engineTask = null)
    {
        string voices = Fixtures.TempDir();
        WebApplication app = BarkServerHost.Build([], "http://127.0.0.1:0", o =>
        {
            o.Model = Fixtures.TinyBark;
            o.VoicesDirectory = voices;
            o.MaxSemanticTokens = 8;
            o.Threads = 1;
            configure?.Invoke(o);
        }, b => b.Logging.ClearProviders().SetMinimumLevel(LogLevel.Warning));
        if (engine is not null) app.Services.GetRequiredService<ModelHost>().EngineFactory = (_, _) => Task.FromResult(engine());
        if (engineTask is not null) app.Services.GetRequiredService<ModelHost>().EngineFactory = (_, _) => engineTask;
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var server = new BarkTestServer(app, new Uri(address), voices);
        if (waitReady) await server.WaitReadyAsync();
        return server;
    }

    public async Task WaitReadyAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            using HttpResponseMessage r = await Http.GetAsync("/health/ready");
            if (r.IsSuccessStatusCode) return;
            await Task.Delay(50);
        }
        throw new TimeoutException("the test server did not become ready");
    }

    public Task<HttpResponseMessage> PostJsonAsync(string path, string json, string? key = null, HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead,
        CancellationToken cancellationToken = default)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json") };
        if (key is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return Http.SendAsync(request, completion, cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        try
        {
            Directory.Delete(VoicesDirectory, true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>A scripted engine: yields <see cref="Pieces"/> pieces of 0.1 s, optionally waiting on a gate before each, and records cancellation.</summary>
internal sealed class FakeEngine : ISpeechEngine
{
    public int Pieces { get; init; } = 1;

    /// <summary>Released by the test to let the engine go on (null: never wait).</summary>
    public SemaphoreSlim? Gate { get; init; }

    /// <summary>Wait for the gate before the first piece too.</summary>
    public bool GateFirst { get; init; } = true;

    public TaskCompletionSource Cancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource FirstPieceSent { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public int Started;

    public int SampleRate => 24_000;

    public IReadOnlyList<string> Presets => ["v2/en_speaker_6"];

    public VoicePreset LoadPreset(string name) => VoicePreset.Load(Fixtures.TinyBark, name);

    public async IAsyncEnumerable<SpeechPiece> StreamAsync(string text, SpeechSettings settings, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref Started);
        using CancellationTokenRegistration registration = cancellationToken.Register(() => Cancelled.TrySetResult());
        for (int i = 0; i < Pieces; i++)
        {
            if (Gate is not null && (i > 0 || GateFirst)) await Gate.WaitAsync(cancellationToken);
            cancellationToken.ThrowIfCancellationRequested();
            float[] samples = Enumerable.Range(0, 2400).Select(k => 0.3f * MathF.Sin(k * 0.05f)).ToArray();
            yield return new SpeechPiece(samples, 3, 5, i, Pieces);
            if (i == 0) FirstPieceSent.TrySetResult();
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
