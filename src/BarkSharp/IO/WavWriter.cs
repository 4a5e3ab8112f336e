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

    /// <summary>Writes a complete WAV file to <paramref name="stream"/> (through <see cref="Audio.WavEncoder"/>, exact sizes up front).</summary>
    public static void Write(Stream stream, ReadOnlySpan<float> samples, int sampleRate, WavFormat format = WavFormat.Pcm16)
    {
        if (sampleRate <= 0) throw new ArgumentOutOfRangeException(nameof(sampleRate));
        using var encoder = new Audio.WavEncoder(stream, sampleRate, format, sampleCount: samples.Length);
        encoder.Write(samples);
        encoder.Complete();
    }
}
