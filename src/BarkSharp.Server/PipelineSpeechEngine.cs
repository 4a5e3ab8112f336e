using System.Runtime.CompilerServices;

namespace BarkSharp.Server;

/// <summary>
/// Temporary engine until the long-form <c>SpeechGenerator</c> lands: one <see cref="BarkModel.Generate"/> per
/// request (a single segment, text past 256 tokens cut by the processor), one request at a time.
/// </summary>
internal sealed class PipelineSpeechEngine(BarkModel model, BarkProcessor processor) : ISpeechEngine
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    public int SampleRate => model.SampleRate;

    public IReadOnlyList<string> Presets => processor.AvailablePresets;

    public VoicePreset LoadPreset(string name) => processor.LoadVoicePreset(name);

    public int CountTokens(string text) => processor.Process(text).TokenCounts[0];

    public async IAsyncEnumerable<SpeechPiece> StreamAsync(string text, SpeechSettings settings, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        BarkInputs inputs = settings.Voice is null ? processor.Process(text) : processor.Process(text, settings.Voice);
        await _gate.WaitAsync(cancellationToken);
        BarkGeneration generation;
        try
        {
            generation = await Task.Run(() => model.Generate(inputs, settings.Generation, null, cancellationToken), cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
        yield return new SpeechPiece(generation.Audio[0], generation.SemanticLengths[0], 0, 1);
    }

    public ValueTask DisposeAsync()
    {
        _gate.Dispose();
        model.Dispose();
        return ValueTask.CompletedTask;
    }
}
