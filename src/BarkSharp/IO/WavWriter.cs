namespace BarkSharp.IO;

/// <summary>Sample encodings of a written WAV file.</summary>
public enum WavFormat
{
    /// <summary>16-bit signed integer PCM (samples clipped to [−1, 1]).</summary>
    Pcm16,
    /// <summary>32-bit IEEE float (WAVE_FORMAT_IEEE_FLOAT), samples written unchanged.</summary>
    Float32,
}

/// <summary>Writes mono RIFF/WAVE files, atomically when writing to a path.</summary>
public static class WavWriter
{
    /// <summary>
    /// Writes <paramref name="samples"/> to <paramref name="path"/> through a temporary file that is moved into place
    /// only when complete, so an interrupted write never leaves a partial file behind.
    /// </summary>
    public static void Write(string path, ReadOnlySpan<float> samples, int sampleRate, WavFormat format = WavFormat.Pcm16)
    {
        string full = Path.GetFullPath(path);
        string temp = full + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp";
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
                Write(stream, samples, sampleRate, format);
            File.Move(temp, full, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
            throw new BarkException($"cannot write '{path}': {e.Message}", e);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>Writes a complete WAV file to <paramref name="stream"/> (through <see cref="Audio.WavEncoder"/>, exact sizes up front).</summary>
    public static void Write(Stream stream, ReadOnlySpan<float> samples, int sampleRate, WavFormat format = WavFormat.Pcm16)
    {
        if (sampleRate <= 0) throw new ArgumentOutOfRangeException(nameof(sampleRate));
        using var encoder = new Audio.WavEncoder(stream, sampleRate, format, sampleCount: samples.Length);
        encoder.Write(samples);
        encoder.Complete();
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
