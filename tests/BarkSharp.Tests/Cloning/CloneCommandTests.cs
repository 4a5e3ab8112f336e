using BarkSharp.Cli;
using BarkSharp.Tests.Infrastructure;

namespace BarkSharp.Tests.Cloning;

public sealed class CloneCommandTests : IDisposable
{
    private readonly string _dir = Fixtures.TempDir();
    private readonly Dictionary<string, string?> _env;

    public CloneCommandTests() => _env = new()
    {
        ["HF_HOME"] = Path.Combine(_dir, "hf"),
        ["HF_HUB_CACHE"] = Path.Combine(_dir, "hub-cache"),
        ["HF_ENDPOINT"] = "http://127.0.0.1:9",
        ["HF_TOKEN"] = "",
    };

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private async Task<(int Code, string Out, string Err)> Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = await Program.RunAsync(args, output, error, null, _env.GetValueOrDefault);
        return (code, output.ToString(), error.ToString());
    }

    private string[] Clone(string wav, string npz, params string[] more) =>
        ["clone", wav, "-o", npz, "--model", Fixtures.TinyBark, "--hubert", CloningFixtures.HubertTiny,
         "--quantizer", CloningFixtures.QuantizerV0, "--hubert-layer", CloningFixtures.TinyHubertLayer.ToString(System.Globalization.CultureInfo.InvariantCulture), .. more];

    [Fact]
    public async Task Writes_the_reference_npz_and_say_accepts_it_as_a_voice()
    {
        string npz = Path.Combine(_dir, "voice.npz");
        (int code, string stdout, string stderr) = await Run(Clone(CloningFixtures.Wav("speech_44k1_stereo"), npz));
        Assert.True(code == 0, stderr);
        Assert.Contains("semantic_prompt 117 tokens, coarse_prompt 2×177, fine_prompt 8×177", stdout);
        Assert.Contains("stereo", stdout);
        Assert.DoesNotContain("warning", stderr);                                  // 2.35 s: inside the advised range
        VoiceClonerTests.AssertSameNpzContent(Path.Combine(CloningFixtures.ReferenceDir, "e2e", "speech_44k1_stereo", "prompt.npz"), npz);

        string wav = Path.Combine(_dir, "hello.wav");
        (code, _, stderr) = await Run("say", "Hello there", "--model", Fixtures.TinyBark, "--voice", npz, "--max-semantic-tokens", "16", "--seed", "1", "-o", wav);
        Assert.True(code == 0, stderr);
        Assert.True(new FileInfo(wav).Length > 44);
    }

    [Fact]
    public async Task Warns_about_short_audio_and_refuses_what_is_not_a_wav()
    {
        // 1.5 s of the mono fixture, rewritten as a 16-bit WAV.
        var audio = BarkSharp.IO.WavReader.Read(CloningFixtures.Wav("speech_24k_mono"));
        string shortWav = Path.Combine(_dir, "short.wav");
        BarkSharp.IO.WavWriter.Write(shortWav, audio.Channels[0].AsSpan(0, 36000), 24000);
        (int code, string stdout, string stderr) = await Run(Clone(shortWav, Path.Combine(_dir, "short.npz")));
        Assert.True(code == 0, stderr);
        Assert.Contains("warning: ", stderr);
        Assert.Contains("lasts 1.5 s", stderr);
        Assert.Contains("wrote", stdout);

        string text = Path.Combine(_dir, "notes.wav");
        await File.WriteAllTextAsync(text, "not audio at all");
        (code, _, stderr) = await Run(Clone(text, Path.Combine(_dir, "x.npz")));
        Assert.Equal(2, code);                                                       // bad input
        Assert.Contains("not a WAV file", stderr);
        Assert.False(File.Exists(Path.Combine(_dir, "x.npz")));

        string tiny = Path.Combine(_dir, "tiny.wav");
        BarkSharp.IO.WavWriter.Write(tiny, audio.Channels[0].AsSpan(0, 300), 24000);          // 200 samples at 16 kHz: no HuBERT frame
        (code, _, stderr) = await Run(Clone(tiny, Path.Combine(_dir, "tiny.npz")));
        Assert.Equal(2, code);
        Assert.Contains("too short for one HuBERT frame", stderr);
    }
}
