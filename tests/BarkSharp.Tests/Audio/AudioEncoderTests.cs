using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using BarkSharp.Audio;
using BarkSharp.IO;
using BarkSharp.Tests.Infrastructure;

namespace BarkSharp.Tests.Audio;

public class AudioEncoderTests
{
    private static float[] Sine(int count, double hz = 440, float amplitude = 0.5f, int rate = 24_000) =>
        Enumerable.Range(0, count).Select(i => amplitude * (float)Math.Sin(2 * Math.PI * hz * i / rate)).ToArray();

    private static byte[] Encode(AudioFormat format, float[] samples, bool streaming, Stream? stream = null, int pieces = 3)
    {
        var ms = new MemoryStream();
        Stream target = stream ?? ms;
        using (AudioEncoder encoder = AudioEncoder.Create(format, target, 24_000, streaming))
        {
            int step = Math.Max(1, samples.Length / pieces);
            for (int at = 0; at < samples.Length; at += step)
            {
                encoder.Write(samples.AsSpan(at, Math.Min(step, samples.Length - at)));
                encoder.Flush();
            }
            encoder.Complete();
        }
        return stream is NonSeekable ns ? ns.Inner.ToArray() : ms.ToArray();
    }

    private sealed class NonSeekable(MemoryStream inner) : Stream
    {
        public MemoryStream Inner { get; } = inner;
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => Inner.Write(buffer, offset, count);
    }

    [Theory]
    [InlineData(AudioFormat.Wav, WavFormat.Pcm16)]
    [InlineData(AudioFormat.WavFloat32, WavFormat.Float32)]
    public void Wav_in_pieces_equals_WavWriter_on_seekable_and_non_seekable_streams(AudioFormat format, WavFormat wavFormat)
    {
        float[] samples = [.. Sine(1000), 2f, -3f, float.NaN];
        var reference = new MemoryStream();
        WavWriter.Write(reference, samples, 24_000, wavFormat);
        Assert.Equal(reference.ToArray(), Encode(format, samples, streaming: false));
        Assert.Equal(reference.ToArray(), Encode(format, samples, streaming: false, new NonSeekable(new MemoryStream())));
    }

    [Theory]
    [InlineData(AudioFormat.Wav, 44)]
    [InlineData(AudioFormat.WavFloat32, 58)]
    public void Streamed_wav_has_unknown_sizes_and_the_same_samples(AudioFormat format, int headerLength)
    {
        float[] samples = Sine(999);
        byte[] exact = Encode(format, samples, streaming: false);
        byte[] streamed = Encode(format, samples, streaming: true, new NonSeekable(new MemoryStream()));
        Assert.Equal(exact.Length, streamed.Length);
        Assert.Equal(0xFFFFFFFFu, BinaryPrimitives.ReadUInt32LittleEndian(streamed.AsSpan(4)));
        Assert.Equal(0xFFFFFFFFu, BinaryPrimitives.ReadUInt32LittleEndian(streamed.AsSpan(headerLength - 4)));
        Assert.Equal("data", Encoding.ASCII.GetString(streamed, headerLength - 8, 4));
        Assert.Equal(exact.AsSpan(headerLength).ToArray(), streamed.AsSpan(headerLength).ToArray());
    }

    [Fact]
    public void Streamed_wav_reaches_the_stream_at_each_flush()
    {
        var ms = new MemoryStream();
        using var encoder = AudioEncoder.Create(AudioFormat.Wav, ms, 24_000, streaming: true);
        Assert.Equal(44, ms.Length);
        encoder.Write(new float[100]);
        encoder.Flush();
        Assert.Equal(244, ms.Length);
        encoder.Complete();
        Assert.Equal(244, ms.Length);
        Assert.Throws<InvalidOperationException>(() => encoder.Write(new float[1]));
    }

    [Fact]
    public void Pcm_is_the_wav_data_without_a_header()
    {
        float[] samples = [.. Sine(777), 1.5f, -1.5f, float.NaN];
        byte[] wav = Encode(AudioFormat.Wav, samples, streaming: false);
        byte[] pcm = Encode(AudioFormat.Pcm, samples, streaming: true);
        Assert.Equal(samples.Length * 2, pcm.Length);
        Assert.Equal(wav.AsSpan(44).ToArray(), pcm);
        Assert.Equal(32767, BinaryPrimitives.ReadInt16LittleEndian(pcm.AsSpan(777 * 2)));
        Assert.Equal(-32767, BinaryPrimitives.ReadInt16LittleEndian(pcm.AsSpan(778 * 2)));
    }

    [Theory]
    [InlineData("wav", AudioFormat.Wav)]
    [InlineData("WAV", AudioFormat.Wav)]
    [InlineData("pcm", AudioFormat.Pcm)]
    [InlineData("raw", AudioFormat.Pcm)]
    [InlineData("opus", AudioFormat.Opus)]
    [InlineData("float32", AudioFormat.WavFloat32)]
    [InlineData("flac", AudioFormat.Flac)]
    public void Format_names_parse(string name, AudioFormat expected)
    {
        Assert.True(AudioEncoder.TryParse(name, out AudioFormat f));
        Assert.Equal(expected, f);
    }

    [Theory]
    [InlineData("mp3")]
    [InlineData("aac")]
    [InlineData("wma")]
    [InlineData("")]
    [InlineData(null)]
    public void Unsupported_format_names_do_not_parse(string? name) => Assert.False(AudioEncoder.TryParse(name, out _));

    [Fact]
    public void Content_types()
    {
        Assert.Equal("audio/wav", AudioEncoder.Create(AudioFormat.Wav, new MemoryStream(), 24_000).ContentType);
        Assert.Equal("audio/pcm", AudioEncoder.Create(AudioFormat.Pcm, new MemoryStream(), 24_000).ContentType);
        Assert.Equal("audio/ogg", AudioEncoder.Create(AudioFormat.Opus, new MemoryStream(), 24_000).ContentType);
        Assert.Equal("audio/flac", AudioEncoder.Create(AudioFormat.Flac, new MemoryStream(), 24_000).ContentType);
    }

    [Fact]
    public void OggCrc_matches_a_bitwise_implementation_and_the_known_check_value()
    {
        // Ogg's CRC is CRC-32/POSIX without the final inversion: check value 0x765E7680 ^ 0xFFFFFFFF.
        Assert.Equal(0x89A1897Fu, OggCrc.Compute("123456789"u8));
        byte[] random = new byte[4096];
        new Random(1).NextBytes(random);
        Assert.Equal(OggOpusReader.BitwiseCrc(random), OggCrc.Compute(random));
    }

    [Theory]
    [InlineData(24_000, false)]
    [InlineData(24_000 + 123, true)]
    [InlineData(5, false)]
    [InlineData(0, false)]
    [InlineData(3 * 24_000 + 7, true)]
    public void Ogg_pages_are_well_formed(int length, bool streaming)
    {
        float[] samples = Sine(length);
        byte[] data = Encode(AudioFormat.Opus, samples, streaming, pieces: 7);
        List<OggPage> pages = OggOpusReader.Pages(data);
        Assert.All(pages, p => Assert.True(p.CrcValid, $"page {p.Sequence} has a bad CRC"));
        Assert.All(pages, p => Assert.False(p.LastPacketContinues));
        Assert.Equal(Enumerable.Range(0, pages.Count).Select(i => (uint)i), pages.Select(p => p.Sequence));
        Assert.Single(pages.Select(p => p.Serial).Distinct());
        Assert.Equal(0x02, pages[0].HeaderType);
        Assert.Equal(0x04, pages[^1].HeaderType);
        Assert.All(pages.Skip(1).SkipLast(1), p => Assert.Equal(0, p.HeaderType));
        Assert.Single(pages[0].Packets);
        Assert.Single(pages[1].Packets);
        Assert.Equal(0, pages[0].Granule);
        Assert.Equal(0, pages[1].Granule);

        byte[] head = pages[0].Packets[0];
        Assert.Equal(19, head.Length);
        Assert.Equal(1, head[8]);
        Assert.Equal(1, head[9]);
        int preSkip = BinaryPrimitives.ReadUInt16LittleEndian(head.AsSpan(10));
        Assert.InRange(preSkip, 1, 48_000 / 10);
        Assert.Equal(24_000, BinaryPrimitives.ReadInt32LittleEndian(head.AsSpan(12)));
        Assert.Equal(0, head[18]);

        long previous = 0;
        foreach (OggPage page in pages.Skip(2))
        {
            Assert.True(page.Granule >= previous, "granule positions go back");
            previous = page.Granule;
        }
        Assert.Equal(preSkip + 2L * length, pages[^1].Granule);
        long packets = pages.Skip(2).Sum(p => p.Packets.Count);
        Assert.True(packets * 960 >= pages[^1].Granule, "the last granule is beyond the decodable samples");
        Assert.True(packets * 960 - pages[^1].Granule < 960 + preSkip, "more padding than one frame beyond the lookahead");
    }

    [Fact]
    public void Opus_round_trip_keeps_the_duration_and_the_signal()
    {
        // Decoded at 48 kHz, the rate RFC 7845 granules count in (Concentus 2.2.2's decoder returns near-silence when
        // asked for 24 kHz output from any stream, so that path is not used; opusdec resamples below).
        const int decodeRate = 48_000;
        float[] samples = Sine(24_000 + 311, hz: 330);
        byte[] data = Encode(AudioFormat.Opus, samples, streaming: true, pieces: 5);
        (float[] decoded, _, int inputRate) = OggOpusReader.Decode(data, decodeRate);
        Assert.Equal(24_000, inputRate);
        int scale = decodeRate / 24_000;
        Assert.Equal(samples.Length * scale, decoded.Length);

        // Compare at 24 kHz (every other sample at 48 kHz), skipping the first 20 ms where the codec settles.
        float[] back = Enumerable.Range(0, samples.Length).Select(i => decoded[i * scale]).ToArray();
        double signal = 0, noise = 0, dot = 0, a2 = 0, b2 = 0;
        for (int i = 480; i < samples.Length; i++)
        {
            signal += samples[i] * (double)samples[i];
            noise += (samples[i] - back[i]) * (double)(samples[i] - back[i]);
            dot += samples[i] * (double)back[i];
            a2 += samples[i] * (double)samples[i];
            b2 += back[i] * (double)back[i];
        }
        double snr = 10 * Math.Log10(signal / noise);
        double correlation = dot / Math.Sqrt(a2 * b2);
        Assert.True(correlation > 0.98, $"correlation {correlation:F4}");
        Assert.True(snr > 12, $"SNR {snr:F1} dB");
    }

    [Fact]
    public void Opus_flush_emits_whole_pages()
    {
        var ms = new MemoryStream();
        using var encoder = new OggOpusEncoder(ms, 24_000, serialNumber: 7);
        long headers = ms.Length;
        Assert.Equal(2u, encoder.PagesWritten);
        encoder.Write(Sine(4800));   // 200 ms: 10 packets
        Assert.Equal(headers, ms.Length);
        encoder.Flush();
        Assert.Equal(3u, encoder.PagesWritten);
        List<OggPage> pages = OggOpusReader.Pages(ms.ToArray());
        Assert.Equal(10, pages[2].Packets.Count);
        Assert.Equal(10 * 960, pages[2].Granule);
        Assert.Equal(7u, pages[2].Serial);
    }

    [Fact]
    public void Opus_rejects_rates_it_cannot_take() =>
        Assert.Throws<ArgumentException>(() => new OggOpusEncoder(new MemoryStream(), 22_050));

    [ToolFact("opusinfo", "opusdec")]
    public void Opus_tools_accept_the_stream_when_installed()
    {
        string opusinfo = FindTool("opusinfo")!, opusdec = FindTool("opusdec")!;
        string dir = Fixtures.TempDir();
        try
        {
            string file = Path.Combine(dir, "a.opus");
            File.WriteAllBytes(file, Encode(AudioFormat.Opus, Sine(24_000 + 100), streaming: true));
            (int code, string output) = Run(opusinfo, file);
            Assert.True(code == 0, output);
            Assert.DoesNotContain("WARNING", output, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("ERROR", output, StringComparison.OrdinalIgnoreCase);
            Assert.Contains("Original sample rate: 24000", output);

            string wav = Path.Combine(dir, "a.wav");
            (code, output) = Run(opusdec, "--rate", "24000", "--force-wav", file, wav);
            Assert.True(code == 0, output);
            long dataBytes = new FileInfo(wav).Length - 44;
            Assert.Equal((24_000 + 100) * 2, dataBytes);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void Flac_crcs_match_their_check_values()
    {
        Assert.Equal(0xF4, FlacEncoder.Crc8("123456789"u8));      // CRC-8 (poly 0x07)
        Assert.Equal(0xFEE8, FlacEncoder.Crc16("123456789"u8));   // CRC-16/BUYPASS (poly 0x8005)
    }

    [Theory]
    [InlineData(10_000, false)]
    [InlineData(4096, true)]
    [InlineData(1, false)]
    [InlineData(0, false)]
    public void Flac_streaminfo_and_first_frame_header(int length, bool streaming)
    {
        float[] samples = Sine(length);
        byte[] flac = Encode(AudioFormat.Flac, samples, streaming, pieces: 3);
        Assert.Equal("fLaC", Encoding.ASCII.GetString(flac, 0, 4));
        Assert.Equal(0x80, flac[4]);                                   // last metadata block, STREAMINFO
        Assert.Equal(34, flac[7]);
        ulong packed = BinaryPrimitives.ReadUInt64BigEndian(flac.AsSpan(18));
        Assert.Equal(24_000UL, packed >> 44);
        Assert.Equal(0UL, (packed >> 41) & 7);                         // one channel
        Assert.Equal(15UL, (packed >> 36) & 31);                       // 16 bits
        byte[] pcm = Encode(AudioFormat.Pcm, samples, streaming: true);
        Assert.Equal(streaming ? 0UL : (ulong)length, packed & 0xF_FFFF_FFFF);
        Assert.Equal(streaming ? new byte[16] : System.Security.Cryptography.MD5.HashData(pcm), flac.AsSpan(26, 16).ToArray());
        if (length == 0)
        {
            Assert.Equal(42, flac.Length);
            return;
        }
        Assert.Equal(0xFF, flac[42]);
        Assert.Equal(0xF8, flac[43]);
        int headerLength = 4 + 1 + 2;                                  // fixed part, frame number 0, 16-bit block size
        Assert.Equal(Math.Min(length, FlacEncoder.BlockSize) - 1, BinaryPrimitives.ReadUInt16BigEndian(flac.AsSpan(42 + 5)));
        Assert.Equal(flac[42 + headerLength], FlacEncoder.Crc8(flac.AsSpan(42, headerLength)));
        Assert.True(flac.Length < 42 + pcm.Length + 64, "a sine should not code larger than PCM");
    }

    [Theory]
    [InlineData(false, true)]
    [InlineData(false, false)]
    [InlineData(true, false)]
    public void Flac_decodes_losslessly_with_the_reference_tool_when_installed(bool streaming, bool seekable)
    {
        string? flacTool = FindTool("flac");
        if (flacTool is null) return;   // .ci/run installs flac; elsewhere the structural checks above stand
        var random = new Random(3);
        float[] samples = [.. Sine(3 * FlacEncoder.BlockSize + 777, hz: 220), .. Enumerable.Range(0, 5000).Select(_ => (float)(random.NextDouble() * 2.2 - 1.1)), .. new float[3000]];
        byte[] flac = Encode(AudioFormat.Flac, samples, streaming, seekable ? null : new NonSeekable(new MemoryStream()), pieces: 4);
        byte[] pcm = Encode(AudioFormat.Pcm, samples, streaming: true);
        string dir = Fixtures.TempDir();
        try
        {
            string file = Path.Combine(dir, "a.flac"), raw = Path.Combine(dir, "a.raw");
            File.WriteAllBytes(file, flac);
            (int code, string output) = Run(flacTool, "-t", file);
            Assert.True(code == 0, output);
            (code, output) = Run(flacTool, "-d", "--force-raw-format", "--endian=little", "--sign=signed", "-o", raw, file);
            Assert.True(code == 0, output);
            Assert.Equal(pcm, File.ReadAllBytes(raw));
            Assert.True(flac.Length < pcm.Length, $"FLAC {flac.Length} bytes, PCM {pcm.Length}");
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    private static string? FindTool(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);

    private static (int Code, string Output) Run(string tool, params string[] args)
    {
        var psi = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args) psi.ArgumentList.Add(a);
        using Process p = Process.Start(psi)!;
        Task<string> stdout = p.StandardOutput.ReadToEndAsync(), stderr = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(30_000), $"{tool} did not finish");
        return (p.ExitCode, stdout.Result + stderr.Result);
    }
}
