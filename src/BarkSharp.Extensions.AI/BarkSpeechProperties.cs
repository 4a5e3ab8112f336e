using System.Globalization;
using System.Text.Json;
using BarkSharp.Speech;
using Microsoft.Extensions.AI;

namespace BarkSharp.Extensions.AI;

/// <summary>
/// Keys of <see cref="TextToSpeechOptions.AdditionalProperties"/> that a <see cref="BarkTextToSpeechClient"/> reads,
/// named like the <c>bark say</c> flags. Values may be numbers, booleans, strings or <see cref="JsonElement"/>s (as
/// options read from JSON carry them); a key the client does not know is ignored, a known key with a value it cannot
/// use is an <see cref="ArgumentException"/> naming the key.
/// </summary>
/// <example>
/// <code>
/// var options = new TextToSpeechOptions { VoiceId = "v2/en_speaker_6", AudioFormat = "opus" };
/// options.AdditionalProperties = new() { [BarkSpeechProperties.Seed] = 42, [BarkSpeechProperties.TextTemperature] = 0.6 };
/// TextToSpeechResponse response = await client.GetAudioAsync("Hello!", options);
/// </code>
/// </example>
public static class BarkSpeechProperties
{
    /// <summary><c>seed</c>: a whole number from 0 up; the same seed, text and voice give the same audio (<c>--seed</c>).</summary>
    public const string Seed = "seed";

    /// <summary><c>greedy</c>: true decodes every stage by argmax, without sampling (<c>--greedy</c>); excludes the temperatures.</summary>
    public const string Greedy = "greedy";

    /// <summary><c>text_temperature</c>: sampling temperature of the semantic stage, above 0 (<c>--text-temp</c>, suno's <c>text_temp</c>).</summary>
    public const string TextTemperature = "text_temperature";

    /// <summary><c>waveform_temperature</c>: sampling temperature of the coarse stage, above 0 (<c>--waveform-temp</c>, suno's <c>waveform_temp</c>).</summary>
    public const string WaveformTemperature = "waveform_temperature";

    /// <summary><c>fine_temperature</c>: sampling temperature of the fine stage, above 0 (<c>--fine-temp</c>).</summary>
    public const string FineTemperature = "fine_temperature";

    /// <summary><c>top_k</c>: top-k of the semantic and coarse stages (0 = off).</summary>
    public const string TopK = "top_k";

    /// <summary><c>top_p</c>: top-p of the semantic and coarse stages, in (0, 1] (1 = off).</summary>
    public const string TopP = "top_p";

    /// <summary><c>min_eos_p</c>: end a segment once the end token's probability passes this, in (0, 1] (<c>--min-eos-p</c>).</summary>
    public const string MinEosP = "min_eos_p";

    /// <summary><c>max_semantic_tokens</c>: most semantic tokens per segment, from 1 (<c>--max-semantic-tokens</c>); about 50 make a second.</summary>
    public const string MaxSemanticTokens = "max_semantic_tokens";

    /// <summary><c>voice_mode</c>: <c>fixed</c> or <c>chained</c> (<see cref="BarkSharp.VoiceMode"/>, <c>--voice-mode</c>).</summary>
    public const string VoiceMode = "voice_mode";

    /// <summary><c>gap_seconds</c>: silence between segments, 0 to 10 seconds (<c>--gap</c>).</summary>
    public const string GapSeconds = "gap_seconds";

    /// <summary><c>voice</c>: a <see cref="VoicePreset"/> object to speak with; wins over <see cref="TextToSpeechOptions.VoiceId"/>.</summary>
    public const string Voice = "voice";

    /// <summary>Reads a double, or null when the key is absent.</summary>
    internal static double? Double(AdditionalPropertiesDictionary? properties, string key)
    {
        if (!TryGet(properties, key, out object? value)) return null;
        double? result = value switch
        {
            double d => d,
            float f => f,
            decimal m => (double)m,
            int or long or short or byte or uint or ulong => Convert.ToDouble(value, CultureInfo.InvariantCulture),
            string s when double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) => d,
            JsonElement { ValueKind: JsonValueKind.Number } e => e.GetDouble(),
            JsonElement { ValueKind: JsonValueKind.String } e when double.TryParse(e.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out double d) => d,
            _ => null,
        };
        return result is { } r && double.IsFinite(r) ? r : throw Invalid(key, value, "a number");
    }

    /// <summary>Reads a whole number within [<paramref name="min"/>, <paramref name="max"/>], or null when the key is absent.</summary>
    internal static ulong? Whole(AdditionalPropertiesDictionary? properties, string key, ulong min, ulong max)
    {
        if (!TryGet(properties, key, out object? value)) return null;
        ulong? result = value switch
        {
            ulong u => u,
            int or long or short or byte or uint when Convert.ToInt64(value, CultureInfo.InvariantCulture) >= 0 => Convert.ToUInt64(value, CultureInfo.InvariantCulture),
            double d when d >= 0 && d <= ulong.MaxValue && d == Math.Floor(d) => (ulong)d,
            string s when ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out ulong u) => u,
            JsonElement { ValueKind: JsonValueKind.Number } e when e.TryGetUInt64(out ulong u) => u,
            JsonElement { ValueKind: JsonValueKind.String } e when ulong.TryParse(e.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out ulong u) => u,
            _ => null,
        };
        return result is { } r && r >= min && r <= max ? r : throw Invalid(key, value, $"a whole number from {min} to {max}");
    }

    /// <summary>Reads a boolean, or null when the key is absent.</summary>
    internal static bool? Boolean(AdditionalPropertiesDictionary? properties, string key)
    {
        if (!TryGet(properties, key, out object? value)) return null;
        return value switch
        {
            bool b => b,
            string s when bool.TryParse(s, out bool b) => b,
            JsonElement { ValueKind: JsonValueKind.True } => true,
            JsonElement { ValueKind: JsonValueKind.False } => false,
            JsonElement { ValueKind: JsonValueKind.String } e when bool.TryParse(e.GetString(), out bool b) => b,
            _ => throw Invalid(key, value, "true or false"),
        };
    }

    /// <summary>Reads a string, or null when the key is absent.</summary>
    internal static string? Text(AdditionalPropertiesDictionary? properties, string key)
    {
        if (!TryGet(properties, key, out object? value)) return null;
        return value switch
        {
            string s => s,
            JsonElement { ValueKind: JsonValueKind.String } e => e.GetString()!,
            Enum e => e.ToString(),
            _ => throw Invalid(key, value, "a string"),
        };
    }

    /// <summary>Reads the voice mode, or null when the key is absent.</summary>
    internal static VoiceMode? Mode(AdditionalPropertiesDictionary? properties)
    {
        if (properties is not null && properties.TryGetValue(VoiceMode, out object? raw) && raw is BarkSharp.VoiceMode mode) return mode;
        return Text(properties, VoiceMode)?.Trim().ToLowerInvariant() switch
        {
            null => null,
            "fixed" => BarkSharp.VoiceMode.Fixed,
            "chained" => BarkSharp.VoiceMode.Chained,
            _ => throw Invalid(VoiceMode, properties![VoiceMode], "'fixed' or 'chained'"),
        };
    }

    private static bool TryGet(AdditionalPropertiesDictionary? properties, string key, out object? value)
    {
        value = null;
        return properties is not null && properties.TryGetValue(key, out value) && value is not null and not JsonElement { ValueKind: JsonValueKind.Null };
    }

    private static ArgumentException Invalid(string key, object? value, string expected) =>
        new($"the text-to-speech option '{key}' must be {expected}, not {Describe(value)}.", nameof(TextToSpeechOptions.AdditionalProperties));

    private static string Describe(object? value) => value switch
    {
        null => "null",
        string s => $"'{s}'",
        JsonElement e => e.GetRawText(),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.GetType().Name,
    };
}
