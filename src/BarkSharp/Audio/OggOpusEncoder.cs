using System.Buffers.Binary;
using System.Text;
using Concentus.Enums;
using Concentus.Structs;

namespace BarkSharp.Audio;

/// <summary>
/// Ogg Opus (RFC 7845) in managed code: 20 ms mono Opus packets from Concentus' encoder at the input rate (Opus takes
/// 24 kHz natively, so Bark's audio is not resampled), framed into Ogg pages written here.
/// </summary>
/// <remarks>
/// <para>Stream layout: an <c>OpusHead</c> page (beginning of stream; pre-skip = the encoder's lookahead in 48 kHz
/// samples, input rate = <see cref="AudioEncoder.SampleRate"/>), an <c>OpusTags</c> page, then audio pages. A page's
/// granule position counts the 48 kHz samples decodable up to its last packet, pre-skip included. Audio pages are cut
/// every second of packets, at <see cref="AudioEncoder.Flush"/> and when a page's 255 lacing values would overflow.
/// <see cref="AudioEncoder.Complete"/> pads with silence until the encoder's lookahead is out, and the last page
/// (end-of-stream flag) carries the granule position pre-skip + input length, so decoders trim the padding and return
/// exactly the samples written.</para>
/// <para>Pages carry the Ogg CRC-32 (<see cref="OggCrc"/>); the stream serial number is random unless given.</para>
/// </remarks>
internal sealed class OggOpusEncoder : AudioEncoder
{
    /// <summary>Default bit rate, bits per second: transparent enough for 24 kHz speech.</summary>
    public const int DefaultBitrate = 48_000;

    private const int PacketsPerPage = 50;          // one second of 20 ms packets
    private const int MaxPacketBytes = 1275 * 3;     // the most one Opus frame can take, with room

    private readonly OpusEncoder _encoder;
    private readonly int _frameSize;                 // input samples per 20 ms
    private readonly int _granuleScale;              // 48 kHz samples per input sample
    private readonly float[] _frame;
    private int _frameFill;
    private readonly byte[] _packet = new byte[MaxPacketBytes];
    private readonly MemoryStream _pagePackets = new();
    private readonly List<int> _packetSizes = [];
    private readonly uint _serial;
    private uint _sequence;
    private long _framesEncoded;

    /// <summary>Creates an encoder writing to <paramref name="output"/> (not owned); the two header pages are written at once.</summary>
    /// <param name="output">Destination stream.</param>
    /// <param name="sampleRate">Input rate: 8000, 12000, 16000, 24000 or 48000.</param>
    /// <param name="bitrate">Target bits per second (6000 to 510000).</param>
    /// <param name="complexity">Encoder effort 0..10 (higher: better quality per bit, slower).</param>
    /// <param name="serialNumber">The Ogg stream serial number; random when null.</param>
    /// <exception cref="ArgumentException">A sample rate Opus does not take.</exception>
    public OggOpusEncoder(Stream output, int sampleRate, int bitrate = DefaultBitrate, int complexity = 5, uint? serialNumber = null)
        : base(AudioFormat.Opus, output, sampleRate)
    {
        if (sampleRate is not (8000 or 12000 or 16000 or 24000 or 48000))
            throw new ArgumentException($"Opus takes 8000, 12000, 16000, 24000 or 48000 Hz input, not {sampleRate} Hz.", nameof(sampleRate));
        ArgumentOutOfRangeException.ThrowIfLessThan(bitrate, 6000);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(bitrate, 510_000);
        ArgumentOutOfRangeException.ThrowIfNegative(complexity);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(complexity, 10);
#pragma warning disable CS0618 // the managed encoder on purpose: the factory may pick a native libopus, and output would depend on the machine
        _encoder = new OpusEncoder(sampleRate, 1, OpusApplication.OPUS_APPLICATION_AUDIO);
#pragma warning restore CS0618
        _encoder.Bitrate = bitrate;
        _encoder.Complexity = complexity;
        _encoder.SignalType = OpusSignal.OPUS_SIGNAL_VOICE;
        _frameSize = sampleRate / 50;
        _granuleScale = 48_000 / sampleRate;
        _frame = new float[_frameSize];
        _serial = serialNumber ?? (uint)Random.Shared.Next();
        Lookahead = _encoder.Lookahead;
        PreSkip = Lookahead * _granuleScale;
        WriteHeaders();
    }

    /// <inheritdoc />
    public override string ContentType => "audio/ogg";

    /// <summary>The encoder's delay in input samples; decoders drop it through <see cref="PreSkip"/>.</summary>
    public int Lookahead { get; }

    /// <summary>The OpusHead pre-skip: 48 kHz samples a decoder discards at the start.</summary>
    public int PreSkip { get; }

    /// <summary>Ogg pages written so far, headers included.</summary>
    public uint PagesWritten => _sequence;

    /// <inheritdoc />
    private protected override void WriteCore(ReadOnlySpan<float> samples)
    {
        while (!samples.IsEmpty)
        {
            int n = Math.Min(_frameSize - _frameFill, samples.Length);
            for (int i = 0; i < n; i++)
            {
                float v = samples[i];
                _frame[_frameFill + i] = float.IsNaN(v) ? 0f : Math.Clamp(v, -1f, 1f);
            }
            _frameFill += n;
            samples = samples[n..];
            if (_frameFill == _frameSize) EncodeFrame();
        }
    }

    /// <inheritdoc />
    private protected override void FlushCore()
    {
        if (_packetSizes.Count > 0) WritePage(0, _framesEncoded * _frameSize * _granuleScale);
    }

    /// <inheritdoc />
    private protected override void CompleteCore()
    {
        // Pad with silence until every written sample has left the encoder's lookahead, then end the stream with a
        // granule position that trims the padding.
        long needed = SamplesWritten + Lookahead;
        do
        {
            Array.Clear(_frame, _frameFill, _frameSize - _frameFill);
            _frameFill = _frameSize;
            EncodeFrame(allowPageCut: false);
        }
        while (_framesEncoded * _frameSize < needed);
        WritePage(0x04, PreSkip + SamplesWritten * _granuleScale);
    }

    private void EncodeFrame(bool allowPageCut = true)
    {
        int length = _encoder.Encode(_frame, _frameSize, _packet, _packet.Length);
        if (length <= 0) throw new InvalidOperationException($"the Opus encoder failed (code {length}).");
        _frameFill = 0;
        int lacing = length / 255 + 1;
        if (_packetSizes.Count > 0 && LacingCount() + lacing > 255) WritePage(0, _framesEncoded * _frameSize * _granuleScale);
        _pagePackets.Write(_packet, 0, length);
        _packetSizes.Add(length);
        _framesEncoded++;
        if (allowPageCut && _packetSizes.Count >= PacketsPerPage) WritePage(0, _framesEncoded * _frameSize * _granuleScale);
    }

    private int LacingCount() => _packetSizes.Sum(s => s / 255 + 1);

    private void WriteHeaders()
    {
        Span<byte> head = stackalloc byte[19];
        "OpusHead"u8.CopyTo(head);
        head[8] = 1;                                                    // version
        head[9] = 1;                                                    // channels
        BinaryPrimitives.WriteUInt16LittleEndian(head[10..], (ushort)PreSkip);
        BinaryPrimitives.WriteUInt32LittleEndian(head[12..], (uint)SampleRate);
        BinaryPrimitives.WriteInt16LittleEndian(head[16..], 0);        // output gain
        head[18] = 0;                                                   // channel mapping family: mono/stereo
        AddPacket(head);
        WritePage(0x02, 0);

        byte[] vendor = Encoding.UTF8.GetBytes("BarkSharp (Concentus " + typeof(OpusEncoder).Assembly.GetName().Version + ")");
        var tags = new byte[8 + 4 + vendor.Length + 4];
        "OpusTags"u8.CopyTo(tags);
        BinaryPrimitives.WriteInt32LittleEndian(tags.AsSpan(8), vendor.Length);
        vendor.CopyTo(tags, 12);
        BinaryPrimitives.WriteInt32LittleEndian(tags.AsSpan(12 + vendor.Length), 0);   // no user comments
        AddPacket(tags);
        WritePage(0, 0);
    }

    private void AddPacket(ReadOnlySpan<byte> packet)
    {
        _pagePackets.Write(packet);
        _packetSizes.Add(packet.Length);
    }

    /// <summary>Writes the buffered packets as one page (RFC 3533 header, lacing, CRC) and clears them.</summary>
    private void WritePage(byte headerType, long granule)
    {
        int segments = LacingCount();
        if (segments > 255) throw new InvalidOperationException("an Ogg page holds at most 255 lacing values.");
        int headerLength = 27 + segments;
        int bodyLength = (int)_pagePackets.Length;
        var page = new byte[headerLength + bodyLength];
        Span<byte> p = page;
        "OggS"u8.CopyTo(p);
        p[4] = 0;                                                       // version
        p[5] = headerType;                                              // 0x02 first page, 0x04 last page
        BinaryPrimitives.WriteInt64LittleEndian(p[6..], granule);
        BinaryPrimitives.WriteUInt32LittleEndian(p[14..], _serial);
        BinaryPrimitives.WriteUInt32LittleEndian(p[18..], _sequence++);
        p[26] = (byte)segments;
        int at = 27;
        foreach (int size in _packetSizes)
        {
            for (int left = size; left >= 255; left -= 255) p[at++] = 255;
            p[at++] = (byte)(size % 255);
        }
        _pagePackets.GetBuffer().AsSpan(0, bodyLength).CopyTo(p[headerLength..]);
        BinaryPrimitives.WriteUInt32LittleEndian(p[22..], OggCrc.Compute(p));
        Output.Write(page);
        _pagePackets.SetLength(0);
        _packetSizes.Clear();
    }
}
