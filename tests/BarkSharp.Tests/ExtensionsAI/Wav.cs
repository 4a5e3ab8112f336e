using System.Buffers.Binary;
using System.Text;

namespace BarkSharp.Tests.ExtensionsAI;

/// <summary>Reads back what the WAV encoder wrote: the fmt chunk's fields and the data chunk's samples.</summary>
internal sealed record Wav(int FormatTag, int Channels, int SampleRate, int BitsPerSample, uint DeclaredDataSize, float[] Samples)
{
    public static Wav Parse(ReadOnlySpan<byte> bytes)
    {
        Assert.Equal("RIFF", Encoding.ASCII.GetString(bytes[..4]));
        Assert.Equal("WAVE", Encoding.ASCII.GetString(bytes[8..12]));
        int at = 12, format = 0, channels = 0, rate = 0, bits = 0;
        while (at + 8 <= bytes.Length)
        {
            string id = Encoding.ASCII.GetString(bytes.Slice(at, 4));
            uint size = BinaryPrimitives.ReadUInt32LittleEndian(bytes[(at + 4)..]);
            ReadOnlySpan<byte> body = bytes[(at + 8)..];
            if (id == "fmt ")
            {
                format = BinaryPrimitives.ReadUInt16LittleEndian(body);
                channels = BinaryPrimitives.ReadUInt16LittleEndian(body[2..]);
                rate = BinaryPrimitives.ReadInt32LittleEndian(body[4..]);
                bits = BinaryPrimitives.ReadUInt16LittleEndian(body[14..]);
            }
            else if (id == "data")
            {
                // A streamed header declares 0xFFFFFFFF: the data runs to the end.
                int length = size == uint.MaxValue ? body.Length : checked((int)size);
                Assert.True(length <= body.Length, $"data chunk declares {length} bytes, {body.Length} present");
                return new Wav(format, channels, rate, bits, size, Decode(body[..length], format, bits));
            }
            at += 8 + checked((int)size) + (int)(size & 1);
        }
        throw new Xunit.Sdk.XunitException("no data chunk");
    }

    /// <summary>16-bit PCM as integers (exact), float32 as is.</summary>
    public static float[] Decode(ReadOnlySpan<byte> data, int format, int bits)
    {
        if (format == 3 && bits == 32)
        {
            var f = new float[data.Length / 4];
            for (int i = 0; i < f.Length; i++) f[i] = BinaryPrimitives.ReadSingleLittleEndian(data[(i * 4)..]);
            return f;
        }
        Assert.Equal((1, 16), (format, bits));
        var s = new float[data.Length / 2];
        for (int i = 0; i < s.Length; i++) s[i] = BinaryPrimitives.ReadInt16LittleEndian(data[(i * 2)..]);
        return s;
    }

    /// <summary>What the 16-bit encoders make of <paramref name="samples"/>, as integers.</summary>
    public static float[] Pcm16Of(float[] samples)
    {
        var bytes = new byte[samples.Length * 2];
        BarkSharp.Audio.AudioEncoder.ToPcm16(samples, bytes);
        return Decode(bytes, 1, 16);
    }
}
