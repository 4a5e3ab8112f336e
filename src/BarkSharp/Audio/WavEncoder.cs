using System.Buffers.Binary;
using BarkSharp.IO;

namespace BarkSharp.Audio;

/// <summary>
/// Mono RIFF/WAVE: 16-bit PCM (format tag 1, 44-byte header) or 32-bit IEEE float (tag 3 with a <c>fact</c> chunk,
/// 58-byte header). How the size fields are filled:
/// <list type="bullet">
/// <item><description>the sample count is given up front: exact sizes, written first;</description></item>
/// <item><description>streaming: 0xFFFFFFFF sizes (the convention of streaming servers; players read to the end of the stream);</description></item>
/// <item><description>a seekable stream: placeholder sizes, patched by <see cref="AudioEncoder.Complete"/>;</description></item>
/// <item><description>a stream that cannot seek: the samples are held in memory and the whole file is written at <see cref="AudioEncoder.Complete"/>.</description></item>
/// </list>
/// </summary>
internal sealed class WavEncoder : AudioEncoder
{
    /// <summary>The size written in streamed headers, meaning "unknown, read to the end".</summary>
    public const uint UnknownSize = 0xFFFFFFFF;

    private readonly WavFormat _format;
    private readonly bool _streaming;
    private readonly long? _declaredSamples;
    private readonly long _headerStart = -1;   // ≥ 0: patch sizes there at Complete
    private readonly List<float[]>? _held;      // non-seekable, size unknown: samples kept until Complete
    private readonly byte[] _buffer = new byte[8192];

    /// <summary>Creates a WAV encoder writing to <paramref name="output"/> (not owned).</summary>
    /// <param name="output">Destination stream.</param>
    /// <param name="sampleRate">Samples per second.</param>
    /// <param name="format">16-bit PCM or 32-bit float samples.</param>
    /// <param name="streaming">Write the header at once with 0xFFFFFFFF sizes and never seek.</param>
    /// <param name="sampleCount">The exact number of samples that will be written, when known: the header is exact from the start.</param>
    /// <exception cref="BarkException"><paramref name="sampleCount"/> is too large for a WAV file.</exception>
    public WavEncoder(Stream output, int sampleRate, WavFormat format = WavFormat.Pcm16, bool streaming = false, long? sampleCount = null)
        : base(format == WavFormat.Float32 ? AudioFormat.WavFloat32 : AudioFormat.Wav, output, sampleRate)
    {
        _format = format;
        _streaming = streaming;
        _declaredSamples = sampleCount;
        if (sampleCount is { } known)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(known, nameof(sampleCount));
            WriteHeader(DataBytes(known), known);
        }
        else if (streaming)
        {
            WriteHeader(null, null);
        }
        else if (output.CanSeek)
        {
            _headerStart = output.Position;
            WriteHeader(0, 0);
        }
        else
        {
            _held = [];
        }
    }

    /// <inheritdoc />
    public override string ContentType => "audio/wav";

    /// <summary>Bytes of the header this encoder writes (44 for 16-bit PCM, 58 for float).</summary>
    public int HeaderLength => HeaderLengthOf(_format);

    /// <summary>Bytes of a WAV header for <paramref name="format"/>: 44 (PCM16) or 58 (float32).</summary>
    public static int HeaderLengthOf(WavFormat format) => format == WavFormat.Float32 ? 58 : 44;

    private int BytesPerSample => _format == WavFormat.Float32 ? 4 : 2;

    private uint DataBytes(long samples)
    {
        long bytes = samples * BytesPerSample;
        if (bytes > uint.MaxValue - 64) throw new BarkException($"{samples} samples are too many for a WAV file.");
        return (uint)bytes;
    }

    /// <inheritdoc />
    private protected override void WriteCore(ReadOnlySpan<float> samples)
    {
        if (_declaredSamples is { } declared && SamplesWritten + samples.Length > declared)
            throw new InvalidOperationException($"the WAV header declares {declared} samples; {SamplesWritten + samples.Length} were written.");
        if (_held is not null)
        {
            _held.Add(samples.ToArray());
            return;
        }
        if (!_streaming && _declaredSamples is null) DataBytes(SamplesWritten + samples.Length);
        WriteSamples(samples);
    }

    /// <inheritdoc />
    private protected override void CompleteCore()
    {
        if (_declaredSamples is { } declared && SamplesWritten != declared)
            throw new InvalidOperationException($"the WAV header declares {declared} samples; only {SamplesWritten} were written.");
        if (_held is not null)
        {
            WriteHeader(DataBytes(SamplesWritten), SamplesWritten);
            foreach (float[] piece in _held) WriteSamples(piece);
            _held.Clear();
        }
        else if (_headerStart >= 0)
        {
            long end = Output.Position;
            Output.Position = _headerStart;
            WriteHeader(DataBytes(SamplesWritten), SamplesWritten);
            Output.Position = end;
        }
    }

    private void WriteSamples(ReadOnlySpan<float> samples)
    {
        int bytesPerSample = BytesPerSample;
        int perChunk = _buffer.Length / bytesPerSample;
        for (int start = 0; start < samples.Length; start += perChunk)
        {
            int n = Math.Min(perChunk, samples.Length - start);
            ReadOnlySpan<float> part = samples.Slice(start, n);
            if (_format == WavFormat.Float32)
                for (int i = 0; i < n; i++) BinaryPrimitives.WriteSingleLittleEndian(_buffer.AsSpan(i * 4), part[i]);
            else
                ToPcm16(part, _buffer);
            Output.Write(_buffer, 0, n * bytesPerSample);
        }
    }

    /// <summary>Writes the header; null sizes mean unknown (0xFFFFFFFF).</summary>
    private void WriteHeader(uint? dataBytes, long? samples)
    {
        bool isFloat = _format == WavFormat.Float32;
        int bytesPerSample = BytesPerSample;
        Span<byte> h = stackalloc byte[HeaderLength];
        "RIFF"u8.CopyTo(h);
        BinaryPrimitives.WriteUInt32LittleEndian(h[4..], dataBytes is { } d ? (uint)(h.Length - 8 + d) : UnknownSize);
        "WAVE"u8.CopyTo(h[8..]);
        "fmt "u8.CopyTo(h[12..]);
        BinaryPrimitives.WriteInt32LittleEndian(h[16..], isFloat ? 18 : 16);
        BinaryPrimitives.WriteInt16LittleEndian(h[20..], (short)(isFloat ? 3 : 1));        // format tag
        BinaryPrimitives.WriteInt16LittleEndian(h[22..], 1);                                // channels
        BinaryPrimitives.WriteInt32LittleEndian(h[24..], SampleRate);
        BinaryPrimitives.WriteInt32LittleEndian(h[28..], SampleRate * bytesPerSample);      // byte rate
        BinaryPrimitives.WriteInt16LittleEndian(h[32..], (short)bytesPerSample);            // block align
        BinaryPrimitives.WriteInt16LittleEndian(h[34..], (short)(bytesPerSample * 8));      // bits per sample
        int at = 36;
        if (isFloat)
        {
            BinaryPrimitives.WriteInt16LittleEndian(h[at..], 0);                            // cbSize
            "fact"u8.CopyTo(h[(at + 2)..]);
            BinaryPrimitives.WriteInt32LittleEndian(h[(at + 6)..], 4);
            BinaryPrimitives.WriteUInt32LittleEndian(h[(at + 10)..], samples is { } n ? (uint)n : UnknownSize);
            at += 14;
        }
        "data"u8.CopyTo(h[at..]);
        BinaryPrimitives.WriteUInt32LittleEndian(h[(at + 4)..], dataBytes ?? UnknownSize);
        Output.Write(h);
    }
}
