using BarkSharp.Generation;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace BarkSharp.Server;

/// <summary>Where the server's model stands.</summary>
internal enum ModelState
{
    /// <summary>Loading (or downloading) the model.</summary>
    Loading,

    /// <summary>Loaded; running the warm-up generation.</summary>
    WarmingUp,

    /// <summary>Serving.</summary>
    Ready,

    /// <summary>Loading failed; the server stays up and answers 503.</summary>
    Failed,
}

/// <summary>
/// Loads the model in the background when the host starts (so <c>/health/live</c> answers at once and
/// <c>/health/ready</c> turns 200 only once the model is loaded and warmed up) and owns the speech engine.
/// </summary>
internal sealed class ModelHost(IOptions<BarkServerOptions> options, ILoggerFactory loggerFactory, ServerMetrics metrics) : BackgroundService
{
    private readonly ILogger _logger = loggerFactory.CreateLogger("BarkSharp.Server");
    private volatile ISpeechEngine? _engine;
    private volatile string? _failure;

    /// <summary>Builds the engine; replaced by tests. Default: the model and processor from <see cref="BarkServerOptions.Model"/>.</summary>
    internal Func<BarkServerOptions, CancellationToken, Task<ISpeechEngine>>? EngineFactory { get; set; }

    private volatile ModelState _state = ModelState.Loading;

    public ModelState State
    {
        get => _state;
        private set => _state = value;
    }

    /// <summary>The loaded model's reason for failing, when <see cref="State"/> is <see cref="ModelState.Failed"/>.</summary>
    public string? Failure => _failure;

    /// <summary>The engine when ready; otherwise a 503 <see cref="ApiError"/>.</summary>
    public ISpeechEngine Engine => State == ModelState.Ready && _engine is { } e ? e
        : throw new ApiError(503, State == ModelState.Failed ? "The model failed to load; see the server log." : $"The model is not ready yet ({State.ToString().ToLowerInvariant()}); retry shortly.",
            "server_error", "model_not_ready")
        { RetryAfterSeconds = State == ModelState.Failed ? null : 5 };

    private async Task<ISpeechEngine> DefaultEngineAsync(BarkServerOptions o, CancellationToken cancellationToken)
    {
        var modelOptions = new BarkModelOptions { WeightType = o.WeightType, MaxThreads = o.Threads, UseJitKernels = o.UseJitKernels };
        BarkModel model = await BarkModel.FromPretrainedAsync(o.Model, modelOptions, null, null, cancellationToken);
        try
        {
            BarkProcessor processor = BarkProcessor.FromPretrained(o.Model, hub: modelOptions.Hub);
            return new SpeechGeneratorEngine(model, processor, o.MaxBatch, metrics, _logger);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        BarkServerOptions o = options.Value;
        try
        {
            await Task.Yield();
            var clock = System.Diagnostics.Stopwatch.StartNew();
            _logger.LogInformation("Loading {Model}", o.Model);
            ISpeechEngine engine = await (EngineFactory ?? DefaultEngineAsync)(o, stoppingToken);
            _engine = engine;
            _logger.LogInformation("Loaded {Model} in {Seconds:F1} s", o.Model, clock.Elapsed.TotalSeconds);
            if (o.WarmUp)
            {
                State = ModelState.WarmingUp;
                clock.Restart();
                var warm = new SpeechSettings(null, BarkGenerationOptions.Greedy with { Semantic = new StageOptions { DoSample = false, MaxNewTokens = 8 } });
                await foreach (SpeechPiece _ in engine.StreamAsync("Hello.", warm, stoppingToken))
                {
                }
                _logger.LogInformation("Warmed up in {Seconds:F1} s", clock.Elapsed.TotalSeconds);
            }
            State = ModelState.Ready;
            metrics.SetReady(true);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            _failure = e.Message;
            State = ModelState.Failed;
            _logger.LogError(e, "Loading {Model} failed", o.Model);
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        State = ModelState.Failed;
        _failure = "the server is stopping";
        if (_engine is { } e)
        {
            _engine = null;
            await e.DisposeAsync();
        }
    }
}
