using System.Buffers.Binary;
using System.Security.Cryptography;

namespace BarkSharp.Audio;

/// <summary>
/// FLAC (lossless, 16-bit mono) in managed code: blocks of 4096 samples, each a FIXED-predictor subframe (order 0–4,
/// whichever codes smallest, or VERBATIM) with one Rice partition, frame CRC-8 and CRC-16; a STREAMINFO block with the
/// MD5 of the audio and the sample count. Samples are clipped and rounded to 16 bits as in <see cref="PcmEncoder"/>.
/// </summary>
/// <remarks>
/// The STREAMINFO block comes first, so its total and MD5 are patched at <see cref="AudioEncoder.Complete"/> on a seekable
/// stream, written then on a stream that cannot seek (the encoded frames are held until then), and left 0 ("unknown",
/// which decoders accept) when streaming.
/// </remarks>
internal sealed class FlacEncoder : AudioEncoder
{
    /// <summary>Samples per frame (the last frame may be shorter).</summary>
    public const int BlockSize = 4096;

    private readonly bool _streaming;
    private readonly long _streamInfoAt = -1;
    private readonly MemoryStream? _held;
    private readonly short[] _block = new short[BlockSize];
    private int _fill;
    private long _frames;
    private readonly IncrementalHash _md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
    private readonly BitWriter _bits = new();
    private readonly int[] _residual = new int[BlockSize];

    /// <summary>Creates an encoder writing to <paramref name="output"/> (not owned).</summary>
    /// <param name="output">Destination stream.</param>
    /// <param name="sampleRate">Samples per second (1 to 655350).</param>
    /// <param name="streaming">Write each frame at once and never seek (STREAMINFO keeps total and MD5 unknown).</param>
    public FlacEncoder(Stream output, int sampleRate, bool streaming = false) : base(AudioFormat.Flac, output, sampleRate)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(sampleRate, 655_350);
        _streaming = streaming;
        if (!streaming && output.CanSeek) _streamInfoAt = output.Position;
        else if (!streaming) _held = new MemoryStream();
        if (_held is null) WriteHeader(Output, 0, null);
    }

    /// <inheritdoc />
    public override string ContentType => "audio/flac";

    /// <inheritdoc />
    private protected override void WriteCore(ReadOnlySpan<float> samples)
    {
        Span<byte> le = stackalloc byte[2];
        foreach (float v in samples)
        {
            float clipped = float.IsNaN(v) ? 0f : Math.Clamp(v, -1f, 1f);
            short s = (short)MathF.Round(clipped * 32767f);
            BinaryPrimitives.WriteInt16LittleEndian(le, s);
            _md5.AppendData(le);
            _block[_fill++] = s;
            if (_fill == BlockSize) WriteFrame();
        }
    }

    /// <inheritdoc />
    private protected override void CompleteCore()
    {
        if (_fill > 0) WriteFrame();
        byte[] md5 = _md5.GetHashAndReset();
        if (_held is not null)
        {
            WriteHeader(Output, SamplesWritten, md5);
            _held.Position = 0;
            _held.CopyTo(Output);
        }
        else if (_streamInfoAt >= 0)
        {
            long end = Output.Position;
            Output.Position = _streamInfoAt;
            WriteHeader(Output, SamplesWritten, md5);
            Output.Position = end;
        }
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _md5.Dispose();
            _held?.Dispose();
        }
        base.Dispose(disposing);
    }

    /// <summary>"fLaC" and the STREAMINFO block (the only metadata block).</summary>
    private void WriteHeader(Stream to, long totalSamples, byte[]? md5)
    {
        Span<byte> h = stackalloc byte[4 + 4 + 34];
        "fLaC"u8.CopyTo(h);
        h[4] = 0x80;                                                   // last metadata block, type 0 (STREAMINFO)
        h[5] = 0;
        h[6] = 0;
        h[7] = 34;
        Span<byte> info = h[8..];
        BinaryPrimitives.WriteUInt16BigEndian(info, BlockSize);       // min block size
        BinaryPrimitives.WriteUInt16BigEndian(info[2..], BlockSize);  // max block size
        // min/max frame size: 0 (unknown)
        ulong packed = ((ulong)SampleRate << 44) | (0UL << 41) | (15UL << 36) | ((ulong)totalSamples & 0xF_FFFF_FFFF);   // rate, channels−1, bits−1, total
        BinaryPrimitives.WriteUInt64BigEndian(info[10..], packed);
        md5?.CopyTo(info[18..]);
        to.Write(h);
    }

    private void WriteFrame()
    {
        int n = _fill;
        _fill = 0;
        BitWriter b = _bits;
        b.Clear();
        b.Write(0xFFF8, 16);                                           // sync, reserved, fixed block size
        b.Write(0b0111, 4);                                            // block size: 16 bits at the end of the header
        b.Write(SampleRate == 24_000 ? 0b0111u : 0u, 4);               // sample rate: 24 kHz, or from STREAMINFO
        b.Write(0, 4);                                                 // mono
        b.Write(0b100, 3);                                             // 16 bits per sample
        b.Write(0, 1);
        WriteUtf8Number(b, _frames++);
        b.Write((uint)(n - 1), 16);
        b.Write(Crc8(b.Bytes), 8);

        ReadOnlySpan<short> x = _block.AsSpan(0, n);
        int bestOrder = -1, bestParameter = 0;
        long bestBits = 16L * n;                                       // VERBATIM
        for (int order = 0; order <= Math.Min(4, n - 1); order++)
        {
            Residual(x, order, _residual);
            (int parameter, long bits) = RiceParameter(_residual.AsSpan(0, n - order));
            bits += 16L * order + 2 + 4 + 4;
            if (bits < bestBits)
            {
                bestBits = bits;
                bestOrder = order;
                bestParameter = parameter;
            }
        }
        b.Write(0, 1);
        if (bestOrder < 0)
        {
            b.Write(0b000001, 6);                                      // VERBATIM
            b.Write(0, 1);
            foreach (short s in x) b.Write((uint)(ushort)s, 16);
        }
        else
        {
            b.Write((uint)(0b001000 | bestOrder), 6);                  // FIXED, order
            b.Write(0, 1);
            for (int i = 0; i < bestOrder; i++) b.Write((uint)(ushort)x[i], 16);
            Residual(x, bestOrder, _residual);
            b.Write(0b00, 2);                                          // Rice, 4-bit parameters
            b.Write(0, 4);                                             // partition order 0
            b.Write((uint)bestParameter, 4);
            foreach (int r in _residual.AsSpan(0, n - bestOrder))
            {
                uint u = (uint)((r << 1) ^ (r >> 31));
                b.WriteUnary(u >> bestParameter);
                if (bestParameter > 0) b.Write(u & ((1u << bestParameter) - 1), bestParameter);
            }
        }
        b.AlignToByte();
        b.Write(Crc16(b.Bytes), 16);
        (_held ?? Output).Write(b.Bytes);
    }

    /// <summary>Residuals of FLAC's fixed predictor of <paramref name="order"/> for samples order..n−1.</summary>
    private static void Residual(ReadOnlySpan<short> x, int order, Span<int> residual)
    {
        for (int i = order; i < x.Length; i++)
        {
            int r = order switch
            {
                0 => x[i],
                1 => x[i] - x[i - 1],
                2 => x[i] - 2 * x[i - 1] + x[i - 2],
                3 => x[i] - 3 * x[i - 1] + 3 * x[i - 2] - x[i - 3],
                _ => x[i] - 4 * x[i - 1] + 6 * x[i - 2] - 4 * x[i - 3] + x[i - 4],
            };
            residual[i - order] = r;
        }
    }

    /// <summary>The Rice parameter (0–14) that codes <paramref name="residual"/> in the fewest bits, and those bits.</summary>
    private static (int Parameter, long Bits) RiceParameter(ReadOnlySpan<int> residual)
    {
        int best = 0;
        long bestBits = long.MaxValue;
        for (int p = 0; p <= 14; p++)
        {
            long bits = 0;
            foreach (int r in residual) bits += ((uint)((r << 1) ^ (r >> 31)) >> p) + 1 + p;
            if (bits < bestBits)
            {
                bestBits = bits;
                best = p;
            }
        }
        return (best, bestBits);
    }

    /// <summary>The frame number in FLAC's extended UTF-8 coding (up to 36 bits).</summary>
    private static void WriteUtf8Number(BitWriter b, long value)
    {
        if (value < 0x80)
        {
            b.Write((uint)value, 8);
            return;
        }
        int bytes = value < 0x800 ? 2 : value < 0x1_0000 ? 3 : value < 0x20_0000 ? 4 : value < 0x400_0000 ? 5 : value < 0x8000_0000 ? 6 : 7;
        uint lead = (uint)(0xFF00 >> bytes) & 0xFF;
        int shift = 6 * (bytes - 1);
        b.Write(lead | (uint)(value >> shift), 8);
        for (shift -= 6; shift >= 0; shift -= 6) b.Write(0x80u | (uint)((value >> shift) & 0x3F), 8);
    }

    /// <summary>CRC-8 of frame headers: polynomial 0x07, initial 0.</summary>
    public static byte Crc8(ReadOnlySpan<byte> data)
    {
        int crc = 0;
        foreach (byte d in data)
        {
            crc ^= d;
            for (int i = 0; i < 8; i++) crc = (crc & 0x80) != 0 ? ((crc << 1) ^ 0x07) & 0xFF : (crc << 1) & 0xFF;
        }
        return (byte)crc;
    }

    /// <summary>CRC-16 of whole frames: polynomial 0x8005, initial 0.</summary>
    public static ushort Crc16(ReadOnlySpan<byte> data)
    {
        int crc = 0;
        foreach (byte d in data)
        {
            crc ^= d << 8;
            for (int i = 0; i < 8; i++) crc = (crc & 0x8000) != 0 ? ((crc << 1) ^ 0x8005) & 0xFFFF : (crc << 1) & 0xFFFF;
        }
        return (ushort)crc;
    }

    /// <summary>Most-significant-bit-first bit packing into a growing byte buffer.</summary>
    private sealed class BitWriter
    {
        private byte[] _buffer = new byte[16 * 1024];
        private int _bytes;
        private ulong _accumulator;
        private int _bitsInAccumulator;

        /// <summary>The bytes written so far; valid after <see cref="AlignToByte"/> (or when whole bytes were written).</summary>
        public ReadOnlySpan<byte> Bytes => _buffer.AsSpan(0, _bytes);

        public void Clear()
        {
            _bytes = 0;
            _accumulator = 0;
            _bitsInAccumulator = 0;
        }

        public void Write(uint value, int count)
        {
            if (count == 0) return;
            _accumulator = (_accumulator << count) | (value & (uint)((1UL << count) - 1));
            _bitsInAccumulator += count;
            while (_bitsInAccumulator >= 8)
            {
                _bitsInAccumulator -= 8;
                Put((byte)(_accumulator >> _bitsInAccumulator));
            }
        }

        /// <summary><paramref name="zeros"/> zero bits, then a one.</summary>
        public void WriteUnary(uint zeros)
        {
            for (; zeros >= 16; zeros -= 16) Write(0, 16);
            Write(1, (int)zeros + 1);
        }

        public void AlignToByte()
        {
            if (_bitsInAccumulator > 0) Write(0, 8 - _bitsInAccumulator);
        }

        private void Put(byte value)
        {
            if (_bytes == _buffer.Length) Array.Resize(ref _buffer, _buffer.Length * 2);
            _buffer[_bytes++] = value;
        }
    }
}
