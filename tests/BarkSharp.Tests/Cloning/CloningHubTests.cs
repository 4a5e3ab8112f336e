using BarkSharp.Cloning;
using BarkSharp.Hub;
using BarkSharp.IO;
using BarkSharp.Tests.Infrastructure;

namespace BarkSharp.Tests.Cloning;

/// <summary>HuBERT and the quantizer given as repository ids: fetched into the cache on first use, then read offline.</summary>
public sealed class CloningHubTests : IDisposable
{
    private readonly string _dir = Fixtures.TempDir();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Cache => Path.Combine(_dir, "cache");

    private HubOptions Online(FakeHub hub) => new() { Endpoint = hub.Endpoint, CacheDirectory = Cache, Offline = false, Token = "", Timeout = TimeSpan.FromSeconds(20) };

    private HubOptions OfflineOptions => new() { Endpoint = "http://127.0.0.1:9", CacheDirectory = Cache, Offline = true };

    [Fact]
    public void Quantizer_repository_is_fetched_once_then_used_offline()
    {
        string repo = Path.Combine(_dir, "repo");
        Directory.CreateDirectory(repo);
        File.Copy(CloningFixtures.QuantizerV0, Path.Combine(repo, VoiceCloningOptions.DefaultQuantizerFileName));
        VoiceCloningOptions options = VoiceClonerTests.TinyOptions with { Quantizer = VoiceCloningOptions.DefaultQuantizer };
        WavAudio audio = WavReader.Read(CloningFixtures.Wav("speech_24k_mono"));
        long[] expected = CloningFixtures.Case("e2e/speech_24k_mono").Output("semantic_prompt").ToInt64();

        using (var hub = new FakeHub(repo, VoiceCloningOptions.DefaultQuantizer))
        {
            VoiceCloner online = VoiceCloner.FromPretrained(options with { Hub = Online(hub) });
            Assert.Equal(expected, online.Clone(audio).SemanticPrompt);
            Assert.Contains(hub.Requests, r => r.Path.EndsWith(VoiceCloningOptions.DefaultQuantizerFileName, StringComparison.Ordinal));
        }
        VoiceCloner offline = VoiceCloner.FromPretrained(options with { Hub = OfflineOptions });
        Assert.Equal(expected, offline.Clone(audio).SemanticPrompt);
    }

    [Fact]
    public void Hubert_repository_is_fetched_once_then_used_offline()
    {
        const string Repo = "facebook/hubert-base-ls960";
        VoiceCloningOptions options = VoiceClonerTests.TinyOptions with { Hubert = Repo };
        WavAudio audio = WavReader.Read(CloningFixtures.Wav("speech_44k1_stereo"));
        long[] expected = CloningFixtures.Case("e2e/speech_44k1_stereo").Output("semantic_prompt").ToInt64();
        using (var hub = new FakeHub(CloningFixtures.HubertTiny, Repo))
            Assert.Equal(expected, VoiceCloner.FromPretrained(options with { Hub = Online(hub) }).Clone(audio).SemanticPrompt);
        Assert.Equal(expected, VoiceCloner.FromPretrained(options with { Hub = OfflineOptions }).Clone(audio).SemanticPrompt);

        var missing = Assert.Throws<BarkHubException>(() => VoiceCloner.FromPretrained(options with { Hubert = "facebook/other-hubert", Hub = OfflineOptions }));
        Assert.Equal(HubErrorKind.NotCached, missing.Kind);
    }
}
