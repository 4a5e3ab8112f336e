using BarkSharp.Hub;
using BarkSharp.IO;
using BarkSharp.Tests.Infrastructure;

namespace BarkSharp.Tests.IO;

/// <summary><see cref="OutputFile"/> on its own, and the library-level refusals issue 15 asks for.</summary>
public sealed class OutputFileTests : IDisposable
{
    private readonly string _dir = Fixtures.TempDir();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string P(string name) => Path.Combine(_dir, name);

    [Fact]
    public void WithoutCommitTheTargetIsUntouchedAndNoTemporaryFileRemains()
    {
        File.WriteAllText(P("out.wav"), "old");
        using (OutputFile output = OutputFile.Create(P("out.wav")))
        {
            Assert.False(output.IsStreamed);
            Assert.True(output.Stream.CanSeek);
            Assert.Equal(P("out.wav"), output.Path);
            output.Stream.Write("new contents"u8);
            Assert.Equal("old", File.ReadAllText(P("out.wav")));
            Assert.Equal(2, Directory.GetFiles(_dir).Length); // the hidden temporary file next to it
        }
        Assert.Equal("old", File.ReadAllText(P("out.wav")));
        Assert.Equal([P("out.wav")], Directory.GetFiles(_dir));
    }

    [Fact]
    public void CommitReplacesAtomicallyAndWriteCommitsOnlyOnSuccess()
    {
        OutputFile.Write(P("a.bin"), s => s.Write("first"u8));
        Assert.Equal("first", File.ReadAllText(P("a.bin")));
        Assert.Throws<InvalidOperationException>(() => OutputFile.Write(P("a.bin"), s =>
        {
            s.Write("half"u8);
            throw new InvalidOperationException("the writer failed");
        }));
        Assert.Equal("first", File.ReadAllText(P("a.bin")));
        Assert.Equal([P("a.bin")], Directory.GetFiles(_dir));
    }

    [Fact]
    public void CheckLeavesTheFolderAsItWas()
    {
        OutputFile.Check(P("new.wav"));
        Assert.Empty(Directory.GetFileSystemEntries(_dir));
        var e = Assert.Throws<BarkOutputException>(() => OutputFile.Check(P("no/such/new.wav")));
        Assert.Equal(P("no/such/new.wav"), e.FilePath);
        Assert.Contains("does not exist", e.Message);
    }

    [LinuxFact]
    public void ACharacterDeviceIsStreamedNotReplaced()
    {
        using OutputFile output = OutputFile.Create("/dev/null");
        Assert.True(output.IsStreamed);
        output.Stream.Write(new byte[10_000]);
        output.Commit();
        Assert.Equal(OutputFile.FileKind.CharacterDevice, OutputFile.KindOf("/dev/null"));
    }

    [LinuxFact]
    public void AWriteErrorNamesThePathNotTheTemporaryFile()
    {
        // /dev/full refuses every byte with ENOSPC, like a full disk.
        using OutputFile output = OutputFile.Create("/dev/full");
        var e = Assert.Throws<BarkOutputException>(() => output.Stream.Write(new byte[100]));
        Assert.StartsWith("cannot write '/dev/full': ", e.Message);
        Assert.Contains("space", e.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void HubSettingsAreRefusedBeforeAnyRequest()
    {
        var e = Assert.Throws<BarkHubException>(() => new HubClient(new HubOptions { Endpoint = "not-a-url", CacheDirectory = _dir }));
        Assert.Equal(HubErrorKind.InvalidOptions, e.Kind);
        Assert.Contains("HF_ENDPOINT", e.Message);
        e = Assert.Throws<BarkHubException>(() => new HubClient(new HubOptions { Revision = "../x", CacheDirectory = _dir }));
        Assert.Equal(HubErrorKind.InvalidOptions, e.Kind);
        Assert.DoesNotContain("Parameter", e.Message);
        e = Assert.Throws<BarkHubException>(() => HubOptions.FromEnvironment(name => name == "HF_HUB_OFFLINE" ? "maybe" : null));
        Assert.Equal(HubErrorKind.InvalidOptions, e.Kind);
        Assert.True(HubOptions.FromEnvironment(name => name == "HF_HUB_OFFLINE" ? "off" : null).Offline == false);
        Assert.True(HubOptions.FromEnvironment(name => name == "HF_HUB_OFFLINE" ? "Yes" : null).Offline == true);
    }

    [Fact]
    public void EmptyVoicePromptsAreRefusedNamingTheArray()
    {
        long[][] Rows(int n, int length) => [.. Enumerable.Range(0, n).Select(_ => new long[length])];
        var e = Assert.Throws<BarkVoiceException>(() => VoicePreset.FromArrays([], Rows(2, 3), Rows(8, 3)));
        Assert.Contains("semantic_prompt is empty", e.Message);
        e = Assert.Throws<BarkVoiceException>(() => VoicePreset.FromArrays([1, 2], Rows(2, 0), Rows(8, 0)));
        Assert.Contains("coarse_prompt is empty", e.Message);
        e = Assert.Throws<BarkVoiceException>(() => VoicePreset.FromArrays([1, 2], Rows(2, 3), Rows(8, 0)));
        Assert.Contains("fine_prompt is empty", e.Message);
        Assert.Equal(2, VoicePreset.FromArrays([1, 2], Rows(2, 3), Rows(8, 3)).SemanticPrompt.Length);
    }

    [Fact]
    public void ASafetensorsHeaderBeyondTheFileIsNotCalledLegacyTorch()
    {
        byte[] bytes = new byte[20];
        BitConverter.TryWriteBytes(bytes, 0x1080L); // first byte 0x80, like a pickle
        bytes[8] = (byte)'{';
        File.WriteAllBytes(P("model.safetensors"), bytes);
        var e = Assert.Throws<BarkFormatException>(() => Checkpoint.OpenCheckpoint(P("model.safetensors")));
        Assert.Contains("header claims 4224 bytes", e.Message);
        Assert.DoesNotContain("legacy", e.Message);
    }
}
