using System.Buffers.Binary;
using BarkSharp.IO;
using Xunit.Abstractions;

namespace BarkSharp.Tests.Cloning;

public class WavReaderTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("speech_24k_mono", 24000)]
    [InlineData("speech_44k1_stereo", 44100)]
    public void Decodes_the_fixture_wavs_as_torchaudio_does(string stem, int rate)
    {
        WavAudio audio = WavReader.Read(CloningFixtures.Wav(stem));
        CloningCase c = CloningFixtures.Case("wav/" + stem);
        Assert.Equal(rate, audio.SampleRate);
        long[] shape = c.Output("waveform").Shape;
        Assert.Equal(shape[0], audio.Channels.Length);
        Assert.Equal(shape[1], audio.Frames);
        float[] flat = audio.Channels.SelectMany(x => x).ToArray();
        Assert.Equal(c.Output("waveform").ToFloat32(), flat);                    // int16/32768 is exact
        c.AssertClose("waveform", flat, output);
    }

    [Theory]
    [InlineData(8, 1)]
    [InlineData(16, 2)]
    [InlineData(24, 1)]
    [InlineData(32, 2)]
    public void Reads_integer_pcm_of_every_width(int bits, int channels)
    {
        float[] values = [0f, 0.5f, -0.5f, -1f, 0.25f, 0.75f];
        byte[] data = new byte[values.Length * bits / 8];
        for (int i = 0; i < values.Length; i++)
        {
            long q = (long)(values[i] * (1L << (bits - 1)));
            Span<byte> s = data.AsSpan(i * bits / 8, bits / 8);
            if (bits == 8) s[0] = (byte)(q + 128);
            else for (int b = 0; b < bits / 8; b++) s[b] = (byte)(q >> (8 * b));
        }
        WavAudio audio = WavReader.Read(Build(1, channels, 22050, bits, data), "test.wav");
        Assert.Equal(22050, audio.SampleRate);
        Assert.Equal(channels, audio.Channels.Length);
        float[] interleaved = Enumerable.Range(0, values.Length).Select(i => audio.Channels[i % channels][i / channels]).ToArray();
        Assert.Equal(values, interleaved);
    }

    [Fact]
    public void Reads_float32_also_inside_the_extensible_format()
    {
        float[] values = [0.1f, -0.7f, 1.5f];
        byte[] data = new byte[12];
        for (int i = 0; i < 3; i++) BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(4 * i), values[i]);
        Assert.Equal(values, WavReader.Read(Build(3, 1, 16000, 32, data), "f.wav").Channels[0]);
        Assert.Equal(values, WavReader.Read(Build(3, 1, 16000, 32, data, extensible: true), "f.wav").Channels[0]);
    }

    [Fact]
    public void Refuses_what_it_cannot_read_with_sentences()
    {
        byte[] pcm = new byte[8];
        Assert.Contains("empty", Message([]));
        Assert.Contains("not a WAV file", Message("hello world, no riff here"u8.ToArray()));
        Assert.Contains("compressed", Message(Build(0x55, 1, 16000, 16, pcm)));
        Assert.Contains("compressed", Message(Build(0x55, 1, 16000, 16, pcm, extensible: true)));
        Assert.Contains("3 channels", Message(Build(1, 3, 16000, 16, new byte[12])));
        Assert.Contains("no samples", Message(Build(1, 1, 16000, 16, [])));
        byte[] truncated = Build(1, 1, 16000, 16, pcm);
        Assert.Contains("truncated", Message(truncated[..^3]));
        Assert.Contains("no data chunk", Message(truncated[..48]));
        var ex = Assert.Throws<BarkFormatException>(() => WavReader.Read(Build(1, 1, 4, 16, pcm), "long.wav", TimeSpan.FromSeconds(0.5)));
        Assert.Contains("longer than the 0.5 s allowed", ex.Message);
        Assert.DoesNotContain("Exception", ex.Message);

        static string Message(byte[] file) => Assert.Throws<BarkFormatException>(() => WavReader.Read(file, "bad.wav")).Message;
    }

    /// <summary>A minimal WAV: RIFF header, an optional LIST chunk to skip, fmt, data.</summary>
    internal static byte[] Build(ushort format, int channels, int rate, int bits, byte[] data, bool extensible = false)
    {
        using var ms = new MemoryStream();
        using var w = new BinaryWriter(ms);
        w.Write("RIFF"u8);
        w.Write(0);
        w.Write("WAVE"u8);
        w.Write("LIST"u8);
        w.Write(3);
        w.Write("abc\0"u8);                                           // odd size, padded
        w.Write("fmt "u8);
        w.Write(extensible ? 40 : 16);
        w.Write(extensible ? (ushort)0xFFFE : format);
        w.Write((ushort)channels);
        w.Write(rate);
        w.Write(rate * channels * bits / 8);
        w.Write((ushort)(channels * bits / 8));
        w.Write((ushort)bits);
        if (extensible)
        {
            w.Write((ushort)22);
            w.Write((ushort)bits);
            w.Write(channels == 1 ? 4 : 3);
            w.Write(format);
            w.Write(new byte[14]);
        }
        w.Write("data"u8);
        w.Write(data.Length);
        w.Write(data);
        w.Flush();
        byte[] file = ms.ToArray();
        BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(4), file.Length - 8);
        return file;
    }
}
