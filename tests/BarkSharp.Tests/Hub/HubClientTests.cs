using BarkSharp.Hub;
using BarkSharp.Tests.Infrastructure;

namespace BarkSharp.Tests.Hub;

/// <summary>Downloads from a fake hub on 127.0.0.1 serving the tiny fixture as suno/bark-small.</summary>
public sealed class HubClientTests : IDisposable
{
    private const string Repo = "suno/bark-small";
    private readonly string _cache = Fixtures.TempDir();

    public void Dispose() => Directory.Delete(_cache, recursive: true);

    private HubOptions Options(FakeHub hub, string? token = "") =>
        new() { Endpoint = hub.Endpoint, CacheDirectory = _cache, Token = token, Offline = false, Timeout = TimeSpan.FromSeconds(10) };

    private string RepoFolder => Path.Combine(_cache, "models--suno--bark-small");

    private string Snapshot(string path) => Path.Combine(RepoFolder, "snapshots", FakeHub.Commit, path);

    [Fact]
    public async Task FirstDownloadFillsTheCacheInHuggingfaceHubLayout()
    {
        using var hub = new FakeHub(Fixtures.TinyBark);
        using var client = new HubClient(Options(hub));

        string folder = await client.DownloadModelAsync(Repo);

        Assert.Equal(Path.Combine(RepoFolder, "snapshots", FakeHub.Commit), folder);
        Assert.Equal(FakeHub.Commit, File.ReadAllText(Path.Combine(RepoFolder, "refs", "main")));
        foreach (string file in new[] { "config.json", "generation_config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json", "speaker_embeddings_path.json" })
        {
            var link = new FileInfo(Snapshot(file));
            Assert.Equal("../../blobs/" + hub.Etag(file), link.LinkTarget);
            Assert.Equal(hub.Content(file), File.ReadAllBytes(Snapshot(file)));
        }
        Assert.Equal(64, hub.Etag("model.safetensors").Length); // LFS: blob named by sha256
        Assert.Equal(40, hub.Etag("config.json").Length);       // small file: blob named by git sha1
        Assert.False(File.Exists(Snapshot("pytorch_model.bin")));  // safetensors preferred, the .bin not fetched
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(RepoFolder, "blobs"), "*.incomplete"));
        Assert.Contains(hub.Requests, r => r.Method == "GET" && r.Path == "/cdn/" + hub.Etag("model.safetensors"));
        Assert.DoesNotContain(hub.Requests, r => r.Path.Contains("speaker_embeddings/", StringComparison.Ordinal)); // presets on demand only
    }

    [Fact]
    public async Task SecondRunMakesNoRequest()
    {
        using var hub = new FakeHub(Fixtures.TinyBark);
        using (var first = new HubClient(Options(hub))) await first.DownloadModelAsync(Repo);
        int requests = hub.Requests.Count;

        using (var second = new HubClient(Options(hub)))
            Assert.Equal(Path.Combine(RepoFolder, "snapshots", FakeHub.Commit), await second.DownloadModelAsync(Repo));
        using (BarkModel model = BarkModel.FromPretrained(Repo, new BarkModelOptions { Hub = Options(hub) }))
            Assert.Equal(Path.Combine(RepoFolder, "snapshots", FakeHub.Commit), model.ModelFolder);
        BarkProcessor.FromPretrained(Repo, hub: Options(hub));

        Assert.Equal(requests, hub.Requests.Count);
    }

    [Fact]
    public async Task AMissingFileIsRememberedAndTheBinIsUsed()
    {
        // Like suno/bark-small on main: no model.safetensors, only pytorch_model.bin.
        using var hub = new FakeHub(Fixtures.TinyBark, exclude: ["model.safetensors"]);
        using (var client = new HubClient(Options(hub))) await client.DownloadModelAsync(Repo);
        Assert.True(File.Exists(Path.Combine(RepoFolder, ".no_exist", FakeHub.Commit, "model.safetensors")));
        Assert.Equal(hub.Content("pytorch_model.bin"), File.ReadAllBytes(Snapshot("pytorch_model.bin")));
        int requests = hub.Requests.Count;

        using BarkModel model = BarkModel.FromPretrained(Repo, new BarkModelOptions { Hub = Options(hub) });
        Assert.Equal(requests, hub.Requests.Count);
    }

    [Fact]
    public void ProcessorDownloadsOnlyTheVoiceItUses()
    {
        using var hub = new FakeHub(Fixtures.TinyBark);
        BarkProcessor processor = BarkProcessor.FromPretrained(Repo, hub: Options(hub));
        Assert.Contains("v2/en_speaker_6", processor.AvailablePresets);

        BarkInputs inputs = processor.Process("Hello", "v2/en_speaker_6");

        Assert.NotNull(inputs.HistoryPrompt);
        string[] presetRequests = [.. hub.Requests.Where(r => r.Path.Contains("speaker_embeddings/", StringComparison.Ordinal)).Select(r => r.Path).Distinct()];
        Assert.Equal(3, presetRequests.Length);
        Assert.All(presetRequests, p => Assert.Contains("v2/en_speaker_6_", p, StringComparison.Ordinal));
        Assert.True(File.Exists(Snapshot("speaker_embeddings/v2/en_speaker_6_fine_prompt.npy")));
        Assert.Equal("../../../../blobs/" + hub.Etag("speaker_embeddings/v2/en_speaker_6_fine_prompt.npy"),
            new FileInfo(Snapshot("speaker_embeddings/v2/en_speaker_6_fine_prompt.npy")).LinkTarget);
    }

    [Fact]
    public async Task OfflineModeWorksFromTheCache()
    {
        using (var hub = new FakeHub(Fixtures.TinyBark))
        using (var client = new HubClient(Options(hub)))
            await client.DownloadModelAsync(Repo);

        // The hub is gone; offline mode resolves refs/main → snapshot without any network.
        var offline = new HubOptions { Endpoint = "http://127.0.0.1:9", CacheDirectory = _cache, Offline = true };
        using BarkModel model = BarkModel.FromPretrained(Repo, new BarkModelOptions { Hub = offline });
        Assert.Equal(Path.Combine(RepoFolder, "snapshots", FakeHub.Commit), model.ModelFolder);
    }

    [Fact]
    public void OfflineModeWithoutTheCacheFailsClearly()
    {
        var offline = new HubOptions { Endpoint = "http://127.0.0.1:9", CacheDirectory = _cache, Offline = true };
        var e = Assert.Throws<BarkHubException>(() => BarkModel.FromPretrained(Repo, new BarkModelOptions { Hub = offline }));
        Assert.Equal(HubErrorKind.NotCached, e.Kind);
        Assert.Contains(Repo, e.Message);
        Assert.Contains(RepoFolder, e.Message);
        Assert.Contains("HF_HUB_OFFLINE", e.Message);
    }

    [Fact]
    public async Task ACorruptDownloadIsDetectedAndNotUsed()
    {
        using var hub = new FakeHub(Fixtures.TinyBark);
        hub.SetFault("model.safetensors", FakeHubFault.Corrupt);
        using var client = new HubClient(Options(hub));

        var e = await Assert.ThrowsAsync<BarkHubException>(() => client.DownloadModelAsync(Repo));

        Assert.Equal(HubErrorKind.Integrity, e.Kind);
        Assert.Contains("sha256", e.Message);
        Assert.False(File.Exists(Snapshot("model.safetensors")));
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(RepoFolder, "blobs"), hub.Etag("model.safetensors") + "*"));
    }

    [Fact]
    public async Task ATruncatedDownloadIsNotUsed()
    {
        using var hub = new FakeHub(Fixtures.TinyBark);
        hub.SetFault("model.safetensors", FakeHubFault.Truncate);
        using var client = new HubClient(Options(hub));

        var e = await Assert.ThrowsAsync<BarkHubException>(() => client.DownloadModelAsync(Repo));

        Assert.Equal(HubErrorKind.Network, e.Kind);
        Assert.Contains("resume", e.Message);
        Assert.False(File.Exists(Snapshot("model.safetensors")));
        Assert.False(File.Exists(Path.Combine(RepoFolder, "blobs", hub.Etag("model.safetensors"))));
    }

    [Fact]
    public async Task AnInterruptedTransferResumesWithRange()
    {
        using var hub = new FakeHub(Fixtures.TinyBark);
        hub.SetFault("model.safetensors", FakeHubFault.TruncateOnce);
        using var client = new HubClient(Options(hub));

        await client.DownloadModelAsync(Repo);

        Assert.Equal(hub.Content("model.safetensors"), File.ReadAllBytes(Snapshot("model.safetensors")));
        FakeHubRequest[] gets = [.. hub.Requests.Where(r => r.Method == "GET" && r.Path.StartsWith("/cdn/" + hub.Etag("model.safetensors"), StringComparison.Ordinal))];
        Assert.Equal(2, gets.Length);
        Assert.Null(gets[0].Range);
        Assert.Matches("^bytes=[1-9][0-9]*-$", gets[1].Range);
    }

    [Fact]
    public async Task ACancelledDownloadResumesOnTheNextRun()
    {
        using var hub = new FakeHub(Fixtures.TinyBark);
        hub.SetFault("model.safetensors", FakeHubFault.Stall);
        using var cts = new CancellationTokenSource();
        var progress = new SyncProgress<DownloadProgress>(p =>
        {
            if (p.FileName == "model.safetensors" && p.BytesDone > 0) cts.Cancel();
        });
        using (var client = new HubClient(Options(hub)))
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.DownloadModelAsync(Repo, progress: progress, cancellationToken: cts.Token));
        string incomplete = Path.Combine(RepoFolder, "blobs", hub.Etag("model.safetensors") + ".incomplete");
        long kept = new FileInfo(incomplete).Length;
        Assert.True(kept > 0);
        Assert.False(File.Exists(Snapshot("model.safetensors")));

        hub.SetFault("model.safetensors", FakeHubFault.None);
        hub.ReleaseStalls();
        using (var client = new HubClient(Options(hub))) await client.DownloadModelAsync(Repo);

        Assert.Equal(hub.Content("model.safetensors"), File.ReadAllBytes(Snapshot("model.safetensors")));
        Assert.Equal($"bytes={kept}-", hub.Requests.Last(r => r.Path.StartsWith("/cdn/" + hub.Etag("model.safetensors"), StringComparison.Ordinal)).Range);
        Assert.False(File.Exists(incomplete));
    }

    [Fact]
    public async Task TheTokenIsSentToTheHubButNotToTheCdn()
    {
        using var hub = new FakeHub(Fixtures.TinyBark, requiredToken: "hf_secret");
        using (var anonymous = new HubClient(Options(hub)))
        {
            var e = await Assert.ThrowsAsync<BarkHubException>(() => anonymous.DownloadModelAsync(Repo));
            Assert.Equal(HubErrorKind.RepositoryNotFound, e.Kind);
            Assert.Contains("HF_TOKEN", e.Message);
        }

        using (var client = new HubClient(Options(hub, token: "hf_secret"))) await client.DownloadModelAsync(Repo);

        Assert.All(hub.Requests.Where(r => r.Path.StartsWith("/suno/", StringComparison.Ordinal) && r.Authorization is not null),
            r => Assert.Equal("Bearer hf_secret", r.Authorization));
        Assert.Contains(hub.Requests, r => r.Authorization == "Bearer hf_secret");
        Assert.All(hub.Requests.Where(r => r.Path.StartsWith("/cdn/", StringComparison.Ordinal)), r => Assert.Null(r.Authorization));
    }

    [Fact]
    public async Task UnknownRepositoryAndRevisionAreNamed()
    {
        using var hub = new FakeHub(Fixtures.TinyBark);
        using (var client = new HubClient(Options(hub)))
        {
            var e = await Assert.ThrowsAsync<BarkHubException>(() => client.DownloadModelAsync("nobody/nothing"));
            Assert.Equal(HubErrorKind.RepositoryNotFound, e.Kind);
            Assert.Contains("nobody/nothing", e.Message);
        }
        using (var client = new HubClient(Options(hub) with { Revision = "v9" }))
        {
            var e = await Assert.ThrowsAsync<BarkHubException>(() => client.DownloadModelAsync(Repo));
            Assert.Equal(HubErrorKind.RevisionNotFound, e.Kind);
            Assert.Contains("'v9'", e.Message);
        }
    }

    [Fact]
    public async Task ARevisionIsRecordedUnderItsOwnRef()
    {
        using var hub = new FakeHub(Fixtures.TinyBark);
        using (var client = new HubClient(Options(hub) with { Revision = FakeHub.Commit })) await client.GetFileAsync(Repo, "config.json");
        Assert.False(Directory.Exists(Path.Combine(RepoFolder, "refs")));  // a commit needs no ref
        Assert.True(File.Exists(Snapshot("config.json")));
        Assert.StartsWith($"/{Repo}/resolve/{FakeHub.Commit}/", hub.Requests[0].Path, StringComparison.Ordinal);
    }

    [Fact]
    public void UnreachableHubSaysWhatToDo()
    {
        var options = new HubOptions { Endpoint = "http://127.0.0.1:9", CacheDirectory = _cache, Offline = false, Token = "", Timeout = TimeSpan.FromSeconds(5) };
        var e = Assert.Throws<BarkHubException>(() => BarkModel.FromPretrained(Repo, new BarkModelOptions { Hub = options }));
        Assert.Equal(HubErrorKind.Network, e.Kind);
        Assert.Contains("127.0.0.1:9", e.Message);
        Assert.Contains("HF_HUB_OFFLINE", e.Message);
    }

    [Fact]
    public void AnExistingFolderWinsAndOtherStringsAreRejected()
    {
        using BarkModel model = BarkModel.FromPretrained(Fixtures.TinyBark);
        Assert.Equal(Path.GetFullPath(Fixtures.TinyBark), model.ModelFolder);
        var e = Assert.Throws<BarkConfigException>(() => BarkModel.FromPretrained("/no/such/folder"));
        Assert.Contains("neither an existing model folder nor a hub repository id", e.Message);
        Assert.True(HubClient.IsRepoId("suno/bark-small"));
        Assert.False(HubClient.IsRepoId("../bark"));
        Assert.False(HubClient.IsRepoId("a/b/c"));
    }

    [Fact]
    public void EnvironmentVariablesGiveTheDefaults()
    {
        var env = new Dictionary<string, string?>
        {
            ["HF_HOME"] = "/data/hf",
            ["HF_ENDPOINT"] = "https://mirror.example/",
            ["HF_TOKEN"] = "hf_abc",
            ["HF_HUB_OFFLINE"] = "1",
        };
        HubOptions o = HubOptions.FromEnvironment(env.GetValueOrDefault);
        Assert.Equal("https://mirror.example", o.Endpoint);
        Assert.Equal("hf_abc", o.Token);
        Assert.Equal(Path.Combine("/data/hf", "hub"), o.CacheDirectory);
        Assert.True(o.Offline);
        Assert.Equal("main", o.Revision);

        env["HF_HUB_CACHE"] = "/fast/cache";
        env["HF_HUB_OFFLINE"] = "0";
        env.Remove("HF_TOKEN");
        string tokenFile = Path.Combine(_cache, "token");
        File.WriteAllText(tokenFile, "hf_from_file\n");
        env["HF_TOKEN_PATH"] = tokenFile;
        o = HubOptions.FromEnvironment(env.GetValueOrDefault);
        Assert.Equal("/fast/cache", o.CacheDirectory);
        Assert.False(o.Offline);
        Assert.Equal("hf_from_file", o.Token);
        Assert.Equal(HubOptions.DefaultEndpoint, HubOptions.FromEnvironment(_ => null).Endpoint);
    }

    /// <summary>An IProgress that runs the callback on the reporting thread (Progress&lt;T&gt; posts to the thread pool).</summary>
    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
