using System.Runtime.CompilerServices;
using BarkSharp.Speech;
using Microsoft.Extensions.Logging;

namespace BarkSharp.Server;

/// <summary>
/// The server's engine: one <see cref="SpeechGenerator"/> over one <see cref="SegmentBatcher"/> for the whole
/// server, so segments of different requests waiting at the same time run as one batch, each row with its own voice
/// and random stream (a request's audio for a seed does not depend on what it was batched with). Long input is
/// segmented and spoken in one voice (<see cref="VoiceMode.Fixed"/>).
/// </summary>
internal sealed class SpeechGeneratorEngine : ISpeechEngine
{
    private readonly BarkModel _model;
    private readonly BarkProcessor _processor;
    private readonly SegmentBatcher _batcher;
    private readonly SpeechGenerator _generator;
    private readonly int _maxBatch;
    private readonly bool _ownsModel;

    public SpeechGeneratorEngine(BarkModel model, BarkProcessor processor, int maxBatch, ServerMetrics metrics, ILogger logger, bool ownsModel = true)
    {
        _ownsModel = ownsModel;
        _model = model;
        _processor = processor;
        _maxBatch = maxBatch;
        _batcher = new SegmentBatcher(model, maxBatch, logger);
        _batcher.BatchCompleted += info => metrics.Batch(info.Size);
        _generator = new SpeechGenerator(model, processor, _batcher);
    }

    public int SampleRate => _model.SampleRate;

    public IReadOnlyList<string> Presets => _processor.AvailablePresets;

    public VoicePreset LoadPreset(string name) => _processor.LoadVoicePreset(name);

    public async IAsyncEnumerable<SpeechPiece> StreamAsync(string text, SpeechSettings settings, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var options = new SpeechOptions { Voice = settings.Voice, Generation = settings.Generation, MaxBatchSize = _maxBatch };
        await foreach (AudioChunk chunk in _generator.StreamAsync(text, options, null, cancellationToken).WithCancellation(cancellationToken))
            yield return new SpeechPiece(chunk.Samples, chunk.InputTokens, chunk.SemanticTokens, chunk.SegmentIndex, chunk.SegmentCount);
    }

    public async ValueTask DisposeAsync()
    {
        _generator.Dispose();
        await _batcher.DisposeAsync();
        if (_ownsModel) _model.Dispose();
    }
}
