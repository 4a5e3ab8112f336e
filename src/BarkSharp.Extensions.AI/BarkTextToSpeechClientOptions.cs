using BarkSharp.Audio;
using BarkSharp.Speech;

namespace BarkSharp.Extensions.AI;

/// <summary>
/// Defaults of a <see cref="BarkTextToSpeechClient"/>: what a request gets when its
/// <see cref="Microsoft.Extensions.AI.TextToSpeechOptions"/> leave something unset.
/// </summary>
public sealed record BarkTextToSpeechClientOptions
{
    /// <summary>
    /// The model id the client reports in its metadata and responses (default: the model folder's name, else <c>bark</c>).
    /// A request's <see cref="Microsoft.Extensions.AI.TextToSpeechOptions.ModelId"/> does not pick another model: one
    /// client speaks with one model.
    /// </summary>
    public string? ModelId { get; init; }

    /// <summary>
    /// The voice when a request names neither a voice nor a language: a preset name (<c>v2/en_speaker_6</c>), an
    /// <c>.npz</c> path or a key of <see cref="Voices"/>. Null (the default) lets the first segment's own generation
    /// become the voice of the rest, as <see cref="SpeechGenerator"/> does.
    /// </summary>
    public string? DefaultVoice { get; init; }

    /// <summary>The encoding when a request gives no <see cref="Microsoft.Extensions.AI.TextToSpeechOptions.AudioFormat"/> (default <see cref="AudioFormat.Wav"/>, 16-bit).</summary>
    public AudioFormat DefaultAudioFormat { get; init; } = AudioFormat.Wav;

    /// <summary>
    /// Custom voices by id, e.g. cloned voices: a request's <see cref="Microsoft.Extensions.AI.TextToSpeechOptions.VoiceId"/>
    /// is looked up here before the model's presets and <c>.npz</c> paths. Ids compare ordinally.
    /// </summary>
    public IReadOnlyDictionary<string, VoicePreset> Voices { get; init; } = new Dictionary<string, VoicePreset>(StringComparer.Ordinal);

    /// <summary>
    /// Segmentation, gaps, batching, voice mode and sampling defaults (seed, temperatures) of every request; a request
    /// overrides single values through <see cref="Microsoft.Extensions.AI.TextToSpeechOptions.AdditionalProperties"/>
    /// (see <see cref="BarkSpeechProperties"/>). Its <see cref="SpeechOptions.Voice"/> speaks requests that name no voice or
    /// language when <see cref="DefaultVoice"/> is not set. The default seed is that of <see cref="BarkGenerationOptions.Seed"/> (0),
    /// so the same request gives the same audio; pass <see cref="BarkSpeechProperties.Seed"/> for other takes.
    /// </summary>
    public SpeechOptions Speech { get; init; } = new();
}
