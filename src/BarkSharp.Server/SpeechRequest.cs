using System.Text.Json;
using BarkSharp.Audio;
using BarkSharp.Generation;

namespace BarkSharp.Server;

/// <summary>How a speech response is sent.</summary>
internal enum StreamMode
{
    /// <summary><c>stream_format</c> absent: the whole file, with exact sizes and a Content-Length.</summary>
    None,

    /// <summary><c>stream_format: "audio"</c>: chunked transfer, each segment's encoded audio as soon as it exists.</summary>
    Audio,

    /// <summary><c>stream_format: "sse"</c>: server-sent <c>speech.audio.delta</c> events, then <c>speech.audio.done</c>.</summary>
    Sse,
}

/// <summary>
/// A parsed <c>POST /v1/audio/speech</c> body: OpenAI's fields (<c>model</c>, <c>input</c>, <c>voice</c> as a string
/// or <c>{"id"}</c>, <c>response_format</c>, <c>speed</c>, <c>stream_format</c>, <c>instructions</c> — accepted and
/// ignored) and Bark's extras (<c>seed</c>, <c>greedy</c>, <c>text_temp</c>, <c>waveform_temp</c>, <c>fine_temp</c>,
/// <c>min_eos_p</c>, <c>max_semantic_tokens</c>). Unknown fields are ignored, as OpenAI adds fields over time.
/// </summary>
internal sealed record SpeechRequest(string? Model, string Input, string? Voice, AudioFormat Format, StreamMode Stream, ulong? Seed,
    bool Greedy, double? TextTemp, double? WaveformTemp, double? FineTemp, double? MinEosP, int? MaxSemanticTokens)
{
    /// <summary>Formats a client may ask for and this server writes.</summary>
    public const string Supported = "wav, pcm, opus, flac";

    public static SpeechRequest Parse(ReadOnlySpan<byte> body, BarkServerOptions options)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(body.ToArray(), new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException e)
        {
            throw ApiError.BadRequest($"The request body is not valid JSON: {e.Message}", null, "invalid_json");
        }
        using (doc)
        {
            JsonElement root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw ApiError.BadRequest("The request body must be a JSON object.", null, "invalid_json");

            string? model = OptionalString(root, "model");
            string input = OptionalString(root, "input") ?? throw ApiError.BadRequest("'input' is required: the text to speak.", "input", "missing_required_parameter");
            if (string.IsNullOrWhiteSpace(input)) throw ApiError.BadRequest("'input' is empty: give some text to speak.", "input", "empty_input");
            if (input.Length > options.MaxInputCharacters)
                throw ApiError.BadRequest($"'input' has {input.Length} characters; this server takes at most {options.MaxInputCharacters}.", "input", "input_too_long");

            string? voice = null;
            if (root.TryGetProperty("voice", out JsonElement v))
            {
                voice = v.ValueKind switch
                {
                    JsonValueKind.String => v.GetString(),
                    JsonValueKind.Object when v.TryGetProperty("id", out JsonElement id) && id.ValueKind == JsonValueKind.String => id.GetString(),
                    JsonValueKind.Null => null,
                    _ => throw ApiError.BadRequest("'voice' must be a string or an object {\"id\": \"...\"}.", "voice"),
                };
            }

            AudioFormat format = AudioFormat.Wav;
            if (OptionalString(root, "response_format") is { } f)
            {
                string name = f.Trim().ToLowerInvariant();
                if (name is not ("wav" or "pcm" or "opus" or "flac") || !AudioEncoder.TryParse(name, out format))
                    throw ApiError.BadRequest($"The response_format '{f}' is not supported; this server writes {Supported}.", "response_format", "unsupported_response_format");
            }

            StreamMode stream = OptionalString(root, "stream_format")?.Trim().ToLowerInvariant() switch
            {
                null => StreamMode.None,
                "audio" => StreamMode.Audio,
                "sse" => StreamMode.Sse,
                string other => throw ApiError.BadRequest($"The stream_format '{other}' is not supported; use 'audio' or 'sse'.", "stream_format"),
            };

            if (OptionalNumber(root, "speed") is { } speed)
            {
                if (speed is < 0.25 or > 4.0) throw ApiError.BadRequest($"'speed' must lie in 0.25..4.0, not {speed}.", "speed");
                if (speed != 1.0)
                    throw ApiError.BadRequest($"'speed' {speed} is not supported: Bark's speaking rate comes from the voice and the text, and this server does not time-stretch. Use 1.0.", "speed", "unsupported_speed");
            }

            ulong? seed = null;
            if (root.TryGetProperty("seed", out JsonElement s) && s.ValueKind != JsonValueKind.Null)
            {
                if (s.ValueKind != JsonValueKind.Number || !s.TryGetUInt64(out ulong value)) throw ApiError.BadRequest("'seed' must be a non-negative integer.", "seed");
                seed = value;
            }
            bool greedy = false;
            if (root.TryGetProperty("greedy", out JsonElement g) && g.ValueKind != JsonValueKind.Null)
            {
                if (g.ValueKind is not (JsonValueKind.True or JsonValueKind.False)) throw ApiError.BadRequest("'greedy' must be true or false.", "greedy");
                greedy = g.GetBoolean();
            }
            double? textTemp = Temperature(root, "text_temp"), waveformTemp = Temperature(root, "waveform_temp"), fineTemp = Temperature(root, "fine_temp");
            if (greedy && (textTemp ?? waveformTemp ?? fineTemp) is not null)
                throw ApiError.BadRequest("'greedy' decodes without sampling; it cannot be combined with temperatures.", "greedy");
            double? minEos = OptionalNumber(root, "min_eos_p");
            if (minEos is < 0 or > 1) throw ApiError.BadRequest($"'min_eos_p' must lie in 0..1, not {minEos}.", "min_eos_p");
            int? maxSemantic = null;
            if (OptionalNumber(root, "max_semantic_tokens") is { } m)
            {
                if (m < 1 || m != Math.Floor(m) || m > 10_000) throw ApiError.BadRequest("'max_semantic_tokens' must be a positive integer.", "max_semantic_tokens");
                maxSemantic = (int)m;
            }
            return new SpeechRequest(model, input, voice, format, stream, seed, greedy, textTemp, waveformTemp, fineTemp, minEos, maxSemantic);
        }
    }

    /// <summary>The generation options: greedy or sampled with the given temperatures, the seed, and the server's token cap.</summary>
    public BarkGenerationOptions Generation(ulong seed, int? serverCap)
    {
        BarkGenerationOptions o = Greedy ? BarkGenerationOptions.Greedy : new BarkGenerationOptions();
        int? max = (MaxSemanticTokens, serverCap) switch
        {
            ({ } a, { } b) => Math.Min(a, b),
            ({ } a, null) => a,
            (null, var b) => b,
        };
        return o with
        {
            Seed = seed,
            MinEosP = MinEosP,
            Semantic = o.Semantic with { Temperature = TextTemp, DoSample = TextTemp is null ? o.Semantic.DoSample : true, MaxNewTokens = max },
            Coarse = o.Coarse with { Temperature = WaveformTemp, DoSample = WaveformTemp is null ? o.Coarse.DoSample : true },
            Fine = o.Fine with { Temperature = FineTemp },
        };
    }

    private static string? OptionalString(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out JsonElement e) || e.ValueKind == JsonValueKind.Null) return null;
        if (e.ValueKind != JsonValueKind.String) throw ApiError.BadRequest($"'{name}' must be a string.", name);
        return e.GetString();
    }

    private static double? OptionalNumber(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out JsonElement e) || e.ValueKind == JsonValueKind.Null) return null;
        if (e.ValueKind != JsonValueKind.Number || !e.TryGetDouble(out double d) || !double.IsFinite(d)) throw ApiError.BadRequest($"'{name}' must be a number.", name);
        return d;
    }

    private static double? Temperature(JsonElement root, string name)
    {
        double? t = OptionalNumber(root, name);
        if (t is <= 0 or > 5) throw ApiError.BadRequest($"'{name}' must lie in (0, 5], not {t}.", name);
        return t;
    }
}
