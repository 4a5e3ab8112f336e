using System.Collections.Concurrent;
using System.Diagnostics;
using BarkSharp.Extensions.AI;
using BarkSharp.Tests.Infrastructure;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace BarkSharp.Tests.ExtensionsAI;

/// <summary>AddBarkTextToSpeech in a real container and a real host: middleware composes, the model loads once, warm-up at start.</summary>
public class BarkTextToSpeechServiceTests
{
    private sealed class RecordingLoggerProvider : ILoggerProvider
    {
        public ConcurrentQueue<(string Category, LogLevel Level, string Message)> Records { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class Logger(RecordingLoggerProvider owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                owner.Records.Enqueue((category, logLevel, formatter(state, exception)));
        }
    }

    private static void Configure(BarkTextToSpeechServiceOptions o, bool warmUp)
    {
        o.Model = Fixtures.TinyBark;
        o.WarmUpOnStart = warmUp;
        o.Client = new BarkTextToSpeechClientOptions { Speech = BarkTextToSpeechClientTests.Speech, DefaultVoice = "v2/en_speaker_6" };
    }

    [Fact]
    public async Task A_container_gives_one_logged_and_traced_client_over_one_model()
    {
        var recorder = new RecordingLoggerProvider();
        var activities = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name.Contains("Microsoft.Extensions.AI", StringComparison.Ordinal),
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activities.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        var services = new ServiceCollection();
        services.AddLogging(b => b.AddProvider(recorder).SetMinimumLevel(LogLevel.Trace));
        services.AddBarkTextToSpeech(o => Configure(o, warmUp: false)).UseLogging().UseOpenTelemetry();

        await using (ServiceProvider provider = services.BuildServiceProvider())
        {
            ITextToSpeechClient client = provider.GetRequiredService<ITextToSpeechClient>();
            Assert.Same(client, provider.GetRequiredService<ITextToSpeechClient>());
            Assert.NotNull(client.GetService<LoggingTextToSpeechClient>());
            Assert.NotNull(client.GetService<OpenTelemetryTextToSpeechClient>());
            BarkModel model = client.GetService<BarkModel>()!;
            Assert.NotNull(model);
            Assert.Single(recorder.Records, r => r.Message.StartsWith("Loaded Bark from", StringComparison.Ordinal));

            TextToSpeechResponse response = await client.GetAudioAsync("Hello there, how are you?",
                new TextToSpeechOptions { AdditionalProperties = new() { [BarkSpeechProperties.Seed] = 9 } });
            Assert.Equal("audio/wav", Assert.IsType<DataContent>(Assert.Single(response.Contents)).MediaType);
            Assert.Contains(recorder.Records, r => r.Category == typeof(LoggingTextToSpeechClient).FullName && r.Message.Contains("GetAudioAsync", StringComparison.Ordinal));
            // OpenTelemetry's span names the provider from the client's metadata.
            Assert.Contains(activities, a => a.Tags.Any(t => t.Value == BarkTextToSpeechClient.ProviderName));

            // The registered client speaks exactly what a client made by hand over the same model does (default voice included).
            using ITextToSpeechClient direct = model.AsITextToSpeechClient(client.GetService<BarkProcessor>()!,
                new BarkTextToSpeechClientOptions { Speech = BarkTextToSpeechClientTests.Speech, DefaultVoice = "v2/en_speaker_6" });
            TextToSpeechResponse same = await direct.GetAudioAsync("Hello there, how are you?",
                new TextToSpeechOptions { AdditionalProperties = new() { [BarkSpeechProperties.Seed] = 9 } });
            Assert.Equal(((DataContent)response.Contents[0]).Data.ToArray(), ((DataContent)same.Contents[0]).Data.ToArray());
        }
        Assert.Single(recorder.Records, r => r.Message.StartsWith("Loaded Bark from", StringComparison.Ordinal));
    }

    [Fact]
    public void A_keyed_registration_sits_next_to_other_clients()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddKeyedBarkTextToSpeech("local", o => Configure(o, warmUp: false)).UseLogging();
        using ServiceProvider provider = services.BuildServiceProvider();
        Assert.Null(provider.GetService<ITextToSpeechClient>());
        ITextToSpeechClient local = provider.GetRequiredKeyedService<ITextToSpeechClient>("local");
        Assert.Equal("v2/en_speaker_6", local.GetService<BarkTextToSpeechClientOptions>()!.DefaultVoice);
        Assert.NotNull(local.GetService<BarkModel>());
    }

    [Fact]
    public async Task A_host_loads_and_warms_the_model_before_it_is_ready()
    {
        var recorder = new RecordingLoggerProvider();
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Logging.AddProvider(recorder).SetMinimumLevel(LogLevel.Trace);
        builder.Services.AddBarkTextToSpeech(o => Configure(o, warmUp: true)).UseLogging();
        using IHost host = builder.Build();

        Assert.DoesNotContain(recorder.Records, r => r.Message.StartsWith("Loaded Bark from", StringComparison.Ordinal));
        await host.StartAsync();
        Assert.Single(recorder.Records, r => r.Message.StartsWith("Loaded Bark from", StringComparison.Ordinal));
        Assert.Single(recorder.Records, r => r.Message.StartsWith("Bark text-to-speech warmed up", StringComparison.Ordinal));

        ITextToSpeechClient client = host.Services.GetRequiredService<ITextToSpeechClient>();
        var updates = new List<TextToSpeechResponseUpdate>();
        await foreach (TextToSpeechResponseUpdate update in client.GetStreamingAudioAsync("Hello.")) updates.Add(update);
        Assert.Equal(TextToSpeechResponseUpdateKind.SessionClose, updates[^1].Kind);
        Assert.Single(recorder.Records, r => r.Message.StartsWith("Loaded Bark from", StringComparison.Ordinal));
        await host.StopAsync();
    }
}
