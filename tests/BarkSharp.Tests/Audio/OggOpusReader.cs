using System.Buffers.Binary;
using System.Text;
using Concentus.Structs;

namespace BarkSharp.Tests.Audio;

/// <summary>One parsed Ogg page.</summary>
public sealed record OggPage(byte HeaderType, long Granule, uint Serial, uint Sequence, uint Crc, bool CrcValid, List<byte[]> Packets, bool LastPacketContinues);

/// <summary>
/// An Ogg Opus reader for tests, written from RFC 3533 / RFC 7845 independently of the encoder: pages with a bitwise
/// CRC-32, packets joined across lacing, and decoding with Concentus' decoder with pre-skip and end trimming applied.
/// </summary>
public static class OggOpusReader
{
    /// <summary>Bit-by-bit CRC-32 with polynomial 0x04C11DB7, no reflection, zero init, no final XOR (no table).</summary>
    public static uint BitwiseCrc(ReadOnlySpan<byte> data)
    {
        uint crc = 0;
        foreach (byte b in data)
        {
            crc ^= (uint)b << 24;
            for (int i = 0; i < 8; i++) crc = (crc & 0x80000000u) != 0 ? (crc << 1) ^ 0x04C11DB7u : crc << 1;
        }
        return crc;
    }

    /// <summary>Splits a whole stream into pages; throws on anything malformed.</summary>
    public static List<OggPage> Pages(byte[] data)
    {
        var pages = new List<OggPage>();
        int at = 0;
        var partial = new List<byte>();
        while (at < data.Length)
        {
            Assert.True(data.Length - at >= 27, "truncated page header");
            Assert.Equal("OggS", Encoding.ASCII.GetString(data, at, 4));
            Assert.Equal(0, data[at + 4]);
            byte type = data[at + 5];
            long granule = BinaryPrimitives.ReadInt64LittleEndian(data.AsSpan(at + 6));
            uint serial = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(at + 14));
            uint sequence = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(at + 18));
            uint crc = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(at + 22));
            int segments = data[at + 26];
            int bodyLength = 0;
            for (int i = 0; i < segments; i++) bodyLength += data[at + 27 + i];
            int pageLength = 27 + segments + bodyLength;
            Assert.True(at + pageLength <= data.Length, "truncated page body");
            byte[] copy = data.AsSpan(at, pageLength).ToArray();
            copy.AsSpan(22, 4).Clear();
            bool crcValid = BitwiseCrc(copy) == crc;

            var packets = new List<byte[]>();
            int body = at + 27 + segments;
            bool continues = false;
            for (int i = 0; i < segments; i++)
            {
                int lace = data[at + 27 + i];
                partial.AddRange(data.AsSpan(body, lace).ToArray());
                body += lace;
                if (lace < 255)
                {
                    packets.Add([.. partial]);
                    partial.Clear();
                    continues = false;
                }
                else
                {
                    continues = true;
                }
            }
            pages.Add(new OggPage(type, granule, serial, sequence, crc, crcValid, packets, continues));
            at += pageLength;
        }
        return pages;
    }

    /// <summary>Decodes an Ogg Opus stream at <paramref name="outputRate"/>, dropping pre-skip and trimming to the last granule.</summary>
    public static (float[] Samples, int PreSkip, int InputRate) Decode(byte[] data, int outputRate = 48_000)
    {
        List<OggPage> pages = Pages(data);
        byte[] head = pages[0].Packets[0];
        Assert.Equal("OpusHead", Encoding.ASCII.GetString(head, 0, 8));
        int preSkip = BinaryPrimitives.ReadUInt16LittleEndian(head.AsSpan(10));
        int inputRate = BinaryPrimitives.ReadInt32LittleEndian(head.AsSpan(12));
        Assert.Equal("OpusTags", Encoding.ASCII.GetString(pages[1].Packets[0], 0, 8));
#pragma warning disable CS0618
        var decoder = new OpusDecoder(outputRate, 1);
#pragma warning restore CS0618
        var all = new List<float>();
        var frame = new float[outputRate / 50 * 6];
        foreach (OggPage page in pages.Skip(2))
            foreach (byte[] packet in page.Packets)
            {
                int n = decoder.Decode(packet, frame, frame.Length, false);
                Assert.True(n > 0, "packet failed to decode");
                all.AddRange(frame.AsSpan(0, n).ToArray());
            }
        int scale = 48_000 / outputRate;
        long end = pages[^1].Granule / scale;
        int skip = preSkip / scale;
        Assert.True(end <= all.Count, $"last granule {pages[^1].Granule} beyond the decoded {all.Count * scale} samples");
        return (all.Skip(skip).Take((int)(end - skip)).ToArray(), preSkip, inputRate);
    }
}
