using System.Text.Json;

namespace BarkSharp.Configuration;

/// <summary>
/// One JSON object of a config file, read field by field with Transformers' defaults for absent keys and an error
/// naming the file, section and field for a value of the wrong type.
/// </summary>
internal readonly struct JsonSection
{
    private readonly JsonElement _element;
    private readonly IReadOnlyDictionary<string, string> _aliases;

    public JsonSection(JsonElement element, string where, IReadOnlyDictionary<string, string>? aliases = null)
    {
        if (element.ValueKind != JsonValueKind.Object)
            throw new BarkConfigException($"{where} must be a JSON object, found {element.ValueKind}.");
        _element = element;
        Where = where;
        _aliases = aliases ?? new Dictionary<string, string>();
    }

    public string Where { get; }

    public static JsonDocument ParseFile(string path)
    {
        if (!File.Exists(path))
            throw new BarkConfigException($"{path} does not exist. A Bark model folder needs config.json (and generation_config.json); point at a complete Hugging Face snapshot.");
        try
        {
            return JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException e)
        {
            throw new BarkConfigException($"{path} is not valid JSON: {e.Message}", e);
        }
    }

    public bool Has(string name) => TryGet(name, out _);

    public JsonSection Section(string name)
    {
        if (!TryGet(name, out JsonElement e) || e.ValueKind == JsonValueKind.Null)
            throw new BarkConfigException($"{Where} has no '{name}' section; it is required.");
        return new JsonSection(e, $"{Where}.{name}");
    }

    public JsonSection? OptionalSection(string name, IReadOnlyDictionary<string, string>? aliases = null) =>
        TryGet(name, out JsonElement e) && e.ValueKind != JsonValueKind.Null ? new JsonSection(e, $"{Where}.{name}", aliases) : null;

    public JsonSection WithAliases(IReadOnlyDictionary<string, string> aliases) => new(_element, Where, aliases);

    public int Int(string name, int fallback) => NullableInt(name) ?? fallback;

    public int? NullableInt(string name)
    {
        if (!TryGet(name, out JsonElement e) || e.ValueKind == JsonValueKind.Null) return null;
        if (e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out int v)) return v;
        if (e.ValueKind == JsonValueKind.Number && e.TryGetDouble(out double d) && d == Math.Floor(d) && Math.Abs(d) < int.MaxValue) return (int)d;
        throw WrongType(name, "an integer", e);
    }

    public double Double(string name, double fallback) => NullableDouble(name) ?? fallback;

    public double? NullableDouble(string name)
    {
        if (!TryGet(name, out JsonElement e) || e.ValueKind == JsonValueKind.Null) return null;
        if (e.ValueKind == JsonValueKind.Number) return e.GetDouble();
        throw WrongType(name, "a number", e);
    }

    public bool Bool(string name, bool fallback)
    {
        if (!TryGet(name, out JsonElement e) || e.ValueKind == JsonValueKind.Null) return fallback;
        return e.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw WrongType(name, "true or false", e),
        };
    }

    public string? String(string name, string? fallback)
    {
        if (!TryGet(name, out JsonElement e) || e.ValueKind == JsonValueKind.Null) return fallback;
        return e.ValueKind == JsonValueKind.String ? e.GetString() : throw WrongType(name, "a string", e);
    }

    public double[] DoubleArray(string name, double[] fallback)
    {
        if (!TryGet(name, out JsonElement e) || e.ValueKind == JsonValueKind.Null) return fallback;
        if (e.ValueKind != JsonValueKind.Array) throw WrongType(name, "an array of numbers", e);
        var result = new double[e.GetArrayLength()];
        int i = 0;
        foreach (JsonElement x in e.EnumerateArray())
            result[i++] = x.ValueKind == JsonValueKind.Number ? x.GetDouble() : throw WrongType(name, "an array of numbers", e);
        return result;
    }

    public int[] IntArray(string name, int[] fallback)
    {
        if (!TryGet(name, out JsonElement e) || e.ValueKind == JsonValueKind.Null) return fallback;
        if (e.ValueKind != JsonValueKind.Array) throw WrongType(name, "an array of integers", e);
        var result = new int[e.GetArrayLength()];
        int i = 0;
        foreach (JsonElement x in e.EnumerateArray())
            result[i++] = x.ValueKind == JsonValueKind.Number && x.TryGetInt32(out int v) ? v : throw WrongType(name, "an array of integers", e);
        return result;
    }

    /// <summary>An integer, or the first element of an integer list (Transformers allows both for token ids).</summary>
    public int? IntOrFirstOfList(string name)
    {
        if (TryGet(name, out JsonElement e) && e.ValueKind == JsonValueKind.Array)
            return e.GetArrayLength() == 0 ? null : IntArray(name, [])[0];
        return NullableInt(name);
    }

    private bool TryGet(string name, out JsonElement value)
    {
        if (_element.TryGetProperty(name, out value)) return true;
        foreach (var (alias, canonical) in _aliases)
            if (canonical == name && _element.TryGetProperty(alias, out value)) return true;
        return false;
    }

    private BarkConfigException WrongType(string name, string expected, JsonElement found) =>
        new($"{Where}.{name} must be {expected}, found {found.GetRawText()}.");
}
