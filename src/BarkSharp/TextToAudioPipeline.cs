using BarkSharp.Generation;
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

    /// <summary>Speaks <paramref name="text"/> (optionally in a voice) and returns the waveform and its sample rate.</summary>
    public TextToAudioOutput Run(string text, BarkGenerationOptions? forwardParams = null, string? voicePreset = null,
        IProgress<BarkProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        BarkInputs inputs = Processor.Process(text, voicePreset);
        BarkGeneration generation = Model.Generate(inputs, forwardParams, progress, cancellationToken);
        return new TextToAudioOutput(generation.Audio[0], generation.SampleRate);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_ownsModel) Model.Dispose();
    }
}

/// <summary>The pipeline's result: <c>{"audio", "sampling_rate"}</c>.</summary>
/// <param name="Audio">Mono waveform.</param>
/// <param name="SamplingRate">Samples per second.</param>
public sealed record TextToAudioOutput(float[] Audio, int SamplingRate);
