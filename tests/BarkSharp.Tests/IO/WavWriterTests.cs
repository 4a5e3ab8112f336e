using System.Buffers.Binary;
using System.Text;
using BarkSharp.IO;
using BarkSharp.Tests.Infrastructure;

namespace BarkSharp.Tests.IO;

public class WavWriterTests
{
    [Fact]
    public void Pcm16_header_and_samples()
    {
        var ms = new MemoryStream();
        WavWriter.Write(ms, [0f, 0.5f, -1f, 2f, float.NaN], 24_000, WavFormat.Pcm16);
        byte[] b = ms.ToArray();
        Assert.Equal("RIFF", Encoding.ASCII.GetString(b, 0, 4));
        Assert.Equal(b.Length - 8, BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(4)));
        Assert.Equal("WAVEfmt ", Encoding.ASCII.GetString(b, 8, 8));
        Assert.Equal(1, BinaryPrimitives.ReadInt16LittleEndian(b.AsSpan(20)));
        Assert.Equal(24_000, BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(24)));
        Assert.Equal(16, BinaryPrimitives.ReadInt16LittleEndian(b.AsSpan(34)));
        Assert.Equal("data", Encoding.ASCII.GetString(b, 36, 4));
        Assert.Equal(10, BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(40)));
        short[] s = Enumerable.Range(0, 5).Select(i => BinaryPrimitives.ReadInt16LittleEndian(b.AsSpan(44 + 2 * i))).ToArray();
        Assert.Equal([0, 16384, -32767, 32767, 0], s);
    }

    [Fact]
    public void Float32_has_ieee_format_and_fact_chunk()
    {
        var ms = new MemoryStream();
        WavWriter.Write(ms, [0.25f, -3f], 24_000, WavFormat.Float32);
        byte[] b = ms.ToArray();
        Assert.Equal(3, BinaryPrimitives.ReadInt16LittleEndian(b.AsSpan(20)));
        Assert.Equal(32, BinaryPrimitives.ReadInt16LittleEndian(b.AsSpan(34)));
        Assert.Equal("fact", Encoding.ASCII.GetString(b, 38, 4));
        Assert.Equal(2, BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(46)));
        Assert.Equal("data", Encoding.ASCII.GetString(b, 50, 4));
        Assert.Equal(0.25f, BinaryPrimitives.ReadSingleLittleEndian(b.AsSpan(58)));
        Assert.Equal(-3f, BinaryPrimitives.ReadSingleLittleEndian(b.AsSpan(62)));
        Assert.Equal(b.Length - 8, BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(4)));
    }

    [Fact]
    public void Writing_to_a_missing_folder_fails_clearly_and_leaves_nothing()
    {
        string dir = Fixtures.TempDir();
        try
        {
            var e = Assert.Throws<BarkOutputException>(() => WavWriter.Write(Path.Combine(dir, "no", "such", "out.wav"), [0f], 24_000));
            Assert.Contains("out.wav", e.Message);
            string ok = Path.Combine(dir, "ok.wav");
            WavWriter.Write(ok, new float[100], 24_000);
            Assert.Equal(44 + 200, new FileInfo(ok).Length);
            Assert.Single(Directory.GetFiles(dir));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
