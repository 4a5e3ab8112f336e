using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using BarkSharp.Cloning;
using BarkSharp.IO;
using Microsoft.Extensions.Options;

namespace BarkSharp.Server;

/// <summary>A voice <c>GET /v1/audio/voices</c> lists.</summary>
/// <param name="Id">What a request's <c>voice</c> names.</param>
/// <param name="Type"><c>preset</c> (the model's), <c>alias</c> (an OpenAI name mapped to a preset) or <c>custom</c> (uploaded).</param>
/// <param name="Preset">For an alias, the preset it names.</param>
/// <param name="CreatedAt">For a custom voice, when it was stored (Unix seconds).</param>
internal sealed record VoiceInfo(string Id, string Type, string? Preset = null, long? CreatedAt = null);

/// <summary>
/// Resolves a request's voice (OpenAI name, preset, custom id, <c>random</c>) and keeps uploaded voices in the voices
/// folder as <c>voice_NAME.npz</c>. A custom id must match <c>voice_[a-z0-9_-]{1,64}</c>, so no id can name a path
/// outside the folder; uploads are validated like <c>--voice FILE.npz</c> and stored through a temporary file moved into place.
/// </summary>
internal sealed partial class VoiceStore(IOptions<BarkServerOptions> options)
{
    private readonly ConcurrentDictionary<string, VoicePreset> _presets = new(StringComparer.Ordinal);
    private readonly Lock _clonerLock = new();
    private VoiceCloner? _cloner;

    [GeneratedRegex("^voice_[a-z0-9_-]{1,64}$", RegexOptions.CultureInvariant)]
    private static partial Regex CustomId();

    [GeneratedRegex("^[a-z0-9][a-z0-9_-]{0,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex CustomName();

    /// <summary>The voices folder, full path.</summary>
    public string Folder => Path.GetFullPath(options.Value.VoicesDirectory);

    /// <summary>Whether <paramref name="id"/> has the shape of a custom voice id.</summary>
    public static bool IsCustomId(string id) => CustomId().IsMatch(id);

    /// <summary>The voice a request names, or null for Bark's random voice.</summary>
    /// <exception cref="ApiError">400 <c>voice_not_found</c>.</exception>
    public VoicePreset? Resolve(string? voice, ISpeechEngine engine)
    {
        BarkServerOptions o = options.Value;
        voice = string.IsNullOrWhiteSpace(voice) ? o.DefaultVoice : voice.Trim();
        if (string.IsNullOrWhiteSpace(voice) || voice.Equals("random", StringComparison.OrdinalIgnoreCase)) return null;
        if (o.VoiceMap.TryGetValue(voice, out string? mapped) && !string.IsNullOrWhiteSpace(mapped))
        {
            if (!engine.Presets.Contains(mapped, StringComparer.Ordinal))
                throw ApiError.BadRequest($"The voice '{voice}' maps to the preset '{mapped}', which this model does not have. Change Bark:VoiceMap or pick a preset from GET /v1/audio/voices.", "voice", "voice_not_found");
            return LoadPreset(mapped, engine);
        }
        if (engine.Presets.Contains(voice, StringComparer.Ordinal)) return LoadPreset(voice, engine);
        if (IsCustomId(voice))
        {
            string path = PathOf(voice);
            if (File.Exists(path))
            {
                try
                {
                    return VoicePreset.FromArrays(NpzFile.Read(new MemoryStream(File.ReadAllBytes(path)), voice), voice);
                }
                catch (BarkException e)
                {
                    throw ApiError.BadRequest($"The custom voice '{voice}' cannot be read: {e.Message}", "voice", "invalid_voice");
                }
            }
        }
        throw ApiError.BadRequest($"Unknown voice '{voice}'. Use an OpenAI voice name ({string.Join(", ", o.VoiceMap.Keys.Order())}), a preset, a custom voice id or 'random'; GET /v1/audio/voices lists them.", "voice", "voice_not_found");
    }

    private VoicePreset LoadPreset(string name, ISpeechEngine engine) => _presets.GetOrAdd(name, n => engine.LoadPreset(n));

    /// <summary>Presets, aliases and custom voices.</summary>
    public IReadOnlyList<VoiceInfo> List(ISpeechEngine engine)
    {
        var list = new List<VoiceInfo>();
        list.AddRange(options.Value.VoiceMap.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => new VoiceInfo(p.Key, "alias", p.Value)));
        list.AddRange(engine.Presets.Select(p => new VoiceInfo(p, "preset")));
        if (Directory.Exists(Folder))
            foreach (string file in Directory.EnumerateFiles(Folder, "voice_*.npz").Order(StringComparer.Ordinal))
            {
                string id = Path.GetFileNameWithoutExtension(file);
                if (IsCustomId(id)) list.Add(new VoiceInfo(id, "custom", CreatedAt: new DateTimeOffset(File.GetLastWriteTimeUtc(file)).ToUnixTimeSeconds()));
            }
        return list;
    }

    /// <summary>Validates an uploaded <c>.npz</c> and stores it atomically under a new id.</summary>
    /// <param name="content">The file's bytes.</param>
    /// <param name="fileName">The client's file name (for messages only).</param>
    /// <param name="name">Requested name (id <c>voice_NAME</c>), or null for a random id.</param>
    /// <exception cref="ApiError">400 for a bad name or file, 409 when the id exists.</exception>
    public VoiceInfo Add(byte[] content, string? fileName, string? name)
    {
        string id;
        if (string.IsNullOrWhiteSpace(name))
        {
            id = "voice_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        }
        else
        {
            string n = name.Trim();
            if (n.StartsWith("voice_", StringComparison.Ordinal)) n = n["voice_".Length..];
            if (!CustomName().IsMatch(n))
                throw ApiError.BadRequest("A voice name is 1 to 64 characters of a-z, 0-9, '_' and '-', starting with a letter or digit.", "name", "invalid_voice_name");
            id = "voice_" + n;
        }
        string label = string.IsNullOrWhiteSpace(fileName) ? "the upload" : Path.GetFileName(fileName);
        if (IsWav(content))
        {
            content = CloneToNpz(content, label);
        }
        else
        {
            try
            {
                VoicePreset.FromArrays(NpzFile.Read(new MemoryStream(content, writable: false), label), label);
            }
            catch (BarkException e)
            {
                throw ApiError.BadRequest($"Not a valid Bark voice prompt: {e.Message}", "file", "invalid_voice");
            }
        }

        Directory.CreateDirectory(Folder);
        string final = PathOf(id);
        string temp = Path.Combine(Folder, $".{id}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
            {
                stream.Write(content);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, final, overwrite: false);
        }
        catch (IOException) when (File.Exists(final))
        {
            throw new ApiError(409, $"A voice with the id '{id}' exists; delete it first or choose another name.", "invalid_request_error", "voice_exists", "name");
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
        return new VoiceInfo(id, "custom", CreatedAt: DateTimeOffset.UtcNow.ToUnixTimeSeconds());
    }

    private static bool IsWav(byte[] content) => content.Length >= 12 && content.AsSpan(0, 4).SequenceEqual("RIFF"u8) && content.AsSpan(8, 4).SequenceEqual("WAVE"u8);

    /// <summary>
    /// A WAV recording cloned into a voice prompt (HuBERT + quantizer for the semantic prompt, the model's EnCodec
    /// encoder for the codes), as <c>.npz</c> bytes. The cloning models load on the first WAV upload.
    /// </summary>
    private byte[] CloneToNpz(byte[] wav, string label)
    {
        WavAudio audio;
        try
        {
            audio = WavReader.Read(wav, label);
        }
        catch (BarkException e)
        {
            throw ApiError.BadRequest($"Not a WAV recording that can be cloned: {e.Message}", "file", "invalid_voice");
        }
        VoiceCloner cloner;
        try
        {
            lock (_clonerLock)
            {
                BarkServerOptions o = options.Value;
                cloner = _cloner ??= VoiceCloner.FromPretrained(new VoiceCloningOptions
                {
                    BarkModel = o.Model,
                    Hubert = o.CloneHubert,
                    HubertLayer = o.CloneHubertLayer,
                    Quantizer = o.CloneQuantizer,
                    MaxThreads = o.Threads,
                });
            }
        }
        catch (BarkException e)
        {
            throw new ApiError(503, $"Voice cloning is not available: its models could not be loaded ({e.Message}).", "server_error", "cloning_unavailable");
        }
        VoicePreset voice;
        try
        {
            voice = cloner.Clone(audio);
        }
        catch (BarkException e)
        {
            throw ApiError.BadRequest($"The recording cannot be cloned: {e.Message}", "file", "invalid_voice");
        }
        using var npz = new MemoryStream();
        NpzFile.Write(npz, voice.ToArrays());
        return npz.ToArray();
    }

    /// <summary>Deletes a custom voice.</summary>
    /// <exception cref="ApiError">400 for an id that is not a custom id, 404 when there is no such voice.</exception>
    public void Delete(string id)
    {
        if (!IsCustomId(id))
            throw ApiError.BadRequest($"'{id}' is not a custom voice id (voice_ followed by a-z, 0-9, '_' or '-'); presets and OpenAI names cannot be deleted.", "id", "invalid_voice_id");
        string path = PathOf(id);
        if (!File.Exists(path)) throw new ApiError(404, $"No custom voice '{id}'.", "invalid_request_error", "voice_not_found", "id");
        File.Delete(path);
    }

    /// <summary>The file of a custom id, checked to lie directly in the voices folder.</summary>
    private string PathOf(string id)
    {
        if (!IsCustomId(id)) throw new ArgumentException("not a custom voice id", nameof(id));
        string folder = Folder;
        string path = Path.GetFullPath(Path.Combine(folder, id + ".npz"));
        if (!string.Equals(Path.GetDirectoryName(path), Path.TrimEndingDirectorySeparator(folder), StringComparison.Ordinal))
            throw new ArgumentException("voice path outside the voices folder", nameof(id));
        return path;
    }
}
