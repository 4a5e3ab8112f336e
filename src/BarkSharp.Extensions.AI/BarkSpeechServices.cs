using BarkSharp.Generation;
using BarkSharp.Speech;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace BarkSharp.Extensions.AI;

/// <summary>The model, processor and generator of one <c>AddBarkTextToSpeech</c> registration: loaded once, on first use, disposed with the container.</summary>
internal sealed class BarkSpeechServices(BarkTextToSpeechServiceOptions options, ILoggerFactory? loggerFactory) : IDisposable
{
    private readonly Lazy<SpeechGenerator> _generator = new(() => Load(options, loggerFactory ?? NullLoggerFactory.Instance), LazyThreadSafetyMode.ExecutionAndPublication);

    public BarkTextToSpeechServiceOptions Options => options;

    /// <summary>The generator, loading the model the first time.</summary>
    public SpeechGenerator Generator => _generator.Value;

    private static SpeechGenerator Load(BarkTextToSpeechServiceOptions options, ILoggerFactory loggerFactory)
    {
        BarkModel model = BarkModel.FromPretrained(options.Model, options.ModelOptions, loggerFactory);
        try
        {
            BarkProcessor processor = BarkProcessor.FromPretrained(options.Model, loggerFactory: loggerFactory, hub: options.Hub);
            return new SpeechGenerator(model, processor);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        if (!_generator.IsValueCreated) return;
        _generator.Value.Dispose();
        _generator.Value.Model.Dispose();
    }
}

/// <summary>Loads the model while the host starts and speaks a few tokens once (<see cref="BarkTextToSpeechServiceOptions.WarmUpOnStart"/>).</summary>
internal sealed class BarkWarmUpService(BarkSpeechServices services, ILogger<BarkWarmUpService>? logger = null) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!services.Options.WarmUpOnStart) return;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        SpeechGenerator generator = await Task.Run(() => services.Generator, cancellationToken).ConfigureAwait(false);
        var speech = new SpeechOptions
        {
            Generation = BarkGenerationOptions.Greedy with { Semantic = new StageOptions { DoSample = false, MaxNewTokens = 8 } },
        };
        SpeechResult result = await generator.GenerateAsync(services.Options.WarmUpText, speech, progress: null, cancellationToken).ConfigureAwait(false);
        logger?.LogInformation("Bark text-to-speech warmed up in {Seconds:F2} s ({AudioSeconds:F2} s of audio)", clock.Elapsed.TotalSeconds, result.AudioSeconds);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
