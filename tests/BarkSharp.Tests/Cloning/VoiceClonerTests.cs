using BarkSharp.Cloning;
using BarkSharp.IO;
using BarkSharp.Tensors;
using BarkSharp.Tests.Infrastructure;
using Xunit.Abstractions;

namespace BarkSharp.Tests.Cloning;

public class VoiceClonerTests(ITestOutputHelper output)
{
    internal static VoiceCloningOptions TinyOptions => new()
    {
        BarkModel = Fixtures.TinyBark,
        Hubert = CloningFixtures.HubertTiny,
        HubertLayer = CloningFixtures.TinyHubertLayer,
        Quantizer = CloningFixtures.QuantizerV0,
        Hub = new BarkSharp.HubOptions { Offline = true, CacheDirectory = Path.Combine(Path.GetTempPath(), "barksharp-no-cache") },
    };

    [Theory]
    [InlineData("speech_24k_mono")]
    [InlineData("speech_44k1_stereo")]
    public void Clones_the_reference_prompt_exactly(string stem)
    {
        CloningCase c = CloningFixtures.Case("e2e/" + stem);
        VoiceCloner cloner = VoiceCloner.FromPretrained(TinyOptions);
        WavAudio audio = WavReader.Read(CloningFixtures.Wav(stem));

        // The intermediates, each at its tolerance.
        float[] mono = audio.Channels.Length == 1 ? audio.Channels[0] : audio.Channels[0].Zip(audio.Channels[1], (a, b) => (a + b) / 2).ToArray();
        float[] wav16 = SincResampler.Create(audio.SampleRate, 16000, SincKernelPrecision.Float32).Process(mono);
        c.AssertClose("hubert_input", wav16, output);
        c.AssertClose("features", cloner.Hubert.Features(wav16, cloner.HubertLayer), output);
        c.AssertClose("encodec_input", SincResampler.Create(audio.SampleRate, 24000).Process(mono), output);

        VoicePreset preset = cloner.Clone(audio);
        Assert.Equal(c.Output("semantic_prompt").ToInt64(), preset.SemanticPrompt);
        Assert.Equal(c.Output("coarse_prompt").ToInt64(), preset.CoarsePrompt.SelectMany(r => r));
        Assert.Equal(c.Output("fine_prompt").ToInt64(), preset.FinePrompt.SelectMany(r => r));
        Assert.Equal(c.Output("fine_prompt").Shape[1], preset.FinePrompt[0].Length);

        string dir = Fixtures.TempDir();
        try
        {
            string npz = Path.Combine(dir, "voice.npz");
            preset.SaveNpz(npz);
            AssertSameNpzContent(Path.Combine(CloningFixtures.ReferenceDir, c.Json.GetProperty("npz").GetString()!), npz);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task FromAudioAsync_reads_the_file_and_gives_the_same_preset()
    {
        VoicePreset preset = await VoicePreset.FromAudioAsync(CloningFixtures.Wav("speech_24k_mono"), TinyOptions);
        CloningCase c = CloningFixtures.Case("e2e/speech_24k_mono");
        Assert.Equal(c.Output("semantic_prompt").ToInt64(), preset.SemanticPrompt);
        Assert.Equal(c.Output("fine_prompt").ToInt64(), preset.FinePrompt.SelectMany(r => r));
    }

    [Fact]
    public async Task Missing_models_and_bad_layers_are_reported_in_words()
    {
        var missing = await Assert.ThrowsAsync<BarkConfigException>(() => VoiceCloner.FromPretrainedAsync(TinyOptions with { Quantizer = "/no/such/file.pth" }));
        Assert.Contains("neither a quantizer file", missing.Message);
        var layer = Assert.Throws<BarkConfigException>(() => VoiceCloner.FromPretrained(TinyOptions with { HubertLayer = 7 }));
        Assert.Contains("HuBERT layer 7 does not exist", layer.Message);
        var offline = Assert.ThrowsAny<BarkException>(() => VoiceCloner.FromPretrained(TinyOptions with { Hubert = "facebook/hubert-base-ls960" }));
        Assert.DoesNotContain("Exception", offline.Message);
    }

    internal static void AssertSameNpzContent(string expectedPath, string actualPath)
    {
        IReadOnlyDictionary<string, NpyArray> expected = NpzFile.Load(expectedPath), actual = NpzFile.Load(actualPath);
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach ((string key, NpyArray e) in expected)
        {
            NpyArray a = actual[key];
            Assert.Equal(e.DType, a.DType);
            Assert.Equal(e.Shape, a.Shape);
            Assert.Equal(e.Data, a.Data);                                                // bit for bit
        }
    }
}
