using System.Buffers.Binary;
using System.Diagnostics;
using System.Text.Json;
using BarkSharp.Cli;
using BarkSharp.Generation;
using BarkSharp.Speech;
using BarkSharp.Tests.Infrastructure;

namespace BarkSharp.Tests.Cli;

/// <summary><c>bark say</c> with long text: segments, streaming to a pipe, the JSON report, cancellation mid-stream.</summary>
public sealed class LongFormCliTests : IDisposable
{
    private const string Text = "The first sentence is here. A second one follows it. Then comes a third.";
    private readonly string _dir = Fixtures.TempDir();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string[] Say(params string[] more) =>
        ["say", Text, "--model", Fixtures.TinyBark, "--max-semantic-tokens", "8", "--segment-tokens", "6", "--seed", "5", "--threads", "1", .. more];

    /// <summary>What the library makes of the same text and options: the audio the command must write.</summary>
    private static async Task<SpeechResult> Expected()
    {
        using BarkModel model = BarkModel.FromPretrained(Fixtures.TinyBark);
        BarkProcessor processor = BarkProcessor.FromPretrained(Fixtures.TinyBark);
        using var speech = new SpeechGenerator(model, processor);
        return await speech.GenerateAsync(Text, new SpeechOptions
        {
            Segmentation = new TextSegmenterOptions { MaxTokens = 6 },
            Generation = new BarkGenerationOptions { Seed = 5, Semantic = new StageOptions { MaxNewTokens = 8 } },
        });
    }

    private static short[] Pcm16(float[] audio) => audio.Select(s => (short)Math.Round(Math.Clamp(s, -1f, 1f) * 32767f)).ToArray();

    /// <summary>Runs the real <c>bark</c> executable with stdout on a pipe and returns what came through it.</summary>
    private static async Task<(int Code, byte[] Stdout, string Stderr)> Pipe(string[] args)
    {
        string bark = typeof(Program).Assembly.Location;
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        start.ArgumentList.Add(bark);
        foreach (string a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        using var buffer = new MemoryStream();
        Task copy = process.StandardOutput.BaseStream.CopyToAsync(buffer);
        Task<string> error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        await copy;
        return (process.ExitCode, buffer.ToArray(), await error);
    }

    [Fact]
    public async Task Wav_and_raw_pcm_stream_through_a_pipe()
    {
        SpeechResult expected = await Expected();
        Assert.True(expected.Segments.Count >= 3);
        short[] samples = Pcm16(expected.Audio);

        (int code, byte[] wav, string err) = await Pipe(Say("-o", "-"));
        Assert.True(code == 0, err);
        Assert.Equal("RIFF"u8.ToArray(), wav[..4]);
        Assert.Equal("WAVE"u8.ToArray(), wav[8..12]);
        Assert.Equal(0xFFFFFFFFu, BinaryPrimitives.ReadUInt32LittleEndian(wav.AsSpan(4)));     // streamed: sizes unknown up front
        int data = IndexOf(wav, "data"u8) + 8;
        Assert.Equal(0xFFFFFFFFu, BinaryPrimitives.ReadUInt32LittleEndian(wav.AsSpan(data - 4)));
        Assert.Equal(1, BinaryPrimitives.ReadInt16LittleEndian(wav.AsSpan(20)));           // PCM
        Assert.Equal(24000, BinaryPrimitives.ReadInt32LittleEndian(wav.AsSpan(24)));
        Assert.Equal(samples, Shorts(wav.AsSpan(data)));
        Assert.Contains("wrote standard output", err);                                     // the report goes to stderr

        (code, byte[] raw, err) = await Pipe(Say("-o", "-", "--format", "raw"));
        Assert.True(code == 0, err);
        Assert.Equal(samples, Shorts(raw));
    }

    [Fact]
    public async Task Json_report_describes_every_segment_and_the_file_holds_the_audio()
    {
        string wav = Path.Combine(_dir, "story.wav");
        var output = new StringWriter();
        var error = new StringWriter();
        int code = await Program.RunAsync(Say("-o", wav, "--json"), output, error);
        Assert.True(code == 0, error.ToString());
        using JsonDocument report = JsonDocument.Parse(output.ToString());
        JsonElement root = report.RootElement;
        JsonElement[] segments = root.GetProperty("segments").EnumerateArray().ToArray();
        SpeechResult expected = await Expected();
        Assert.Equal(expected.Segments.Count, segments.Length);
        double previousEnd = 0;
        for (int i = 0; i < segments.Length; i++)
        {
            JsonElement s = segments[i];
            Assert.Equal(i, s.GetProperty("index").GetInt32());
            Assert.Equal(Text[s.GetProperty("start_char").GetInt32()..s.GetProperty("end_char").GetInt32()], s.GetProperty("text").GetString());
            Assert.Equal(expected.Segments[i].Text, s.GetProperty("text").GetString());
            Assert.True(s.GetProperty("start_s").GetDouble() >= previousEnd);
            previousEnd = s.GetProperty("end_s").GetDouble();
            Assert.Equal(expected.Segments[i].SemanticTokens, s.GetProperty("semantic_tokens").GetInt32());
            Assert.True(s.GetProperty("seconds").GetDouble() > 0);
        }
        Assert.Equal(expected.AudioSeconds, root.GetProperty("audio_seconds").GetDouble(), 3);
        Assert.Equal(previousEnd, root.GetProperty("audio_seconds").GetDouble(), 3);
        Assert.InRange(root.GetProperty("ttfa_seconds").GetDouble(), 0, root.GetProperty("total_seconds").GetDouble());
        Assert.Equal(24000, root.GetProperty("sample_rate").GetInt32());

        byte[] file = await File.ReadAllBytesAsync(wav);
        int data = IndexOf(file, "data"u8) + 8;
        Assert.Equal((uint)(file.Length - data), BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(data - 4)));  // a file gets exact sizes
        Assert.Equal(Pcm16(expected.Audio), Shorts(file.AsSpan(data)));
        Assert.Contains("segment 3/3 ready", error.ToString());
    }

    [Fact]
    public async Task Cancelling_after_the_first_segment_exits_130_and_leaves_no_file()
    {
        string wav = Path.Combine(_dir, "cancelled.wav");
        using var cancel = new CancellationTokenSource();
        var error = new CancelOn("segment 1/", cancel);
        int code = await Program.RunAsync(Say("-o", wav, "--segment-batch", "1"), new StringWriter(), error, cancellationToken: cancel.Token);
        Assert.Equal(ExitCodes.Cancelled, code);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_dir));
    }

    [Fact]
    public async Task Audio_and_json_cannot_both_take_stdout()
    {
        var error = new StringWriter();
        int code = await Program.RunAsync(Say("-o", "-", "--json"), new StringWriter(), error, standardOutput: new MemoryStream());
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("--json report.json", error.ToString());
    }

    private static int IndexOf(byte[] bytes, ReadOnlySpan<byte> what) => bytes.AsSpan().IndexOf(what);

    private static short[] Shorts(ReadOnlySpan<byte> bytes)
    {
        var result = new short[bytes.Length / 2];
        for (int i = 0; i < result.Length; i++) result[i] = BinaryPrimitives.ReadInt16LittleEndian(bytes[(2 * i)..]);
        return result;
    }

    /// <summary>An error writer that cancels the run once a line containing <paramref name="marker"/> is written.</summary>
    private sealed class CancelOn(string marker, CancellationTokenSource cancel) : StringWriter
    {
        public override void WriteLine(string? value)
        {
            base.WriteLine(value);
            if (value?.Contains(marker, StringComparison.Ordinal) == true) cancel.Cancel();
        }
    }
}
