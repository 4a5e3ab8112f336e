using System.Text.Json;
using BarkSharp.IO;

namespace BarkSharp.Tests.Infrastructure;

/// <summary>Paths of the fixtures copied from shared/fixtures into tests/fixtures, and the reference manifest.</summary>
internal static class Fixtures
{
    private static readonly Lazy<string> RootLazy = new(FindRoot);
    private static readonly Lazy<JsonDocument> ManifestLazy = new(() => JsonDocument.Parse(File.ReadAllBytes(Path.Combine(ReferenceDir, "manifest.json"))));

    /// <summary>tests/fixtures.</summary>
    public static string Root => RootLazy.Value;

    /// <summary>The tiny random-weight Bark model folder.</summary>
    public static string TinyBark => Path.Combine(Root, "tiny-bark");

    /// <summary>Real assets (vocab, voice presets).</summary>
    public static string Assets => Path.Combine(Root, "assets");

    /// <summary>Reference outputs produced by Transformers.</summary>
    public static string ReferenceDir => Path.Combine(Root, "reference");

    /// <summary>The parsed manifest.json.</summary>
    public static JsonElement Manifest => ManifestLazy.Value.RootElement;

    /// <summary>The manifest case with the given id.</summary>
    public static ReferenceCase Case(string id)
    {
        foreach (JsonElement c in Manifest.GetProperty("cases").EnumerateArray())
            if (c.GetProperty("id").GetString() == id) return new ReferenceCase(c);
        throw new ArgumentException($"no manifest case '{id}'");
    }

    /// <summary>Ids of all cases of one kind.</summary>
    public static IEnumerable<string> CaseIds(string kind) =>
        Manifest.GetProperty("cases").EnumerateArray()
            .Where(c => c.GetProperty("kind").GetString() == kind)
            .Select(c => c.GetProperty("id").GetString()!);

    /// <summary>A fresh temporary directory, deleted by the caller.</summary>
    public static string TempDir()
    {
        string dir = Path.Combine(Path.GetTempPath(), "barksharp-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static string FindRoot()
    {
        for (string? dir = AppContext.BaseDirectory; dir is not null; dir = Path.GetDirectoryName(dir))
        {
            string candidate = Path.Combine(dir, "tests", "fixtures");
            if (File.Exists(Path.Combine(candidate, "reference", "manifest.json"))) return candidate;
        }
        throw new DirectoryNotFoundException("tests/fixtures not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>One case of the reference manifest.</summary>
internal sealed class ReferenceCase(JsonElement element)
{
    /// <summary>The raw JSON.</summary>
    public JsonElement Json { get; } = element;

    /// <summary>The case id.</summary>
    public string Id => Json.GetProperty("id").GetString()!;

    /// <summary>Loads an input array described by <c>{"file", "dtype", "shape"}</c> under <paramref name="name"/>.</summary>
    public NpyArray Input(string name) => LoadDescriptor(Json.GetProperty(name));

    /// <summary>Loads a reference output.</summary>
    public NpyArray Output(string name) => LoadDescriptor(Json.GetProperty("outputs").GetProperty(name));

    /// <summary>Names of the outputs.</summary>
    public IEnumerable<string> OutputNames => Json.GetProperty("outputs").EnumerateObject().Select(p => p.Name);

    /// <summary>The (atol, rtol) tolerance of an output.</summary>
    public (double Atol, double Rtol) Tolerance(string name)
    {
        JsonElement t = Json.GetProperty("tolerance").GetProperty(name);
        return (t.GetProperty("atol").GetDouble(), t.GetProperty("rtol").GetDouble());
    }

    private static NpyArray LoadDescriptor(JsonElement d) =>
        NpyArray.Load(Path.Combine(Fixtures.ReferenceDir, d.GetProperty("file").GetString()!));
}
