using System.Text.Json;
using BarkSharp.IO;

namespace BarkSharp;

/// <summary>
/// A Bark voice ("history prompt"): the tokens of a short recording that the three generators continue from, so the
/// output keeps its speaker and recording conditions. The same three arrays as suno's <c>.npz</c> prompts and
/// Transformers' <c>history_prompt</c>: <c>semantic_prompt</c> [T_s], <c>coarse_prompt</c> [2, T] and
/// <c>fine_prompt</c> [8, T].
/// </summary>
/// <remarks>
/// <para>Validation follows Transformers (every key present; ranks 1, 2, 2) and goes further where Transformers would
/// generate garbage or crash later: the arrays must hold integers, the coarse prompt 2 rows and the fine prompt 8, the
/// semantic tokens must lie in 0..9999 and the codec codes in 0..1023, and no array may be empty (a prompt without
/// tokens is refused rather than read as "no history": to generate without a voice, pass none).</para>
/// <para>Any integer element type is accepted and widened to <see cref="long"/>, unsigned ones included. Suno's v1
/// <c>announcer</c> preset is stored as uint16; Transformers 4.43 with torch 1.13 fails on it ("Unable to create
/// tensor"), but its values are ordinary codes, so BarkSharp loads it.</para>
/// <para>The arrays are exposed as-is for speed; treat them as read-only.</para>
/// </remarks>
public sealed partial class VoicePreset
{
    /// <summary>Number of semantic tokens (HuBERT clusters): semantic prompt values lie below this.</summary>
    public const int SemanticVocabularySize = 10_000;

    /// <summary>Codes per EnCodec codebook: coarse and fine prompt values lie below this.</summary>
    public const int CodebookSize = 1024;

    /// <summary>Rows of the coarse prompt (codebooks the coarse model generates).</summary>
    public const int CoarseCodebooks = 2;

    /// <summary>Rows of the fine prompt (all EnCodec codebooks at 6 kbps).</summary>
    public const int FineCodebooks = 8;

    /// <summary>The archive member names (without <c>.npy</c>) and keys Transformers uses.</summary>
    public static readonly IReadOnlyList<string> ArrayNames = ["semantic_prompt", "coarse_prompt", "fine_prompt"];

    private VoicePreset(long[] semanticPrompt, long[][] coarsePrompt, long[][] finePrompt, string? source)
    {
        SemanticPrompt = semanticPrompt;
        CoarsePrompt = coarsePrompt;
        FinePrompt = finePrompt;
        Source = source;
    }

    /// <summary>Semantic tokens, values in 0..9999.</summary>
    public long[] SemanticPrompt { get; }

    /// <summary>The first two EnCodec codebooks, [2][T], values in 0..1023.</summary>
    public long[][] CoarsePrompt { get; }

    /// <summary>All eight EnCodec codebooks, [8][T], values in 0..1023.</summary>
    public long[][] FinePrompt { get; }

    /// <summary>Where the preset came from (its name or file), or null when built from arrays.</summary>
    public string? Source { get; }

    /// <summary>Creates a preset from arrays (copied), validating shapes and value ranges.</summary>
    /// <exception cref="BarkVoiceException">An array is missing, empty, ragged, has the wrong number of rows or holds an out-of-range value.</exception>
    public static VoicePreset FromArrays(long[] semanticPrompt, long[][] coarsePrompt, long[][] finePrompt)
    {
        if (semanticPrompt is null || coarsePrompt is null || finePrompt is null)
            throw new BarkVoiceException(null, "a voice preset needs semantic_prompt, coarse_prompt and fine_prompt; one of them is null.");
        long[] semantic = (long[])semanticPrompt.Clone();
        long[][] coarse = CopyRows(coarsePrompt, "coarse_prompt", CoarseCodebooks);
        long[][] fine = CopyRows(finePrompt, "fine_prompt", FineCodebooks);
        return Validated(semantic, coarse, fine, source: null);
    }

    /// <summary>
    /// Creates a preset from NumPy arrays keyed <c>semantic_prompt</c>, <c>coarse_prompt</c> and <c>fine_prompt</c>
    /// (what an <c>.npz</c> holds; other keys are ignored, as in Transformers).
    /// </summary>
    /// <param name="arrays">The arrays.</param>
    /// <param name="source">A name or path for error messages and <see cref="Source"/>.</param>
    /// <exception cref="BarkVoiceException">A key is missing, or an array is empty or has the wrong rank, element type, rows or values.</exception>
    internal static VoicePreset FromArrays(IReadOnlyDictionary<string, NpyArray> arrays, string? source = null)
    {
        ArgumentNullException.ThrowIfNull(arrays);
        foreach (string key in ArrayNames)
            if (!arrays.ContainsKey(key))
                throw new BarkVoiceException(source, $"{Describe(source)}has no '{key}' array (it has {FormatKeys(arrays.Keys)}). " +
                                                     "A Bark voice preset needs semantic_prompt (1-D), coarse_prompt (2-D, 2 rows) and fine_prompt (2-D, 8 rows).");
        long[] semantic = Codes(arrays["semantic_prompt"], "semantic_prompt", 1, source);
        long[][] coarse = Rows(arrays["coarse_prompt"], "coarse_prompt", source);
        long[][] fine = Rows(arrays["fine_prompt"], "fine_prompt", source);
        return Validated(semantic, coarse, fine, source);
    }

    /// <summary>
    /// Reads a suno-format <c>.npz</c> voice prompt (<c>semantic_prompt</c>, <c>coarse_prompt</c>, <c>fine_prompt</c>),
    /// e.g. <c>bark/assets/prompts/v2/en_speaker_6.npz</c> or one written by <see cref="SaveNpz"/>.
    /// </summary>
    /// <exception cref="BarkVoiceException">The file is missing, truncated or not an npz, or its arrays are not a valid preset.</exception>
    public static VoicePreset FromNpz(string path)
    {
        IReadOnlyDictionary<string, NpyArray> arrays;
        try
        {
            arrays = NpzFile.Load(path);
        }
        catch (BarkFormatException e)
        {
            throw new BarkVoiceException(path, $"voice preset file {e.Message}", e);
        }
        return FromArrays(arrays, path);
    }

    /// <summary>
    /// Loads a preset of a model folder by name (a key of its <c>speaker_embeddings_path.json</c>, e.g.
    /// <c>v2/en_speaker_6</c>), or, for any other string, from that <c>.npz</c> path (<c>.npz</c> appended when missing),
    /// as Transformers' <c>BarkProcessor</c> does.
    /// </summary>
    /// <exception cref="BarkVoiceException">The name is unknown (the message lists the available ones) or the preset is invalid.</exception>
    public static VoicePreset Load(string modelFolder, string nameOrPath) => VoicePresetIndex.Read(modelFolder).Load(nameOrPath);

    /// <summary>The preset names a model folder's <c>speaker_embeddings_path.json</c> lists, in file order (empty without one).</summary>
    public static IReadOnlyList<string> AvailablePresets(string modelFolder) => VoicePresetIndex.Read(modelFolder).Names;

    /// <summary>
    /// The preset as NumPy arrays in suno's <c>.npz</c> layout, all int64: <c>semantic_prompt</c> [T_s],
    /// <c>coarse_prompt</c> [2, T], <c>fine_prompt</c> [8, T]. (Suno's own files store <c>fine_prompt</c> as int32;
    /// both load everywhere.)
    /// </summary>
    internal IReadOnlyDictionary<string, NpyArray> ToArrays()
    {
        int coarseLength = CoarsePrompt[0].Length, fineLength = FinePrompt[0].Length;
        return new OrderedDictionary<string, NpyArray>
        {
            ["semantic_prompt"] = NpyArray.FromInt64(SemanticPrompt, SemanticPrompt.Length),
            ["coarse_prompt"] = NpyArray.FromInt64([.. CoarsePrompt.SelectMany(r => r)], CoarseCodebooks, coarseLength),
            ["fine_prompt"] = NpyArray.FromInt64([.. FinePrompt.SelectMany(r => r)], FineCodebooks, fineLength),
        };
    }

    /// <summary>
    /// Writes the preset as a suno-compatible <c>.npz</c> (see <see cref="ToArrays"/>) through <see cref="OutputFile"/>:
    /// atomically, keeping a replaced file's permission bits. The path is used as given (Transformers and suno add
    /// <c>.npz</c> when loading a name without it).
    /// </summary>
    /// <exception cref="BarkOutputException">The path cannot be written.</exception>
    public void SaveNpz(string path) => NpzFile.Save(path, ToArrays());

    private static VoicePreset Validated(long[] semantic, long[][] coarse, long[][] fine, string? source)
    {
        // An empty array is no voice: Transformers would feed an empty history and generate as if none were given, and the
        // codec would render 0 frames. Refused, so "no voice" is said by leaving the voice out.
        foreach ((string key, int length) in new[] { ("semantic_prompt", semantic.Length), ("coarse_prompt", coarse.Length == 0 ? 0 : coarse[0].Length), ("fine_prompt", fine.Length == 0 ? 0 : fine[0].Length) })
        {
            if (length == 0)
                throw new BarkVoiceException(source, $"{Describe(source)}{key} is empty; a voice prompt needs at least one " +
                                                     $"{(key == "semantic_prompt" ? "semantic token" : "frame of codes")}. To generate without a voice, give none.");
        }
        CheckRange(semantic, "semantic_prompt", -1, SemanticVocabularySize, source);
        if (coarse.Length != CoarseCodebooks)
            throw new BarkVoiceException(source, $"{Describe(source)}coarse_prompt has {coarse.Length} rows; Bark's coarse prompt has {CoarseCodebooks} (one per coarse codebook).");
        if (fine.Length != FineCodebooks)
            throw new BarkVoiceException(source, $"{Describe(source)}fine_prompt has {fine.Length} rows; Bark's fine prompt has {FineCodebooks} (one per EnCodec codebook).");
        for (int r = 0; r < coarse.Length; r++) CheckRange(coarse[r], "coarse_prompt", r, CodebookSize, source);
        for (int r = 0; r < fine.Length; r++) CheckRange(fine[r], "fine_prompt", r, CodebookSize, source);
        return new VoicePreset(semantic, coarse, fine, source);
    }

    private static void CheckRange(long[] values, string key, int row, int limit, string? source)
    {
        for (int i = 0; i < values.Length; i++)
        {
            if ((ulong)values[i] >= (ulong)limit)
            {
                string at = row < 0 ? $"[{i}]" : $"[{row}, {i}]";
                throw new BarkVoiceException(source, $"{Describe(source)}{key}{at} is {values[i]}, outside 0..{limit - 1}; this is not a Bark voice preset (or it is corrupt).");
            }
        }
    }

    private static long[][] CopyRows(long[][] rows, string key, int expectedRows)
    {
        if (rows.Length != expectedRows)
            throw new BarkVoiceException(null, $"{key} has {rows.Length} rows; Bark's {key} has {expectedRows}.");
        var copy = new long[rows.Length][];
        for (int r = 0; r < rows.Length; r++)
        {
            if (rows[r] is null || rows[r].Length != rows[0]?.Length)
                throw new BarkVoiceException(null, $"{key} rows must all have the same length (row {r} differs from row 0).");
            copy[r] = (long[])rows[r].Clone();
        }
        return copy;
    }

    private static long[][] Rows(NpyArray array, string key, string? source)
    {
        long[] flat = Codes(array, key, 2, source);
        int rows = (int)array.Shape[0], columns = (int)array.Shape[1];
        var result = new long[rows][];
        for (int r = 0; r < rows; r++) result[r] = flat.AsSpan(r * columns, columns).ToArray();
        return result;
    }

    private static long[] Codes(NpyArray array, string key, int rank, string? source)
    {
        if (array.Shape.Length != rank)
            throw new BarkVoiceException(source, $"{Describe(source)}{key} must be a {rank}-D array, found shape {TensorInfo.FormatShape(array.Shape)}.");
        if (!array.DType.IsInteger())
            throw new BarkVoiceException(source, $"{Describe(source)}{key} holds {array.DType} values, but voice presets hold integer token codes (int64 or int32; unsigned types are accepted).");
        try
        {
            return array.ToInt64();
        }
        catch (OverflowException e)
        {
            throw new BarkVoiceException(source, $"{Describe(source)}{key} holds a uint64 value beyond the int64 range; this is not a Bark voice preset.", e);
        }
    }

    private static string Describe(string? source) => source is null ? "" : $"voice preset '{source}': ";

    private static string FormatKeys(IEnumerable<string> keys)
    {
        string[] list = [.. keys];
        return list.Length == 0 ? "no arrays" : string.Join(", ", list.Select(k => $"'{k}'"));
    }
}

/// <summary>
/// A model folder's voice preset index, <c>speaker_embeddings_path.json</c> (or the <c>speaker_embeddings</c> entry of
/// <c>processor_config.json</c>): preset name → the three <c>.npy</c> files, relative to the model folder.
/// </summary>
internal sealed class VoicePresetIndex
{
    private const int NamesShownInErrors = 40;

    private readonly Dictionary<string, Dictionary<string, string>> _entries;
    private readonly string[] _searchFolders;
    private readonly Func<string, CancellationToken, string?>? _fetch;

    private VoicePresetIndex(string? indexPath, List<string> names, Dictionary<string, Dictionary<string, string>> entries, string[] searchFolders,
        Func<string, CancellationToken, string?>? fetch)
    {
        IndexPath = indexPath;
        Names = names;
        _entries = entries;
        _searchFolders = searchFolders;
        _fetch = fetch;
    }

    /// <summary>Every <c>.npy</c> path the index names, relative to the model folder, each once.</summary>
    public IReadOnlyList<string> Files => [.. Names.SelectMany(n => _entries[n].Values).Distinct(StringComparer.Ordinal)];

    /// <summary>The index file, or null when the folder has none.</summary>
    public string? IndexPath { get; }

    /// <summary>Preset names, in file order.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>Reads the index of <paramref name="modelFolder"/>; an empty index when it has none.</summary>
    /// <param name="modelFolder">The model folder.</param>
    /// <param name="fetch">
    /// Called with a preset file's relative path when no search folder has it (a hub snapshot fetches it on demand);
    /// returns its local path, or null when it cannot be had.
    /// </param>
    /// <exception cref="BarkConfigException">The index exists but is malformed.</exception>
    public static VoicePresetIndex Read(string modelFolder, Func<string, CancellationToken, string?>? fetch = null)
    {
        string path = Path.Combine(modelFolder, "speaker_embeddings_path.json");
        string processorConfig = Path.Combine(modelFolder, "processor_config.json");
        JsonDocument doc;
        JsonElement root;
        if (File.Exists(path))
        {
            doc = Configuration.JsonSection.ParseFile(path);
            root = doc.RootElement;
        }
        else if (File.Exists(processorConfig))
        {
            doc = Configuration.JsonSection.ParseFile(processorConfig);
            path = processorConfig;
            if (!doc.RootElement.TryGetProperty("speaker_embeddings", out root) || root.ValueKind != JsonValueKind.Object)
            {
                doc.Dispose();
                return new VoicePresetIndex(null, [], [], [modelFolder], fetch);
            }
        }
        else
        {
            return new VoicePresetIndex(null, [], [], [modelFolder], fetch);
        }

        using (doc)
        {
            if (root.ValueKind != JsonValueKind.Object)
                throw new BarkConfigException($"{path} must be a JSON object mapping preset names to their .npy files.");
            var names = new List<string>();
            var entries = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
            var folders = new List<string> { modelFolder };
            foreach (JsonProperty p in root.EnumerateObject())
            {
                if (p.Name == "repo_or_path")
                {
                    // A hub id ("suno/bark-small") or a folder. Files are looked up in the model folder first (where a
                    // downloaded snapshot keeps them), then in that folder if it exists on this machine.
                    if (p.Value.ValueKind == JsonValueKind.String && p.Value.GetString() is { Length: > 0 } repo)
                    {
                        string candidate = Path.IsPathRooted(repo) ? repo : Path.Combine(modelFolder, repo);
                        if (Directory.Exists(candidate) && Path.GetFullPath(candidate) != Path.GetFullPath(modelFolder)) folders.Add(candidate);
                    }
                    continue;
                }
                if (p.Value.ValueKind != JsonValueKind.Object)
                    throw new BarkConfigException($"{path}: the entry '{p.Name}' must map semantic_prompt, coarse_prompt and fine_prompt to .npy paths.");
                var files = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (JsonProperty f in p.Value.EnumerateObject())
                    if (f.Value.ValueKind == JsonValueKind.String) files[f.Name] = f.Value.GetString()!;
                names.Add(p.Name);
                entries[p.Name] = files;
            }
            return new VoicePresetIndex(path, names, entries, [.. folders], fetch);
        }
    }

    /// <summary>Loads a preset by name, or from an <c>.npz</c> path when the string is not a name.</summary>
    public VoicePreset Load(string nameOrPath, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(nameOrPath);
        if (_entries.TryGetValue(nameOrPath, out Dictionary<string, string>? files)) return LoadEntry(nameOrPath, files, cancellationToken);

        string npz = nameOrPath.EndsWith(".npz", StringComparison.Ordinal) ? nameOrPath : nameOrPath + ".npz";
        if (File.Exists(npz)) return VoicePreset.FromNpz(npz);
        if (Directory.Exists(nameOrPath))
            throw new BarkVoiceException(nameOrPath, $"'{nameOrPath}' is a folder; a voice is a preset name (see the model's speaker_embeddings_path.json) or a suno-format .npz file.");

        string available = Names.Count == 0
            ? IndexPath is null ? "The model folder has no speaker_embeddings_path.json, so no preset names are known." : $"{IndexPath} lists no presets."
            : $"Available presets ({Names.Count}): {string.Join(", ", Names.Take(NamesShownInErrors))}{(Names.Count > NamesShownInErrors ? $", … and {Names.Count - NamesShownInErrors} more" : "")}.";
        throw new BarkVoiceException(nameOrPath, $"unknown voice preset '{nameOrPath}': it is not a preset name and there is no file '{Path.GetFullPath(npz)}'. {available}");
    }

    private VoicePreset LoadEntry(string name, Dictionary<string, string> files, CancellationToken cancellationToken)
    {
        var arrays = new Dictionary<string, NpyArray>(StringComparer.Ordinal);
        foreach (string key in VoicePreset.ArrayNames)
        {
            if (!files.TryGetValue(key, out string? relative))
                throw new BarkVoiceException(name, $"voice preset '{name}': {IndexPath} gives no '{key}' file for it.");
            string? path = _searchFolders.Select(folder => Path.Combine(folder, relative)).FirstOrDefault(File.Exists) ?? _fetch?.Invoke(relative, cancellationToken);
            if (path is null)
                throw new BarkVoiceException(name, $"voice preset '{name}': its {key} file '{relative}' is not in {string.Join(" or ", _searchFolders.Select(Path.GetFullPath))}. " +
                                                   "Download the model's speaker_embeddings folder (e.g. with `huggingface-cli download <repo> --include \"speaker_embeddings/*\"`).");
            try
            {
                arrays[key] = NpyArray.Load(path);
            }
            catch (BarkFormatException e)
            {
                throw new BarkVoiceException(name, $"voice preset '{name}': {e.Message}", e);
            }
        }
        return VoicePreset.FromArrays(arrays, name);
    }
}
