using System.Buffers.Binary;

namespace BarkSharp.IO;

/// <summary>Sample encodings of a written WAV file.</summary>
public enum WavFormat
{
    /// <summary>16-bit signed integer PCM (samples clipped to [−1, 1]).</summary>
    Pcm16,
    /// <summary>32-bit IEEE float (WAVE_FORMAT_IEEE_FLOAT), samples written unchanged.</summary>
    Float32,
}

/// <summary>Writes mono RIFF/WAVE files, atomically when writing to a path (see <see cref="OutputFile"/>).</summary>
public static class WavWriter
{
    /// <summary>
    /// Writes <paramref name="samples"/> to <paramref name="path"/> through <see cref="OutputFile"/>: a regular file is
    /// replaced atomically and keeps its permission bits, a symbolic link's target is written, a FIFO or character
    /// device is written directly; an interrupted write never leaves a partial file behind.
    /// </summary>
    /// <exception cref="BarkOutputException">The path cannot be written.</exception>
    public static void Write(string path, ReadOnlySpan<float> samples, int sampleRate, WavFormat format = WavFormat.Pcm16)
    {
        if (sampleRate <= 0) throw new ArgumentOutOfRangeException(nameof(sampleRate));
        using OutputFile output = OutputFile.Create(path);
        Write(output.Stream, samples, sampleRate, format);
        output.Commit();
    }

    /// <summary>Writes a complete WAV file to <paramref name="stream"/>.</summary>
    public static void Write(Stream stream, ReadOnlySpan<float> samples, int sampleRate, WavFormat format = WavFormat.Pcm16)
    {
        if (sampleRate <= 0) throw new ArgumentOutOfRangeException(nameof(sampleRate));
        bool isFloat = format == WavFormat.Float32;
        int bytesPerSample = isFloat ? 4 : 2;
        long dataBytes = (long)samples.Length * bytesPerSample;
        if (dataBytes > uint.MaxValue - 64) throw new BarkException($"{samples.Length} samples are too many for a WAV file.");
        int fmtSize = isFloat ? 18 : 16;
        int factSize = isFloat ? 12 : 0;
        var header = new byte[12 + 8 + fmtSize + factSize + 8];
        Span<byte> h = header;
        "RIFF"u8.CopyTo(h);
        BinaryPrimitives.WriteUInt32LittleEndian(h[4..], (uint)(header.Length - 8 + dataBytes));
        "WAVE"u8.CopyTo(h[8..]);
        "fmt "u8.CopyTo(h[12..]);
        BinaryPrimitives.WriteInt32LittleEndian(h[16..], fmtSize);
        BinaryPrimitives.WriteInt16LittleEndian(h[20..], (short)(isFloat ? 3 : 1));      // format tag
        BinaryPrimitives.WriteInt16LittleEndian(h[22..], 1);                              // channels
        BinaryPrimitives.WriteInt32LittleEndian(h[24..], sampleRate);
        BinaryPrimitives.WriteInt32LittleEndian(h[28..], sampleRate * bytesPerSample);    // byte rate
        BinaryPrimitives.WriteInt16LittleEndian(h[32..], (short)bytesPerSample);          // block align
        BinaryPrimitives.WriteInt16LittleEndian(h[34..], (short)(bytesPerSample * 8));    // bits per sample
        int at = 36;
        if (isFloat)
        {
            BinaryPrimitives.WriteInt16LittleEndian(h[at..], 0);                          // cbSize
            at += 2;
            "fact"u8.CopyTo(h[at..]);
            BinaryPrimitives.WriteInt32LittleEndian(h[(at + 4)..], 4);
            BinaryPrimitives.WriteInt32LittleEndian(h[(at + 8)..], samples.Length);
            at += 12;
        }
        "data"u8.CopyTo(h[at..]);
        BinaryPrimitives.WriteUInt32LittleEndian(h[(at + 4)..], (uint)dataBytes);
        stream.Write(header);

        Span<byte> chunk = stackalloc byte[4096];
        int perChunk = chunk.Length / bytesPerSample;
        for (int start = 0; start < samples.Length; start += perChunk)
        {
            int n = Math.Min(perChunk, samples.Length - start);
            for (int i = 0; i < n; i++)
            {
                float v = samples[start + i];
                if (isFloat)
                {
                    BinaryPrimitives.WriteSingleLittleEndian(chunk[(i * 4)..], v);
                }
                else
                {
                    float clipped = float.IsNaN(v) ? 0f : Math.Clamp(v, -1f, 1f);
                    BinaryPrimitives.WriteInt16LittleEndian(chunk[(i * 2)..], (short)MathF.Round(clipped * 32767f));
                }
            }
            stream.Write(chunk[..(n * bytesPerSample)]);
        }
    }
}
