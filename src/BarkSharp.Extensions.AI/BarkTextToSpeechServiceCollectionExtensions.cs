using BarkSharp.Extensions.AI;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Hosting;
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
    /// <remarks>The model logs its loading through the container's <see cref="ILoggerFactory"/> when one is registered.
    /// Each call registers its own model; the client of the last unkeyed call is the one resolved.</remarks>
    public static TextToSpeechClientBuilder AddBarkTextToSpeech(this IServiceCollection services, Action<BarkTextToSpeechServiceOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        Func<IServiceProvider, ITextToSpeechClient> client = Register(services, configure);
        return services.AddTextToSpeechClient(client);
    }

    /// <summary>
    /// Registers a keyed singleton <see cref="ITextToSpeechClient"/> speaking with Bark, e.g. next to a cloud client
    /// (<c>[FromKeyedServices("local")] ITextToSpeechClient tts</c>); otherwise like <see cref="AddBarkTextToSpeech"/>.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="serviceKey">The key the client is resolved with.</param>
    /// <param name="configure">Sets the model, its options, the client's defaults and the warm-up.</param>
    /// <returns>The builder of the registered client's pipeline.</returns>
    public static TextToSpeechClientBuilder AddKeyedBarkTextToSpeech(this IServiceCollection services, object? serviceKey,
        Action<BarkTextToSpeechServiceOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        Func<IServiceProvider, ITextToSpeechClient> client = Register(services, configure);
        return services.AddKeyedTextToSpeechClient(serviceKey, client);
    }

    /// <summary>Registers one model (under a key of its own) and its warm-up; returns the factory of the client over it.</summary>
    private static Func<IServiceProvider, ITextToSpeechClient> Register(IServiceCollection services, Action<BarkTextToSpeechServiceOptions>? configure)
    {
        var options = new BarkTextToSpeechServiceOptions();
        configure?.Invoke(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Model, nameof(BarkTextToSpeechServiceOptions.Model));
        ArgumentNullException.ThrowIfNull(options.ModelOptions, nameof(BarkTextToSpeechServiceOptions.ModelOptions));
        ArgumentNullException.ThrowIfNull(options.Client, nameof(BarkTextToSpeechServiceOptions.Client));

        object key = new();
        services.AddKeyedSingleton(key, (sp, _) => new BarkSpeechServices(options, sp.GetService<ILoggerFactory>()));
        services.AddSingleton<IHostedService>(sp => new BarkWarmUpService(sp.GetRequiredKeyedService<BarkSpeechServices>(key), sp.GetService<ILogger<BarkWarmUpService>>()));
        return sp => new BarkTextToSpeechClient(sp.GetRequiredKeyedService<BarkSpeechServices>(key).Generator, options.Client);
    }
}
