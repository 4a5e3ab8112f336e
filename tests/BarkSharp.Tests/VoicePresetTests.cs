using System.Text.Json;
using BarkSharp.IO;
using BarkSharp.Tests.Infrastructure;

namespace BarkSharp.Tests;

public class VoicePresetTests
{
    public static TheoryData<string> AssetPresetNames()
    {
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Fixtures.Assets, "speaker_embeddings_path.json")));
        return [.. doc.RootElement.EnumerateObject().Select(p => p.Name).Where(n => n != "repo_or_path")];
    }

    [Theory]
    [MemberData(nameof(AssetPresetNames))]
    public void Every_real_preset_loads_by_name(string name)
    {
        VoicePreset preset = VoicePreset.Load(Fixtures.Assets, name);
        Assert.Equal(name, preset.Source);
        string folder = Path.Combine(Fixtures.Assets, "speaker_embeddings", Path.GetDirectoryName(name) ?? "");
        ProcessorTests.AssertPresetEqualsFiles(preset, folder, Path.GetFileName(name));
        Assert.Equal(2, preset.CoarsePrompt.Length);
        Assert.Equal(8, preset.FinePrompt.Length);
    }

    [Theory]
    [InlineData("v2/en_speaker_6", "v2/en_speaker_6.npz")]
    [InlineData("announcer", "announcer.npz")] // uint16 arrays, widened to int64
    public void Npz_prompts_equal_the_named_presets(string name, string npz)
    {
        VoicePreset byName = VoicePreset.Load(Fixtures.Assets, name);
        string path = Path.Combine(Fixtures.Assets, "prompts_npz", npz);
        foreach (VoicePreset byPath in new[] { VoicePreset.FromNpz(path), VoicePreset.Load(Fixtures.Assets, path[..^4]) })
        {
            Assert.Equal(byName.SemanticPrompt, byPath.SemanticPrompt);
            Assert.Equal(byName.CoarsePrompt, byPath.CoarsePrompt);
            Assert.Equal(byName.FinePrompt, byPath.FinePrompt);
        }
    }

    [Fact]
    public void Available_presets_follow_the_index()
    {
        IReadOnlyList<string> names = VoicePreset.AvailablePresets(Fixtures.Assets);
        Assert.Equal(25, names.Count);
        Assert.Equal("v2/en_speaker_0", names[0]);
        Assert.Contains("v2/de_speaker_3", names);
        Assert.Contains("en_speaker_6", names);
        Assert.Empty(VoicePreset.AvailablePresets(Fixtures.ReferenceDir));
    }

    [Fact]
    public void Save_writes_suno_layout_that_loads_back()
    {
        string dir = Fixtures.TempDir();
        try
        {
            VoicePreset preset = VoicePreset.Load(Fixtures.Assets, "announcer");
            string path = Path.Combine(dir, "mine.npz");
            preset.SaveNpz(path);

            IReadOnlyDictionary<string, NpyArray> arrays = NpzFile.Load(path);
            Assert.Equal(["semantic_prompt", "coarse_prompt", "fine_prompt"], arrays.Keys);
            Assert.Equal([DType.Int64, DType.Int64, DType.Int64], arrays.Values.Select(a => a.DType));
            Assert.Equal([8L, 750], arrays["fine_prompt"].Shape);

            VoicePreset back = VoicePreset.FromNpz(path);
            Assert.Equal(preset.SemanticPrompt, back.SemanticPrompt);
            Assert.Equal(preset.CoarsePrompt, back.CoarsePrompt);
            Assert.Equal(preset.FinePrompt, back.FinePrompt);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void From_arrays_copies_and_validates()
    {
        long[] semantic = [1, 2, 9999];
        long[][] coarse = [[0, 1023], [5, 6]];
        long[][] fine = [.. Enumerable.Range(0, 8).Select(r => new long[] { r, r + 1 })];
        VoicePreset preset = VoicePreset.FromArrays(semantic, coarse, fine);
        semantic[0] = 42;
        Assert.Equal(1, preset.SemanticPrompt[0]);
        Assert.Null(preset.Source);

        Assert.Contains("outside 0..9999", Assert.Throws<BarkVoiceException>(() => VoicePreset.FromArrays([10_000], coarse, fine)).Message);
        Assert.Contains("outside 0..1023", Assert.Throws<BarkVoiceException>(() => VoicePreset.FromArrays([1], [[0, 1024], [0, 0]], fine)).Message);
        Assert.Contains("outside 0..1023", Assert.Throws<BarkVoiceException>(() => VoicePreset.FromArrays([1], [[0, -1], [0, 0]], fine)).Message);
        Assert.Contains("3 rows", Assert.Throws<BarkVoiceException>(() => VoicePreset.FromArrays([1], [[0], [0], [0]], fine)).Message);
        Assert.Contains("same length", Assert.Throws<BarkVoiceException>(() => VoicePreset.FromArrays([1], [[0, 1], [0]], fine)).Message);
        Assert.Contains("rows", Assert.Throws<BarkVoiceException>(() => VoicePreset.FromArrays([1], coarse, fine[..7])).Message);
    }

    [Fact]
    public void Malformed_npz_presets_give_clear_errors()
    {
        string dir = Fixtures.TempDir();
        try
        {
            var good = new Dictionary<string, NpyArray>(VoicePreset.Load(Fixtures.Assets, "v2/en_speaker_6").ToArrays());

            string Write(string file, Action<Dictionary<string, NpyArray>> change)
            {
                var arrays = new Dictionary<string, NpyArray>(good);
                change(arrays);
                string path = Path.Combine(dir, file);
                NpzFile.Save(path, arrays);
                return path;
            }

            string missing = Write("missing.npz", a => a.Remove("fine_prompt"));
            var e = Assert.Throws<BarkVoiceException>(() => VoicePreset.FromNpz(missing));
            Assert.Equal(missing, e.Preset);
            Assert.Contains("no 'fine_prompt' array", e.Message);
            Assert.Contains("'semantic_prompt', 'coarse_prompt'", e.Message);

            string rank = Write("rank.npz", a => a["semantic_prompt"] = NpyArray.FromInt64([1, 2, 3, 4], 2, 2));
            Assert.Contains("semantic_prompt must be a 1-D array, found shape [2, 2]", Assert.Throws<BarkVoiceException>(() => VoicePreset.FromNpz(rank)).Message);

            string coarseRank = Write("coarse_rank.npz", a => a["coarse_prompt"] = NpyArray.FromInt64([1, 2, 3], 3));
            Assert.Contains("coarse_prompt must be a 2-D array", Assert.Throws<BarkVoiceException>(() => VoicePreset.FromNpz(coarseRank)).Message);

            string floats = Write("float.npz", a => a["semantic_prompt"] = NpyArray.FromFloat32([1f, 2f], 2));
            Assert.Contains("Float32 values", Assert.Throws<BarkVoiceException>(() => VoicePreset.FromNpz(floats)).Message);

            byte[] bytes = File.ReadAllBytes(Write("whole.npz", _ => { }));
            string truncated = Path.Combine(dir, "truncated.npz");
            File.WriteAllBytes(truncated, bytes[..(bytes.Length - 40)]);
            e = Assert.Throws<BarkVoiceException>(() => VoicePreset.FromNpz(truncated));
            Assert.IsType<BarkFormatException>(e.InnerException);
            Assert.Contains(truncated, e.Message);

            e = Assert.Throws<BarkVoiceException>(() => VoicePreset.FromNpz(Path.Combine(dir, "absent.npz")));
            Assert.Contains("does not exist", e.Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Broken_index_entries_name_the_preset_and_file()
    {
        string dir = Fixtures.TempDir();
        try
        {
            Directory.CreateDirectory(Path.Combine(dir, "speaker_embeddings"));
            string stem = Path.Combine(Fixtures.Assets, "speaker_embeddings", "en_speaker_6");
            File.Copy(stem + "_semantic_prompt.npy", Path.Combine(dir, "speaker_embeddings", "s.npy"));
            File.Copy(stem + "_coarse_prompt.npy", Path.Combine(dir, "speaker_embeddings", "c.npy"));
            File.WriteAllBytes(Path.Combine(dir, "speaker_embeddings", "f.npy"), File.ReadAllBytes(stem + "_fine_prompt.npy")[..200]);
            File.WriteAllText(Path.Combine(dir, "speaker_embeddings_path.json"), """
                {"repo_or_path": "suno/bark-small",
                 "cut": {"semantic_prompt": "speaker_embeddings/s.npy", "coarse_prompt": "speaker_embeddings/c.npy", "fine_prompt": "speaker_embeddings/f.npy"},
                 "gone": {"semantic_prompt": "speaker_embeddings/s.npy", "coarse_prompt": "speaker_embeddings/nope.npy", "fine_prompt": "speaker_embeddings/f.npy"},
                 "partial": {"semantic_prompt": "speaker_embeddings/s.npy"}}
                """);

            var e = Assert.Throws<BarkVoiceException>(() => VoicePreset.Load(dir, "cut"));
            Assert.Contains("truncated", e.Message);
            Assert.Contains("f.npy", e.Message);
            Assert.Contains("speaker_embeddings/nope.npy", Assert.Throws<BarkVoiceException>(() => VoicePreset.Load(dir, "gone")).Message);
            Assert.Contains("no 'coarse_prompt' file", Assert.Throws<BarkVoiceException>(() => VoicePreset.Load(dir, "partial")).Message);
            Assert.Equal(["cut", "gone", "partial"], VoicePreset.AvailablePresets(dir));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
