namespace BarkSharp.Audio;

/// <summary>
/// The CRC-32 of Ogg pages (RFC 3533): polynomial 0x04C11DB7, most significant bit first, initial value 0, no final
/// XOR, computed over the whole page with its checksum field set to zero.
/// </summary>
internal static class OggCrc
{
    private static readonly uint[] Table = BuildTable();

    /// <summary>The checksum of <paramref name="data"/>, continuing from <paramref name="crc"/> (0 to start).</summary>
    public static uint Compute(ReadOnlySpan<byte> data, uint crc = 0)
    {
        foreach (byte b in data) crc = (crc << 8) ^ Table[(byte)((crc >> 24) ^ b)];
        return crc;
    }

    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            uint r = i << 24;
            for (int bit = 0; bit < 8; bit++) r = (r & 0x8000_0000) != 0 ? (r << 1) ^ 0x04C1_1DB7 : r << 1;
            table[i] = r;
        }
        return table;
    }
}
