using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Security.Cryptography;
using BarkSharp.Cli;
using BarkSharp.IO;
using BarkSharp.Tests.Infrastructure;

namespace BarkSharp.Tests.Cli;

/// <summary>
/// Bad input of every kind given to <c>bark</c>: each case ends with its exit code and a message for people (no stack
/// trace, no .NET type or parameter name, no temporary file name), and nothing but the named output is touched —
/// the test folder is listed (kind, permission bits, content) before and after.
/// </summary>
public sealed class BadInputTests : IDisposable
{
    private readonly string _dir = Fixtures.TempDir();
    private readonly Dictionary<string, string?> _env;

    public BadInputTests()
    {
        _env = new Dictionary<string, string?>
        {
            ["HF_HOME"] = Path.Combine(_dir, "hf"),
            ["HF_HUB_CACHE"] = Path.Combine(_dir, "hub-cache"),
            ["HF_ENDPOINT"] = "http://127.0.0.1:9",
            ["HF_TOKEN"] = "",
        };
        File.WriteAllText(P("notes.txt"), "a file that is not a folder");
        File.WriteAllText(P("readonly.wav"), "old read-only contents");
        File.WriteAllText(P("private.wav"), "old private contents");
        File.WriteAllText(P("target.wav"), "old target contents");
        File.CreateSymbolicLink(P("link.wav"), "target.wav");
        File.CreateSymbolicLink(P("dangling.wav"), "created-through-link.wav");
        File.CreateSymbolicLink(P("loop.wav"), "loop.wav");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(P("readonly.wav"), UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
            File.SetUnixFileMode(P("private.wav"), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        VoicePresetTestFile(P("empty-voice.npz"), semantic: 0, frames: 0);
        VoicePresetTestFile(P("no-frames-voice.npz"), semantic: 3, frames: 0);
        BrokenModels();
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string P(string name) => Path.Combine(_dir, name);

    private async Task<(int Code, string Out, string Err)> Run(string[] args, string? stdin = null)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = await Program.RunAsync(args, output, error, stdin is null ? null : new StringReader(stdin), _env.GetValueOrDefault);
        return (code, output.ToString(), error.ToString());
    }

    private static string[] Say(string output, params string[] more) =>
        ["say", "hi", "--model", Fixtures.TinyBark, "--greedy", "--max-semantic-tokens", "4", "-o", output, .. more];

    /// <summary>The message is for people: no stack trace, no .NET type or parameter name, no temporary or probe file.</summary>
    private static void AssertHumane(string err)
    {
        Assert.DoesNotContain("   at ", err);
        Assert.DoesNotContain("System.", err);
        Assert.DoesNotContain("Exception", err);
        Assert.DoesNotContain("(Parameter '", err);
        Assert.DoesNotContain(".tmp", err);
        Assert.DoesNotContain(".probe", err);
        Assert.DoesNotContain("internal error", err);
    }

    // ---------------------------------------------------------------- the table

    /// <summary>
    /// Every refused input: exit code, key words of the message ('|' between them), environment changes
    /// ("NAME=value;…"), then the arguments ({dir} is the test folder, {tiny} the tiny model). The folder is unchanged.
    /// </summary>
    [Theory]
    // environment variables, the same code in every command
    [InlineData(ExitCodes.Usage, "'not-a-url'|HF_ENDPOINT|http(s) URL", "HF_ENDPOINT=not-a-url", "download")]
    [InlineData(ExitCodes.Usage, "HF_ENDPOINT|http(s) URL", "HF_ENDPOINT=ftp://mirror.example", "download", "suno/bark")]
    [InlineData(ExitCodes.Usage, "HF_ENDPOINT", "HF_ENDPOINT=not-a-url", "say", "hi", "-o", "{dir}/x.wav")]
    [InlineData(ExitCodes.Usage, "HF_ENDPOINT", "HF_ENDPOINT=/relative/path", "info", "suno/bark-small")]
    [InlineData(ExitCodes.Usage, "HF_ENDPOINT", "HF_ENDPOINT=https://hub.example?x=1", "voices")]
    [InlineData(ExitCodes.Usage, "HF_ENDPOINT", "HF_ENDPOINT=not-a-url", "info", "{tiny}")]
    [InlineData(ExitCodes.Usage, "HF_HUB_OFFLINE|'maybe'", "HF_HUB_OFFLINE=maybe", "download")]
    [InlineData(ExitCodes.Usage, "HF_HUB_OFFLINE", "HF_HUB_OFFLINE=maybe", "tokenize", "hi")]
    [InlineData(ExitCodes.Usage, "cache folder|is a file|HF_HUB_CACHE", "HF_HUB_CACHE={dir}/notes.txt", "download")]
    [InlineData(ExitCodes.Usage, "cache folder|notes.txt' is a file|HF_HUB_CACHE", "HF_HUB_CACHE={dir}/notes.txt/hub", "say", "hi", "-o", "{dir}/x.wav")]
    [InlineData(ExitCodes.Usage, "cache folder|HF_HOME", "HF_HUB_CACHE=;HF_HOME={dir}/notes.txt", "download")]
    // revisions and repository ids
    [InlineData(ExitCodes.Usage, "'../x' is not a revision name", "", "download", "--revision", "../x")]
    [InlineData(ExitCodes.Usage, "'../x' is not a revision name", "", "say", "hi", "--revision", "../x", "-o", "{dir}/x.wav")]
    [InlineData(ExitCodes.Usage, "not a revision name", "", "info", "--revision", "a//b")]
    [InlineData(ExitCodes.Usage, "not a revision name", "", "say", "hi", "--model", "{tiny}", "--revision", "..", "-o", "{dir}/x.wav")]
    [InlineData(ExitCodes.Usage, "'a/b/c' is not a hub repository id", "", "download", "a/b/c")]
    [InlineData(ExitCodes.Usage, "'a/b/c' is neither an existing model folder nor a hub repository id", "", "say", "hi", "--model", "a/b/c", "-o", "{dir}/x.wav")]
    [InlineData(ExitCodes.Usage, "'a/b/c' is neither", "", "info", "a/b/c")]
    [InlineData(ExitCodes.Usage, "'a/b/c' is neither", "", "voices", "--model", "a/b/c")]
    [InlineData(ExitCodes.Usage, "'a/b/c' is neither", "", "tokenize", "hi", "--model", "a/b/c")]
    [InlineData(ExitCodes.Usage, "'a/b/c' is neither", "", "decode", "v2/en_speaker_6", "--model", "a/b/c", "-o", "{dir}/x.wav")]
    [InlineData(ExitCodes.Usage, "is a local folder|--model", "", "download", "{tiny}")]
    [InlineData(ExitCodes.Usage, "is a file|model folder", "", "say", "hi", "--model", "{dir}/notes.txt", "-o", "{dir}/x.wav")]
    [InlineData(ExitCodes.Usage, "named twice|give it once", "", "info", "{tiny}", "--model", "suno/bark")]
    // numbers
    [InlineData(ExitCodes.Usage, "--seed takes a whole number from 0 to 18446744073709551615, not '-1'", "", "say", "hi", "--seed", "-1")]
    [InlineData(ExitCodes.Usage, "--seed|18446744073709551616", "", "say", "hi", "--seed", "18446744073709551616")]
    [InlineData(ExitCodes.Usage, "--seed|'1.5'", "", "say", "hi", "--seed", "1.5")]
    [InlineData(ExitCodes.Usage, "--threads takes a whole number|'abc'", "", "say", "hi", "--threads", "abc")]
    [InlineData(ExitCodes.Usage, "--threads|'0'", "", "say", "hi", "--threads", "0")]
    [InlineData(ExitCodes.Usage, "--threads|'-2'", "", "bench", "--threads", "-2")]
    [InlineData(ExitCodes.Usage, "--batch|'x'", "", "bench", "--batch", "x")]
    [InlineData(ExitCodes.Usage, "--text-temp takes a number|'nan'", "", "say", "hi", "--text-temp", "nan")]
    [InlineData(ExitCodes.Usage, "--text-temp must be a temperature above 0", "", "say", "hi", "--model", "{tiny}", "--text-temp", "0", "-o", "{dir}/x.wav")]
    [InlineData(ExitCodes.Usage, "--waveform-temp|'1e9'", "", "say", "hi", "--waveform-temp", "1e9")]
    [InlineData(ExitCodes.Usage, "--min-eos-p|'2'", "", "say", "hi", "--min-eos-p", "2")]
    [InlineData(ExitCodes.Usage, "--max-semantic-tokens|'0'", "", "say", "hi", "--max-semantic-tokens", "0")]
    // text
    [InlineData(ExitCodes.Usage, "-f|is a folder|text file", "", "say", "-f", "{dir}", "--model", "{tiny}", "-o", "{dir}/x.wav")]
    [InlineData(ExitCodes.Usage, "-f|missing.txt|no such file", "", "say", "-f", "{dir}/missing.txt", "--model", "{tiny}", "-o", "{dir}/x.wav")]
    [InlineData(ExitCodes.Usage, "either as arguments or with -f", "", "say", "hi", "-f", "{dir}/notes.txt", "--model", "{tiny}", "-o", "{dir}/x.wav")]
    [InlineData(ExitCodes.Usage, "nothing to tokenize", "", "tokenize", " ", "--model", "{tiny}")]
    // voices
    [InlineData(ExitCodes.Usage, "semantic_prompt is empty|give none", "", "say", "hi", "--model", "{tiny}", "--voice", "{dir}/empty-voice.npz", "-o", "{dir}/x.wav")]
    [InlineData(ExitCodes.Usage, "semantic_prompt is empty", "", "decode", "{dir}/empty-voice.npz", "--model", "{tiny}", "-o", "{dir}/x.wav")]
    [InlineData(ExitCodes.Usage, "coarse_prompt is empty|frame", "", "decode", "{dir}/no-frames-voice.npz", "--model", "{tiny}", "-o", "{dir}/x.wav")]
    [InlineData(ExitCodes.Usage, "unknown voice preset 'nobody'", "", "decode", "nobody", "--model", "{tiny}", "-o", "{dir}/x.wav")]
    [InlineData(ExitCodes.Usage, "is a folder|preset name", "", "say", "hi", "--model", "{tiny}", "--voice", "{dir}/models", "-o", "{dir}/x.wav")]
    [InlineData(ExitCodes.Usage, "notes.txt|not a readable .npz", "", "decode", "{dir}/notes.txt", "--model", "{tiny}", "-o", "{dir}/x.wav")]
    // outputs
    [InlineData(ExitCodes.OutputError, "missing|does not exist", "", "say", "hi", "--model", "{tiny}", "-o", "{dir}/missing/x.wav")]
    [InlineData(ExitCodes.OutputError, "is a folder|out.wav", "", "say", "hi", "--model", "{tiny}", "-o", "{dir}")]
    [InlineData(ExitCodes.OutputError, "is a folder", "", "decode", "v2/en_speaker_6", "--model", "{tiny}", "-o", "{dir}/")]
    [InlineData(ExitCodes.OutputError, "notes.txt' is a file, not a folder", "", "say", "hi", "--model", "{tiny}", "-o", "{dir}/notes.txt/x.wav")]
    [InlineData(ExitCodes.OutputError, "symbolic link|loop", "", "say", "hi", "--model", "{tiny}", "-o", "{dir}/loop.wav")]
    [InlineData(ExitCodes.OutputError, "names the same file", "", "say", "hi", "--model", "{tiny}", "-o", "{dir}/same", "--save-voice", "{dir}/same")]
    [InlineData(ExitCodes.OutputError, "does not exist", "", "say", "hi", "--model", "{tiny}", "-o", "{dir}/x.wav", "--save-voice", "{dir}/missing/v.npz")]
    [InlineData(ExitCodes.OutputError, "output path is empty", "", "say", "hi", "--model", "{tiny}", "-o", "")]
    [InlineData(ExitCodes.OutputError, "longer than the 255 bytes", "", "say", "hi", "--model", "{tiny}", "-o", "{dir}/{long}.wav")]
    [InlineData(ExitCodes.Usage, "not a revision name", "", "download", "--revision", "")]
    [InlineData(ExitCodes.ModelUnavailable, "config.json does not exist", "", "info", "{dir}/models")]
    // models
    [InlineData(ExitCodes.ModelUnavailable, "header claims 4224 bytes|truncated", "", "say", "hi", "--model", "{dir}/models/bad-header", "-o", "{dir}/x.wav")]
    [InlineData(ExitCodes.ModelUnavailable, "header claims 4224 bytes", "", "info", "{dir}/models/bad-header")]
    [InlineData(ExitCodes.ModelUnavailable, "has shape [129600, 4] but the configuration expects [129600, 1000000000]", "", "say", "hi", "--model", "{dir}/models/huge-config", "-o", "{dir}/x.wav")]
    [InlineData(ExitCodes.ModelUnavailable, "has shape [129600, 4] but the configuration expects [129600, 1000000000]", "", "info", "{dir}/models/huge-config")]
    [InlineData(ExitCodes.ModelUnavailable, "cannot reach http://127.0.0.1:9|not in the cache|Three ways forward|bark download suno/bark-small|--model FOLDER|tests/fixtures/tiny-bark", "", "say", "hi", "-o", "{dir}/x.wav")]
    [InlineData(ExitCodes.ModelUnavailable, "offline mode|Three ways forward|unset HF_HUB_OFFLINE|bark download suno/bark|--model FOLDER", "HF_HUB_OFFLINE=1", "info", "suno/bark")]
    [InlineData(ExitCodes.ModelUnavailable, "Three ways forward", "", "tokenize", "hi")]
    public async Task RefusedWithAMessageAndNothingTouched(int exit, string keywords, string environment, params string[] args)
    {
        foreach (string assignment in environment.Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] pair = assignment.Split('=', 2);
            _env[pair[0]] = Expand(pair[1]);
        }
        Dictionary<string, string> before = Listing();

        (int code, string stdout, string err) = await Run([.. args.Select(Expand)]);

        Assert.True(code == exit, $"exit {code}, expected {exit}: {err}");
        foreach (string word in keywords.Split('|')) Assert.Contains(Expand(word), err);
        Assert.StartsWith("bark: ", err.TrimStart());
        AssertHumane(err);
        Assert.DoesNotContain("wrote", stdout);
        Assert.Equal(before, Listing());
    }

    private string Expand(string value) => value.Replace("{dir}", _dir, StringComparison.Ordinal).Replace("{tiny}", Fixtures.TinyBark, StringComparison.Ordinal)
        .Replace("{long}", new string('a', 300), StringComparison.Ordinal);

    [LinuxFact]
    public async Task SpecialOutputsThatCannotBeWrittenAreRefused()
    {
        string socketPath = P("a.sock");
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(socketPath));
        Dictionary<string, string> before = Listing();
        Assert.Equal("Socket", before["a.sock"].Split(' ')[0]);

        (int code, _, string err) = await Run(Say(socketPath));
        Assert.Equal(ExitCodes.OutputError, code);
        Assert.Contains("it is a socket", err);
        AssertHumane(err);

        (code, _, err) = await Run(Say("/proc/x.wav"));
        Assert.Equal(ExitCodes.OutputError, code);
        Assert.Contains("cannot write '/proc/x.wav': the folder '/proc' does not accept new files", err);
        AssertHumane(err);

        // A block device, if this machine shows one: refused, never replaced.
        string? block = Directory.EnumerateFiles("/dev").FirstOrDefault(f => OutputFile.KindOf(f) == OutputFile.FileKind.BlockDevice);
        if (block is not null)
        {
            (code, _, err) = await Run(Say(block));
            Assert.Equal(ExitCodes.OutputError, code);
            Assert.Contains("block device", err);
            Assert.Equal(OutputFile.FileKind.BlockDevice, OutputFile.KindOf(block));
        }
        Assert.Equal(before, Listing());
    }

    // ---------------------------------------------------------------- outputs that are written, and how

    [LinuxFact]
    public async Task AFifoIsStreamedToAndStaysAFifo()
    {
        (int code, _, string err) = await Run(Say(P("regular.wav")));
        Assert.True(code == 0, err);
        byte[] expected = File.ReadAllBytes(P("regular.wav"));
        string fifo = P("pipe.wav");
        using (Process mkfifo = Process.Start("mkfifo", ["-m", "640", fifo])) await mkfifo.WaitForExitAsync();
        Dictionary<string, string> before = Listing();
        Assert.Equal("Fifo", before["pipe.wav"].Split(' ')[0]);

        Task<byte[]> reader = Task.Run(() => File.ReadAllBytes(fifo));  // the reader the writer waits for
        (code, string stdout, err) = await Run(Say(fifo));
        if (!reader.IsCompleted && code != 0)
        {
            using var release = new FileStream(fifo, FileMode.Open, FileAccess.Write); // unblock the reader before failing
        }

        Assert.True(code == 0, err);
        Assert.Equal(expected, await reader.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains($"wrote {fifo}", stdout);
        Assert.Equal(before, Listing()); // still a FIFO, mode 0640, nothing next to it
    }

    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    [LinuxFact]
    public async Task DevNullStaysACharacterDevice()
    {
        UnixFileMode mode = File.GetUnixFileMode("/dev/null");
        Dictionary<string, string> before = Listing();
        (int code, string stdout, string err) = await Run(Say("/dev/null", "--save-voice", "/dev/null"));
        Assert.True(code == 0, err);
        Assert.Contains("wrote /dev/null", stdout);
        Assert.Equal(OutputFile.FileKind.CharacterDevice, OutputFile.KindOf("/dev/null"));
        Assert.Equal(mode, File.GetUnixFileMode("/dev/null"));
        Assert.Equal(before, Listing());
    }

    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    [LinuxTheory]
    [InlineData("readonly.wav", "444")]
    [InlineData("private.wav", "600")]
    public async Task AReplacedFileKeepsItsPermissionBits(string name, string octal)
    {
        Dictionary<string, string> before = Listing();
        (int code, _, string err) = await Run(Say(P(name)));
        Assert.True(code == 0, err);

        Assert.Equal((UnixFileMode)Convert.ToInt32(octal, 8), File.GetUnixFileMode(P(name)));
        Assert.Equal("RIFF", System.Text.Encoding.ASCII.GetString(File.ReadAllBytes(P(name)), 0, 4));
        AssertOnlyChanged(before, Listing(), name);
    }

    [Fact]
    public async Task ASymlinkIsFollowedAndStaysALink()
    {
        Dictionary<string, string> before = Listing();
        (int code, _, string err) = await Run(Say(P("link.wav")));
        Assert.True(code == 0, err);
        Assert.Equal("target.wav", new FileInfo(P("link.wav")).LinkTarget);
        Assert.Equal("RIFF", System.Text.Encoding.ASCII.GetString(File.ReadAllBytes(P("target.wav")), 0, 4));
        AssertOnlyChanged(before, Listing(), "target.wav");

        // A dangling link: its target is created, the link stays.
        before = Listing();
        (code, _, err) = await Run(Say(P("dangling.wav")));
        Assert.True(code == 0, err);
        Assert.Equal("created-through-link.wav", new FileInfo(P("dangling.wav")).LinkTarget);
        Assert.True(File.Exists(P("created-through-link.wav")));
        AssertOnlyChanged(before, Listing(), "created-through-link.wav");
    }

    [Fact]
    public async Task ANewFileGetsTheDefaultModeAndNothingElseAppears()
    {
        Dictionary<string, string> before = Listing();
        (int code, _, string err) = await Run(Say(P("new.wav"), "--save-voice", P("new.npz")));
        Assert.True(code == 0, err);
        if (!OperatingSystem.IsWindows())
        {
            // What a plain File.Create gives here (0666 less the umask).
            File.WriteAllText(P("reference"), "");
            Assert.Equal(File.GetUnixFileMode(P("reference")), File.GetUnixFileMode(P("new.wav")));
            File.Delete(P("reference"));
        }
        AssertOnlyChanged(before, Listing(), "new.wav", "new.npz");
    }

    // ---------------------------------------------------------------- said out loud, and consistent

    [Fact]
    public async Task ALongButValidNameIsWritten()
    {
        string name = new string('a', 251) + ".wav"; // 255 bytes: the temporary name must not be longer than the file system allows
        Dictionary<string, string> before = Listing();
        (int code, _, string err) = await Run(Say(P(name)));
        Assert.True(code == 0, err);
        AssertOnlyChanged(before, Listing(), name);
    }

    [Fact]
    public async Task ACappedMaxSemanticTokensIsSaidOutLoud()
    {
        // A tiny --min-eos-p ends the semantic stage at once, so the run stays short; the cap is about the option.
        (int code, _, string err) = await Run(["say", "hi", "--model", Fixtures.TinyBark, "--greedy", "--min-eos-p", "0.000001", "--max-semantic-tokens", "100000", "-o", P("long.wav")]);
        Assert.True(code == 0, err);
        // The tiny model's semantic block is 640 positions, 256 of them text.
        Assert.Contains("warning: --max-semantic-tokens 100000 was capped to 384", err);
        Assert.Contains("block size less the 256 text positions", err);
        AssertHumane(err);

        (code, _, err) = await Run(Say(P("short.wav")));
        Assert.True(code == 0, err);
        Assert.DoesNotContain("capped", err);
    }

    [Fact]
    public async Task TheModelIsNamedTheSameWayEverywhere()
    {
        (int code, string positional, string err) = await Run(["info", Fixtures.TinyBark]);
        Assert.True(code == 0, err);
        (code, string option, err) = await Run(["info", "--model", Fixtures.TinyBark]);
        Assert.True(code == 0, err);
        Assert.Equal(option, positional);
        Assert.Contains("semantic", positional);

        (code, positional, _) = await Run(["voices", Fixtures.TinyBark]);
        Assert.Equal(0, code);
        (code, option, _) = await Run(["voices", "-m", Fixtures.TinyBark]);
        Assert.Equal(0, code);
        Assert.Equal(option, positional);
        Assert.Contains("v2/en_speaker_6", positional);

        using var hub = new FakeHub(Fixtures.TinyBark);
        _env["HF_ENDPOINT"] = hub.Endpoint;
        (code, string downloaded, err) = await Run(["download", "--model", "suno/bark-small"]);
        Assert.True(code == 0, err);
        Assert.Contains(FakeHub.Commit, downloaded);
    }

    [Fact]
    public async Task TokenizePrintsTheIdsTheReadmePromises()
    {
        (int code, string stdout, string err) = await Run(["tokenize", "Hello, my dog is cute", "--model", Fixtures.TinyBark]);
        Assert.True(code == 0, err);
        Assert.Contains("ids     31178 117 15127 17835 10124 21610 10112 (then 249 padding positions)", stdout);
        Assert.Contains("tokens  Hello | , | my | dog | is | cut | ##e", stdout);
        Assert.Contains("7 tokens", stdout);
    }

    [Fact]
    public async Task ArgumentErrorsLoseTheirParameterName()
    {
        var error = new StringWriter();
        int code = await ErrorReport.WriteAsync(error, new ArgumentException("the texts are empty.", "texts"), CancellationToken.None);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Equal("bark: the texts are empty.", error.ToString().Trim());
    }

    [Fact]
    public async Task OtherParseErrorsNameNoDotNetType()
    {
        Assert.Equal("--greedy takes true or false, not 'maybe'.",
            Program.ForPeople("Cannot parse argument 'maybe' for option '--greedy' as expected type 'System.Boolean'."));
        Assert.Equal("--x takes a whole number, not 'y'.",
            Program.ForPeople("Cannot parse argument 'y' for option '--x' as expected type 'System.Nullable`1[System.Int32]'."));
        (int code, _, string err) = await Run(["say", "hi", "--format", "mp3"]);
        Assert.Equal(ExitCodes.Usage, code);
        AssertHumane(err);
    }

    // ---------------------------------------------------------------- fixtures

    /// <summary>Kind, permission bits and content hash of everything under the test folder (links as their targets).</summary>
    private Dictionary<string, string> Listing()
    {
        var listing = new Dictionary<string, string>(StringComparer.Ordinal);
        var options = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 };
        foreach (string path in Directory.EnumerateFileSystemEntries(_dir, "*", options))
        {
            string name = Path.GetRelativePath(_dir, path);
            if (new FileInfo(path).LinkTarget is { } target)
            {
                listing[name] = "link " + target;
                continue;
            }
            OutputFile.FileKind kind = OutputFile.KindOf(path);
            string mode = OperatingSystem.IsWindows() ? "" : Convert.ToString((int)File.GetUnixFileMode(path), 8);
            string content = kind == OutputFile.FileKind.Regular ? Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path))) : "";
            listing[name] = string.Create(CultureInfo.InvariantCulture, $"{kind} {mode} {content}");
        }
        return listing;
    }

    private static void AssertOnlyChanged(Dictionary<string, string> before, Dictionary<string, string> after, params string[] changed)
    {
        Assert.Equal(before.Keys.Union(changed).Order(StringComparer.Ordinal), after.Keys.Order(StringComparer.Ordinal));
        foreach ((string name, string entry) in before)
            if (!changed.Contains(name)) Assert.Equal(entry, after[name]);
        foreach (string name in changed) Assert.NotEqual(before.GetValueOrDefault(name), after[name]);
    }

    private static void VoicePresetTestFile(string path, int semantic, int frames)
    {
        NpzFile.Save(path, new Dictionary<string, NpyArray>
        {
            ["semantic_prompt"] = NpyArray.FromInt64(new long[semantic], semantic),
            ["coarse_prompt"] = NpyArray.FromInt64(new long[2 * frames], 2, frames),
            ["fine_prompt"] = NpyArray.FromInt64(new long[8 * frames], 8, frames),
        });
    }

    /// <summary>models/bad-header (a safetensors header length beyond the file), models/huge-config (hidden_size 1e9).</summary>
    private void BrokenModels()
    {
        foreach (string model in new[] { "bad-header", "huge-config" })
        {
            string folder = P(Path.Combine("models", model));
            Directory.CreateDirectory(folder);
            foreach (string file in new[] { "generation_config.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json" })
                File.CreateSymbolicLink(Path.Combine(folder, file), Path.Combine(Fixtures.TinyBark, file));
        }
        string badHeader = P(Path.Combine("models", "bad-header"));
        File.Copy(Path.Combine(Fixtures.TinyBark, "config.json"), Path.Combine(badHeader, "config.json"));
        // 4224 = 0x1080: the first byte is 0x80, which was once read as a legacy torch pickle.
        byte[] weights = new byte[20];
        BitConverter.TryWriteBytes(weights, 4224L);
        weights[8] = (byte)'{';
        File.WriteAllBytes(Path.Combine(badHeader, "model.safetensors"), weights);

        string huge = P(Path.Combine("models", "huge-config"));
        string config = File.ReadAllText(Path.Combine(Fixtures.TinyBark, "config.json"));
        var json = System.Text.Json.Nodes.JsonNode.Parse(config)!;
        json["semantic_config"]!["hidden_size"] = 1_000_000_000;
        json["semantic_config"]!["num_heads"] = 1;
        File.WriteAllText(Path.Combine(huge, "config.json"), json.ToJsonString());
        File.CreateSymbolicLink(Path.Combine(huge, "model.safetensors"), Path.Combine(Fixtures.TinyBark, "model.safetensors"));
    }
}
