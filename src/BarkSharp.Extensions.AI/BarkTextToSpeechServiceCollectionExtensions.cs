using BarkSharp.Extensions.AI;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers Bark as the app's <see cref="ITextToSpeechClient"/>.</summary>
public static class BarkTextToSpeechServiceCollectionExtensions
{
    /// <summary>
    /// Registers a singleton <see cref="ITextToSpeechClient"/> speaking with Bark: the model is loaded once (at host start
    /// when <see cref="BarkTextToSpeechServiceOptions.WarmUpOnStart"/>, else when the client is first resolved) and
    /// disposed with the container. Returns the <see cref="TextToSpeechClientBuilder"/>, so middleware composes:
    /// <code>
    /// builder.Services.AddBarkTextToSpeech(o => o.Model = "suno/bark-small")
    ///     .UseLogging()
    ///     .UseOpenTelemetry();
    /// </code>
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the model, its options, the client's defaults and the warm-up.</param>
    /// <returns>The builder of the registered client's pipeline.</returns>
    /// <remarks>The client uses the container's <see cref="ILoggerFactory"/> (when registered) for the model's load messages.
    /// One registration per container: a second call replaces the first one's client.</remarks>
    public static TextToSpeechClientBuilder AddBarkTextToSpeech(this IServiceCollection services, Action<BarkTextToSpeechServiceOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = new BarkTextToSpeechServiceOptions();
        configure?.Invoke(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Model, nameof(BarkTextToSpeechServiceOptions.Model));
        ArgumentNullException.ThrowIfNull(options.ModelOptions, nameof(BarkTextToSpeechServiceOptions.ModelOptions));
        ArgumentNullException.ThrowIfNull(options.Client, nameof(BarkTextToSpeechServiceOptions.Client));

        services.RemoveAll<BarkSpeechServices>();
        services.AddSingleton(sp => new BarkSpeechServices(options, sp.GetService<ILoggerFactory>()));
        services.AddHostedService<BarkWarmUpService>();
        return services.AddTextToSpeechClient(sp => new BarkTextToSpeechClient(sp.GetRequiredService<BarkSpeechServices>().Generator, options.Client));
    }
}
