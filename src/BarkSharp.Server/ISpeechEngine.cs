using BarkSharp.Generation;

namespace BarkSharp.Server;

/// <summary>One piece of a request's audio: a segment's samples in order (24 kHz mono), with its work.</summary>
/// <param name="Samples">Samples of this piece, the gap before it included.</param>
/// <param name="InputTokens">Processor tokens of the segment's text (the usage's input tokens).</param>
/// <param name="SemanticTokens">Semantic tokens generated for it (the usage's output tokens).</param>
/// <param name="SegmentIndex">Index of the segment.</param>
/// <param name="SegmentCount">Segments of the request.</param>
internal sealed record SpeechPiece(float[] Samples, int InputTokens, int SemanticTokens, int SegmentIndex, int SegmentCount);

/// <summary>What one request asks of the engine.</summary>
/// <param name="Voice">The voice, or null: Bark picks one for the first segment and the rest keep it.</param>
/// <param name="Generation">Seed, temperatures, greedy and token caps.</param>
internal sealed record SpeechSettings(VoicePreset? Voice, BarkGenerationOptions Generation);

/// <summary>The speech engine the HTTP layer sits on: text in, audio pieces out, thread-safe. <see cref="SpeechGeneratorEngine"/> in production; tests script their own.</summary>
internal interface ISpeechEngine : IAsyncDisposable
{
    /// <summary>Output samples per second.</summary>
    int SampleRate { get; }

    /// <summary>The model's voice preset names.</summary>
    IReadOnlyList<string> Presets { get; }

    /// <summary>Loads a preset named in <see cref="Presets"/>.</summary>
    VoicePreset LoadPreset(string name);

    /// <summary>Speaks <paramref name="text"/>, yielding each piece as soon as it is decoded; cancellation stops within one decode step.</summary>
    IAsyncEnumerable<SpeechPiece> StreamAsync(string text, SpeechSettings settings, CancellationToken cancellationToken);
}
