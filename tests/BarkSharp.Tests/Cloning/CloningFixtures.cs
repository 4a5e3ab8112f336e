using System.Text.Json;
using BarkSharp.IO;
using BarkSharp.Tests.Infrastructure;
using Xunit.Abstractions;

namespace BarkSharp.Tests.Cloning;

/// <summary>tests/fixtures/cloning (copied from shared/fixtures/cloning): the WAVs, tiny models and the reference manifest.</summary>
internal static class CloningFixtures
{
    private static readonly Lazy<JsonDocument> ManifestLazy = new(() => JsonDocument.Parse(File.ReadAllBytes(Path.Combine(ReferenceDir, "manifest.json"))));

    /// <summary>tests/fixtures/cloning.</summary>
    public static string Root => Path.Combine(Fixtures.Root, "cloning");

    /// <summary>The reference outputs.</summary>
    public static string ReferenceDir => Path.Combine(Root, "reference");

    /// <summary>The tiny HuBERT folder.</summary>
    public static string HubertTiny => Path.Combine(Root, "hubert-tiny");

    /// <summary>The tiny v0 quantizer.</summary>
    public static string QuantizerV0 => Path.Combine(Root, "quantizer", "tiny_quantizer_v0.pth");

    /// <summary>The tiny v1 quantizer (64 classes).</summary>
    public static string QuantizerV1 => Path.Combine(Root, "quantizer", "tiny_quantizer_v1_out64.pth");

    /// <summary>A fixture WAV by stem.</summary>
    public static string Wav(string stem) => Path.Combine(Root, "wav", stem + ".wav");

    /// <summary>The HuBERT output layer the tiny fixtures use.</summary>
    public static int TinyHubertLayer => ManifestLazy.Value.RootElement.GetProperty("hubert").GetProperty("output_layer").GetInt32();

    /// <summary>The manifest case with the given id.</summary>
    public static CloningCase Case(string id)
    {
        foreach (JsonElement c in ManifestLazy.Value.RootElement.GetProperty("cases").EnumerateArray())
            if (c.GetProperty("id").GetString() == id) return new CloningCase(c);
        throw new ArgumentException($"no cloning manifest case '{id}'");
    }
}

/// <summary>One case of the cloning manifest.</summary>
internal sealed class CloningCase(JsonElement json)
{
    /// <summary>The raw JSON.</summary>
    public JsonElement Json { get; } = json;

    /// <summary>An input array described under <paramref name="name"/>.</summary>
    public NpyArray Input(string name) => Load(Json.GetProperty(name));

    /// <summary>A reference output.</summary>
    public NpyArray Output(string name) => Load(Json.GetProperty("outputs").GetProperty(name));

    /// <summary>Compares a float output at the manifest's tolerance and reports the max error.</summary>
    public double AssertClose(string name, ReadOnlySpan<float> actual, ITestOutputHelper? log = null)
    {
        JsonElement t = Json.GetProperty("tolerance").GetProperty(name);
        double atol = t.GetProperty("atol").GetDouble(), rtol = t.GetProperty("rtol").GetDouble();
        double err = Compare.AssertClose(Output(name).ToFloat32(), actual, atol, rtol, $"{Json.GetProperty("id").GetString()}/{name}");
        log?.WriteLine($"{Json.GetProperty("id").GetString()}/{name}: max |err| {err:g3} (atol {atol:g3}, rtol {rtol:g3})");
        return err;
    }

    private static NpyArray Load(JsonElement d) => NpyArray.Load(Path.Combine(CloningFixtures.ReferenceDir, d.GetProperty("file").GetString()!));
}
