using BarkSharp.Generation;
using BarkSharp.Hub;
using Microsoft.Extensions.Logging;

namespace BarkSharp;

/// <summary>
/// Text in, audio out in one call: Transformers' <c>pipeline("text-to-audio")</c> for Bark. Tokenizes like the
/// pipeline (max_length 256, padding, no special tokens, no voice unless given) and runs <see cref="BarkModel.Generate"/>.
/// </summary>
public sealed class TextToAudioPipeline : IDisposable
{
    private readonly bool _ownsModel;

    /// <summary>Wraps an already loaded model and processor.</summary>
    public TextToAudioPipeline(BarkModel model, BarkProcessor processor)
    {
        Model = model;
        Processor = processor;
    }

    private TextToAudioPipeline(BarkModel model, BarkProcessor processor, bool ownsModel) : this(model, processor) => _ownsModel = ownsModel;

    /// <summary>The model.</summary>
    public BarkModel Model { get; }

    /// <summary>The processor.</summary>
    public BarkProcessor Processor { get; }

    /// <summary>Loads the model and processor from a model folder or a hub repository id (downloaded on first use).</summary>
    /// <param name="modelIdOrFolder">A model folder, or a repository id such as <c>suno/bark-small</c>.</param>
    /// <param name="options">Weights, threads and hub settings (<see cref="BarkModelOptions.Hub"/> applies to the processor too).</param>
    /// <param name="loggerFactory">Receives load, download and processor messages.</param>
    public static TextToAudioPipeline Create(string modelIdOrFolder, BarkModelOptions? options = null, ILoggerFactory? loggerFactory = null) =>
        new(BarkModel.FromPretrained(modelIdOrFolder, options, loggerFactory),
            BarkProcessor.FromPretrained(modelIdOrFolder, loggerFactory: loggerFactory, hub: options?.Hub), ownsModel: true);

    /// <summary>Loads the model and processor on worker threads, reporting downloads; see <see cref="Create"/>.</summary>
    /// <param name="modelIdOrFolder">A model folder, or a repository id such as <c>suno/bark-small</c>.</param>
    /// <param name="options">Weights, threads and hub settings (<see cref="BarkModelOptions.Hub"/> applies to the processor too).</param>
    /// <param name="loggerFactory">Receives load, download and processor messages.</param>
    /// <param name="downloadProgress">Receives bytes and speed of each file downloaded.</param>
    /// <param name="cancellationToken">Stops the downloads (resumed next time) or the load.</param>
    public static async Task<TextToAudioPipeline> CreateAsync(string modelIdOrFolder, BarkModelOptions? options = null, ILoggerFactory? loggerFactory = null,
        IProgress<DownloadProgress>? downloadProgress = null, CancellationToken cancellationToken = default)
    {
        BarkProcessor processor = await BarkProcessor.FromPretrainedAsync(modelIdOrFolder, loggerFactory: loggerFactory, hub: options?.Hub,
            downloadProgress: downloadProgress, cancellationToken: cancellationToken).ConfigureAwait(false);
        BarkModel model = await BarkModel.FromPretrainedAsync(modelIdOrFolder, options, loggerFactory, downloadProgress, cancellationToken).ConfigureAwait(false);
        return new TextToAudioPipeline(model, processor, ownsModel: true);
    }

    /// <summary>Speaks <paramref name="text"/> (optionally in a voice) and returns the waveform and its sample rate.</summary>
    public TextToAudioOutput Run(string text, BarkGenerationOptions? forwardParams = null, string? voicePreset = null,
        IProgress<BarkProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Run([text], forwardParams, voicePreset, progress, cancellationToken)[0];

    /// <summary>Speaks a batch of texts in one voice (or none); one output per text, each at its own length.</summary>
    public IReadOnlyList<TextToAudioOutput> Run(IReadOnlyList<string> texts, BarkGenerationOptions? forwardParams = null, string? voicePreset = null,
        IProgress<BarkProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        BarkInputs inputs = texts.Count == 1 ? Processor.Process(texts[0], voicePreset) : Processor.Process(texts, voicePreset);
        BarkGeneration generation = Model.Generate(inputs, forwardParams, progress, cancellationToken);
        return generation.Audio.Select(audio => new TextToAudioOutput(audio, generation.SampleRate)).ToArray();
    }

    /// <summary>Runs <see cref="Run(string, BarkGenerationOptions?, string?, IProgress{BarkProgress}?, CancellationToken)"/> on a worker thread.</summary>
    public Task<TextToAudioOutput> RunAsync(string text, BarkGenerationOptions? forwardParams = null, string? voicePreset = null,
        IProgress<BarkProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Task.Run(() => Run(text, forwardParams, voicePreset, progress, cancellationToken), cancellationToken);

    /// <summary>Runs the batch overload of <c>Run</c> on a worker thread.</summary>
    public Task<IReadOnlyList<TextToAudioOutput>> RunAsync(IReadOnlyList<string> texts, BarkGenerationOptions? forwardParams = null, string? voicePreset = null,
        IProgress<BarkProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Task.Run(() => Run(texts, forwardParams, voicePreset, progress, cancellationToken), cancellationToken);

    /// <inheritdoc />
    public void Dispose()
    {
        if (_ownsModel) Model.Dispose();
    }
}

/// <summary>The pipeline's result (Transformers' <c>{"audio", "sampling_rate"}</c>).</summary>
/// <param name="Audio">Mono waveform.</param>
/// <param name="SampleRate">Samples per second (Transformers' <c>sampling_rate</c>).</param>
public sealed record TextToAudioOutput(float[] Audio, int SampleRate);
