using System.Buffers.Binary;
using System.Text.Json;
using BarkSharp.Cli;
using BarkSharp.Generation;
using BarkSharp.IO;
using BarkSharp.Tests.Infrastructure;

namespace BarkSharp.Tests.Cli;

/// <summary>The <c>bark</c> command run in-process on the tiny fixture (and on a fake hub for downloads).</summary>
public sealed class CliTests : IDisposable
{
    private const int MaxTokens = 8;
    private readonly string _dir = Fixtures.TempDir();
    private readonly Dictionary<string, string?> _env;

    public CliTests()
    {
        _env = new Dictionary<string, string?>
        {
            ["HF_HOME"] = Path.Combine(_dir, "hf"),
            ["HF_HUB_CACHE"] = Path.Combine(_dir, "hub-cache"),
            ["HF_ENDPOINT"] = "http://127.0.0.1:9",
            ["HF_TOKEN"] = "",
        };
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Out(string name) => Path.Combine(_dir, name);

    private async Task<(int Code, string Out, string Err)> Run(string[] args, string? stdin = null, CancellationToken cancellationToken = default)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = await Program.RunAsync(args, output, error, stdin is null ? null : new StringReader(stdin), _env.GetValueOrDefault, cancellationToken: cancellationToken);
        return (code, output.ToString(), error.ToString());
    }

    private static string[] Say(string output, params string[] more) =>
        ["say", "--model", Fixtures.TinyBark, "--max-semantic-tokens", MaxTokens.ToString(System.Globalization.CultureInfo.InvariantCulture), "-o", output, .. more];

    private static BarkGeneration Library(IReadOnlyList<string> texts, BarkGenerationOptions options, string? voice = null)
    {
        using BarkModel model = BarkModel.FromPretrained(Fixtures.TinyBark);
        BarkInputs inputs = BarkProcessor.FromPretrained(Fixtures.TinyBark).Process(texts, voice);
        return model.Generate(inputs, options with { Semantic = options.Semantic with { MaxNewTokens = MaxTokens } });
    }

    private static byte[] Wav(float[] audio, WavFormat format = WavFormat.Pcm16)
    {
        using var stream = new MemoryStream();
        WavWriter.Write(stream, audio, 24000, format);
        return stream.ToArray();
    }

    [Fact]
    public async Task SayGreedyWritesTheWavTheLibraryMakes()
    {
        (int code, string stdout, string stderr) = await Run(Say(Out("hello.wav"), "Hello from Bark", "--greedy"));

        Assert.True(code == 0, stderr);
        byte[] wav = File.ReadAllBytes(Out("hello.wav"));
        Assert.Equal("RIFF", System.Text.Encoding.ASCII.GetString(wav, 0, 4));
        Assert.Equal("WAVE", System.Text.Encoding.ASCII.GetString(wav, 8, 4));
        Assert.Equal(1, BinaryPrimitives.ReadInt16LittleEndian(wav.AsSpan(20)));   // PCM
        Assert.Equal(1, BinaryPrimitives.ReadInt16LittleEndian(wav.AsSpan(22)));   // mono
        Assert.Equal(24000, BinaryPrimitives.ReadInt32LittleEndian(wav.AsSpan(24)));
        Assert.Equal(16, BinaryPrimitives.ReadInt16LittleEndian(wav.AsSpan(34)));
        BarkGeneration expected = Library(["Hello from Bark"], BarkGenerationOptions.Greedy);
        Assert.Equal(expected.Frames[0] * 320, BinaryPrimitives.ReadInt32LittleEndian(wav.AsSpan(40)) / 2);
        Assert.Equal(Wav(expected.Audio[0]), wav);

        Assert.Contains("greedy", stdout);
        Assert.Contains("ms/token", stdout);
        Assert.Matches(@"semantic\s+8\s", stdout);
        Assert.Contains("real-time factor", stdout);
        Assert.Empty(Directory.EnumerateFiles(_dir, "*.tmp"));
    }

    [Fact]
    public async Task SaySeededIsReproducibleAndSavesALoadableVoice()
    {
        (int code, string stdout, string stderr) = await Run(Say(Out("a.wav"), "Hello", "--seed", "11", "--save-voice", Out("voice.npz"), "--format", "float32"));
        Assert.True(code == 0, stderr);
        Assert.Contains("seed 11", stdout);
        (code, _, stderr) = await Run(Say(Out("b.wav"), "Hello", "--seed", "11", "--format", "float32"));
        Assert.True(code == 0, stderr);

        byte[] wav = File.ReadAllBytes(Out("a.wav"));
        Assert.Equal(wav, File.ReadAllBytes(Out("b.wav")));
        Assert.Equal(3, BinaryPrimitives.ReadInt16LittleEndian(wav.AsSpan(20)));   // IEEE float
        BarkGeneration expected = Library(["Hello"], new BarkGenerationOptions { Seed = 11 });
        Assert.Equal(Wav(expected.Audio[0], WavFormat.Float32), wav);

        VoicePreset voice = VoicePreset.FromNpz(Out("voice.npz"));
        VoicePreset reference = expected.ToVoicePreset(0);
        Assert.Equal(reference.SemanticPrompt, voice.SemanticPrompt);
        Assert.Equal(expected.SemanticLengths[0], voice.SemanticPrompt.Length);
        Assert.Equal(reference.CoarsePrompt, voice.CoarsePrompt);
        Assert.Equal(reference.FinePrompt, voice.FinePrompt);
        Assert.Equal(expected.Frames[0], voice.FinePrompt[0].Length);
        IReadOnlyDictionary<string, NpyArray> arrays = NpzFile.Load(Out("voice.npz"));
        Assert.Equal([DType.Int64, DType.Int64, DType.Int64], arrays.Values.Select(a => a.DType)); // all int64, as --save-voice documents

        (code, _, stderr) = await Run(Say(Out("c.wav"), "Hello again", "--seed", "3", "--voice", Out("voice.npz")));
        Assert.True(code == 0, stderr);
        Assert.True(File.Exists(Out("c.wav")));
    }

    [Fact]
    public async Task BatchWritesOneTrimmedFilePerLine()
    {
        File.WriteAllText(Out("lines.txt"), "Hello there.\n\nA second, somewhat longer line of text.\n");
        (int code, string stdout, string stderr) = await Run(Say(Out("out.wav"), "-f", Out("lines.txt"), "--batch", "--seed", "5", "--save-voice", Out("v.npz")));

        Assert.True(code == 0, stderr);
        BarkGeneration expected = Library(["Hello there.", "A second, somewhat longer line of text."], new BarkGenerationOptions { Seed = 5 });
        for (int i = 0; i < 2; i++)
        {
            Assert.Equal(Wav(expected.Audio[i]), File.ReadAllBytes(Out($"out_{i}.wav")));
            Assert.Equal(expected.ToVoicePreset(i).SemanticPrompt, VoicePreset.FromNpz(Out($"v_{i}.npz")).SemanticPrompt);
            Assert.Contains($"out_{i}.wav", stdout);
        }
        Assert.False(File.Exists(Out("out_2.wav")));
        Assert.Contains("batch of 2", stdout);
    }

    [Fact]
    public async Task TextComesFromStdin()
    {
        (int code, _, string stderr) = await Run(Say(Out("in.wav"), "--greedy"), stdin: "Hello from a pipe\n");
        Assert.True(code == 0, stderr);
        BarkGeneration expected = Library(["Hello from a pipe"], BarkGenerationOptions.Greedy);
        Assert.Equal(Wav(expected.Audio[0]), File.ReadAllBytes(Out("in.wav")));
    }

    [Fact]
    public async Task TokenizeJsonShowsWhatTheModelReads()
    {
        (int code, string stdout, string stderr) = await Run(["tokenize", "Hello, my dog is cute", "--model", Fixtures.TinyBark, "--json"]);
        Assert.True(code == 0, stderr);
        using JsonDocument doc = JsonDocument.Parse(stdout);
        JsonElement root = doc.RootElement;
        Assert.Equal(["input_ids", "attention_mask", "token_count", "truncated", "tokens"], root.EnumerateObject().Select(p => p.Name));
        long[] ids = [.. root.GetProperty("input_ids").EnumerateArray().Select(e => e.GetInt64())];
        Assert.Equal(256, ids.Length);
        Assert.Equal([31178, 117, 15127, 17835, 10124, 21610, 10112], ids[..7]);
        Assert.All(ids[7..], id => Assert.Equal(0, id));
        Assert.Equal(7, root.GetProperty("attention_mask").EnumerateArray().Sum(e => e.GetInt32()));
        Assert.Equal(7, root.GetProperty("token_count").GetInt32());
        Assert.False(root.GetProperty("truncated").GetBoolean());
        Assert.Equal(["Hello", ",", "my", "dog", "is", "cut", "##e"], root.GetProperty("tokens").EnumerateArray().Select(e => e.GetString()));

        string longText = string.Join(' ', Enumerable.Repeat("Hello world,", 100));
        (code, stdout, _) = await Run(["tokenize", longText, "--model", Fixtures.TinyBark, "--json"]);
        Assert.Equal(0, code);
        using JsonDocument cut = JsonDocument.Parse(stdout);
        Assert.Equal(256, cut.RootElement.GetProperty("input_ids").GetArrayLength());
        Assert.Equal(256, cut.RootElement.GetProperty("attention_mask").EnumerateArray().Sum(e => e.GetInt32()));
        Assert.Equal(300, cut.RootElement.GetProperty("token_count").GetInt32());
        Assert.Equal(300, cut.RootElement.GetProperty("tokens").GetArrayLength());
        Assert.True(cut.RootElement.GetProperty("truncated").GetBoolean());

        (code, stdout, _) = await Run(["tokenize", longText, "--model", Fixtures.TinyBark]);
        Assert.Equal(0, code);
        Assert.Contains("300 tokens", stdout);
        Assert.Contains("the last 44 tokens are not spoken", stdout);
    }

    [Fact]
    public async Task VoicesInfoAndDecodeDescribeTheModel()
    {
        (int code, string stdout, _) = await Run(["voices", "--model", Fixtures.TinyBark]);
        Assert.Equal(0, code);
        Assert.Equal(VoicePreset.AvailablePresets(Fixtures.TinyBark), stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));

        (code, stdout, _) = await Run(["info", "--model", Fixtures.TinyBark, "--json"]);
        Assert.Equal(0, code);
        using JsonDocument doc = JsonDocument.Parse(stdout);
        using ITensorStore store = TinyBark.OpenStore("model.safetensors");
        foreach (string sub in new[] { "semantic", "coarse_acoustics", "fine_acoustics", "codec_model" })
        {
            long expected = store.Keys.Distinct().Where(k => k.StartsWith(sub + ".", StringComparison.Ordinal))
                .Select(k => store.TryGetInfo(k, out TensorInfo i) ? i : null!).Where(i => i.DType.IsFloatingPoint()).Sum(i => i.ElementCount);
            Assert.True(expected > 0);
            Assert.Equal(expected, doc.RootElement.GetProperty(sub).GetProperty("parameters").GetInt64());
        }
        Assert.Equal("model.safetensors", doc.RootElement.GetProperty("weights").GetProperty("file").GetString());
        Assert.Equal(6052544, doc.RootElement.GetProperty("files").GetProperty("model.safetensors").GetInt64());

        (code, stdout, _) = await Run(["decode", "v2/en_speaker_6", "--model", Fixtures.TinyBark, "-o", Out("voice.wav")]);
        Assert.Equal(0, code);
        VoicePreset preset = VoicePreset.Load(Fixtures.TinyBark, "v2/en_speaker_6");
        Assert.Equal(preset.FinePrompt[0].Length * 320, (File.ReadAllBytes(Out("voice.wav")).Length - 44) / 2);
        Assert.Contains("voice.wav", stdout);
    }

    [Fact]
    public async Task ErrorsHaveExitCodesAndMessagesForPeople()
    {
        (int code, _, string err) = await Run(Say(Out("x.wav"), "Hello", "--voice", "nobody"));
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("unknown voice preset 'nobody'", err);
        Assert.Contains("v2/en_speaker_6", err);

        (code, _, err) = await Run(Say(Out("x.wav"), "   "));
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("empty", err);

        (code, _, err) = await Run(Say(Path.Combine(_dir, "missing", "x.wav"), "Hello"));
        Assert.Equal(ExitCodes.OutputError, code);
        Assert.Contains("does not exist", err);

        (code, _, err) = await Run(Say(_dir, "Hello"));
        Assert.Equal(ExitCodes.OutputError, code);
        Assert.Contains("is a folder", err);

        (code, _, err) = await Run(["say", "Hello", "--sed", "3"]);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("--sed", err);

        (code, _, err) = await Run(Say(Out("x.wav"), "Hello", "--format", "mp3"));
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("--format must be wav, float32, raw, opus or flac, not 'mp3'", err);

        _env["HF_HUB_OFFLINE"] = "1";
        (code, _, err) = await Run(["say", "Hello", "-o", Out("x.wav")]);
        Assert.Equal(ExitCodes.ModelUnavailable, code);
        Assert.Contains("suno/bark-small", err);
        Assert.Contains(Path.Combine(_dir, "hub-cache"), err);

        (code, _, err) = await Run(["say", "Hello", "--model", Path.Combine(_dir, "no-such-model"), "-o", Out("x.wav")]);
        Assert.Equal(ExitCodes.Usage, code); // a bad --model value, like an unknown voice
        Assert.Contains("neither an existing model folder nor a hub repository id", err);

        Assert.False(File.Exists(Out("x.wav")));
    }

    [Fact]
    public async Task CancelledRunsWriteNothing()
    {
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        (int code, _, string err) = await Run(Say(Out("c.wav"), "Hello", "--save-voice", Out("c.npz")), cancellationToken: cancelled.Token);

        Assert.Equal(ExitCodes.Cancelled, code);
        Assert.Contains("cancelled", err);
        Assert.Empty(Directory.EnumerateFiles(_dir));
    }

    [Fact]
    public async Task DownloadThenSayOfflineFromTheCache()
    {
        using var hub = new FakeHub(Fixtures.TinyBark);
        _env["HF_ENDPOINT"] = hub.Endpoint;
        (int code, string stdout, string err) = await Run(["download", "suno/bark-small"]);
        Assert.True(code == 0, err);
        string snapshot = Path.Combine(_dir, "hub-cache", "models--suno--bark-small", "snapshots", FakeHub.Commit);
        Assert.Contains(snapshot, stdout);
        Assert.Contains("downloaded suno/bark-small/model.safetensors", err);
        int requests = hub.Requests.Count;

        _env["HF_HUB_OFFLINE"] = "1";
        (code, _, err) = await Run(["say", "Hello", "--voice", "v2/en_speaker_0", "--greedy", "--max-semantic-tokens", "4", "-o", Out("hub.wav")]);
        Assert.Equal(ExitCodes.ModelUnavailable, code); // the voice was never downloaded, and offline mode forbids it
        Assert.Contains("en_speaker_0", err);

        _env.Remove("HF_HUB_OFFLINE");
        (code, _, err) = await Run(["say", "Hello", "--voice", "v2/en_speaker_0", "--greedy", "--max-semantic-tokens", "4", "-o", Out("hub.wav")]);
        Assert.True(code == 0, err);
        Assert.Equal(requests + 6, hub.Requests.Count); // HEAD + GET of the voice's three files, nothing else
        Assert.True(File.Exists(Out("hub.wav")));
    }

    [Fact]
    public async Task CtrlCDuringADownloadLeavesNothingHalfWritten()
    {
        using var hub = new FakeHub(Fixtures.TinyBark);
        hub.SetFault("model.safetensors", FakeHubFault.Stall);
        _env["HF_ENDPOINT"] = hub.Endpoint;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        Task<(int, string, string)> run = Run(["say", "Hello", "-o", Out("d.wav")], cancellationToken: cts.Token);
        while (!hub.Requests.Any(r => r.Path.StartsWith("/cdn/", StringComparison.Ordinal)) && !run.IsCompleted) await Task.Delay(20);
        await Task.Delay(100);
        await cts.CancelAsync();
        (int code, _, string err) = await run;

        Assert.True(code == ExitCodes.Cancelled, err);
        Assert.False(File.Exists(Out("d.wav")));
        string repo = Path.Combine(_dir, "hub-cache", "models--suno--bark-small");
        Assert.False(File.Exists(Path.Combine(repo, "snapshots", FakeHub.Commit, "model.safetensors")));
        Assert.False(File.Exists(Path.Combine(repo, "blobs", hub.Etag("model.safetensors"))));
    }

    [Fact]
    public async Task Bench_rejects_unknown_shapes_and_weight_types()
    {
        var (code, _, err) = await Run(["bench", "--shape", "bark-huge"]);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("bark-huge", err);
        (code, _, err) = await Run(["bench", "--weights", "q4"]);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("q4", err);
        (code, _, err) = await Run(["bench", "--kv-cache", "f8"]);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("f8", err);
    }

    [Fact]
    public async Task Say_with_reduced_weights_and_low_memory_writes_audio_of_the_same_length()
    {
        var (code, _, err) = await Run(Say(Out("int8.wav"), "Hello, my dog is cute", "--greedy", "--weights", "int8", "--kv-cache", "bf16", "--low-memory"));
        Assert.True(code == ExitCodes.Success, err);
        var (code2, _, err2) = await Run(Say(Out("f32.wav"), "Hello, my dog is cute", "--greedy"));
        Assert.True(code2 == ExitCodes.Success, err2);
        Assert.Equal(new FileInfo(Out("f32.wav")).Length, new FileInfo(Out("int8.wav")).Length);
        var (code3, _, err3) = await Run(Say(Out("x.wav"), "hi", "--weights", "q4"));
        Assert.Equal(ExitCodes.Usage, code3);
        Assert.Contains("q4", err3);
    }
}
