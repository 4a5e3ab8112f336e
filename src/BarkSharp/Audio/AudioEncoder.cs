namespace BarkSharp.Audio;

/// <summary>
/// Turns float samples (mono, about [−1, 1]) into an audio file or stream, piece by piece: the one set of encoders the
/// CLI, the server and the .NET AI client share. Call <see cref="Write"/> as audio arrives, <see cref="Flush"/> to push
/// what is encoded so far to the stream (one streamed chunk), and <see cref="Complete"/> once at the end.
/// </summary>
/// <remarks>
/// <para>An encoder never closes or disposes its output stream. It is not thread-safe.</para>
/// <para>With <c>streaming</c> set, bytes reach the stream as early as the format allows and nothing is rewritten
/// (WAV headers carry 0xFFFFFFFF sizes, as streaming servers send them). Without it, WAV sizes are exact: patched on a
/// seekable stream at <see cref="Complete"/>, or, on a stream that cannot seek, the samples are held until then.</para>
/// </remarks>
public abstract class AudioEncoder : IDisposable
{
    /// <summary>Initializes the common state.</summary>
    /// <param name="format">What the subclass writes.</param>
    /// <param name="output">The stream written to (not owned).</param>
    /// <param name="sampleRate">Samples per second of the input, e.g. 24000.</param>
    private protected AudioEncoder(AudioFormat format, Stream output, int sampleRate)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(sampleRate);
        if (!output.CanWrite) throw new ArgumentException("the output stream is not writable.", nameof(output));
        Format = format;
        Output = output;
        SampleRate = sampleRate;
    }

    /// <summary>Creates the encoder of <paramref name="format"/> writing to <paramref name="output"/>.</summary>
    /// <param name="format">The encoding.</param>
    /// <param name="output">Where the bytes go; not closed by the encoder.</param>
    /// <param name="sampleRate">Input samples per second (Bark produces 24000). Opus takes 8000, 12000, 16000, 24000 or 48000.</param>
    /// <param name="streaming">Write as early as possible and never seek back (WAV sizes 0xFFFFFFFF; Opus pages at every <see cref="Flush"/>; FLAC frames as they fill, STREAMINFO total and MD5 unknown).</param>
    public static AudioEncoder Create(AudioFormat format, Stream output, int sampleRate, bool streaming = false) => format switch
    {
        AudioFormat.Wav => new WavEncoder(output, sampleRate, IO.WavFormat.Pcm16, streaming),
        AudioFormat.WavFloat32 => new WavEncoder(output, sampleRate, IO.WavFormat.Float32, streaming),
        AudioFormat.Pcm => new PcmEncoder(output, sampleRate),
        AudioFormat.Opus => new OggOpusEncoder(output, sampleRate),
        AudioFormat.Flac => new FlacEncoder(output, sampleRate, streaming),
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "unknown audio format"),
    };

    /// <summary>
    /// Parses a format name as clients and the command line give it, case-insensitively: <c>wav</c> (16-bit),
    /// <c>wav-float32</c> / <c>float32</c>, <c>pcm</c> / <c>raw</c> / <c>s16le</c> (headerless 16-bit), <c>opus</c> / <c>ogg</c>, <c>flac</c>.
    /// </summary>
    /// <returns>Whether the name is known.</returns>
    public static bool TryParse(string? name, out AudioFormat format)
    {
        switch (name?.Trim().ToLowerInvariant())
        {
            case "wav" or "wave" or "pcm16" or "wav-pcm16":
                format = AudioFormat.Wav;
                return true;
            case "wav-float32" or "float32" or "wav-f32" or "f32":
                format = AudioFormat.WavFloat32;
                return true;
            case "pcm" or "raw" or "s16le":
                format = AudioFormat.Pcm;
                return true;
            case "opus" or "ogg" or "ogg-opus":
                format = AudioFormat.Opus;
                return true;
            case "flac":
                format = AudioFormat.Flac;
                return true;
            default:
                format = default;
                return false;
        }
    }

    /// <summary>The MIME type of <paramref name="format"/>: <c>audio/wav</c>, <c>audio/pcm</c> or <c>audio/ogg</c>.</summary>
    public static string ContentTypeOf(AudioFormat format) => format switch
    {
        AudioFormat.Wav or AudioFormat.WavFloat32 => "audio/wav",
        AudioFormat.Pcm => "audio/pcm",
        AudioFormat.Opus => "audio/ogg",
        AudioFormat.Flac => "audio/flac",
        _ => throw new ArgumentOutOfRangeException(nameof(format)),
    };

    /// <summary>The usual file extension of <paramref name="format"/>, with its dot: <c>.wav</c>, <c>.pcm</c>, <c>.opus</c>.</summary>
    public static string FileExtensionOf(AudioFormat format) => format switch
    {
        AudioFormat.Wav or AudioFormat.WavFloat32 => ".wav",
        AudioFormat.Pcm => ".pcm",
        AudioFormat.Opus => ".opus",
        AudioFormat.Flac => ".flac",
        _ => throw new ArgumentOutOfRangeException(nameof(format)),
    };

    /// <summary>The encoding written.</summary>
    public AudioFormat Format { get; }

    /// <summary>The MIME type of what is written (<c>audio/wav</c>, <c>audio/pcm</c>, <c>audio/ogg</c>).</summary>
    public abstract string ContentType { get; }

    /// <summary>Input samples per second.</summary>
    public int SampleRate { get; }

    /// <summary>Samples given to <see cref="Write"/> so far.</summary>
    public long SamplesWritten { get; private set; }

    /// <summary>Whether <see cref="Complete"/> has run.</summary>
    public bool IsCompleted { get; private set; }

    /// <summary>The stream written to.</summary>
    private protected Stream Output { get; }

    /// <summary>Encodes <paramref name="samples"/> and writes whatever of it is complete (Opus holds back a partial 20 ms frame).</summary>
    /// <exception cref="InvalidOperationException">After <see cref="Complete"/>.</exception>
    public void Write(ReadOnlySpan<float> samples)
    {
        ThrowIfCompleted();
        WriteCore(samples);
        SamplesWritten += samples.Length;
    }

    /// <summary>Pushes everything encoded so far to the stream and flushes it: one streamed chunk.</summary>
    public void Flush()
    {
        ThrowIfCompleted();
        FlushCore();
        Output.Flush();
    }

    /// <summary>Writes the end of the file (remaining samples, final page, exact WAV sizes where possible) and flushes. Runs once.</summary>
    public void Complete()
    {
        ThrowIfCompleted();
        CompleteCore();
        IsCompleted = true;
        Output.Flush();
    }

    /// <summary>Encodes samples; see <see cref="Write"/>.</summary>
    private protected abstract void WriteCore(ReadOnlySpan<float> samples);

    /// <summary>Writes out buffered encoded data; see <see cref="Flush"/>. The base class flushes <see cref="Output"/> after it.</summary>
    private protected virtual void FlushCore()
    {
    }

    /// <summary>Finishes the file; see <see cref="Complete"/>.</summary>
    private protected abstract void CompleteCore();

    /// <summary>Releases encoder state. Does not complete the file and does not close the output stream.</summary>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases encoder state when <paramref name="disposing"/>.</summary>
    protected virtual void Dispose(bool disposing)
    {
    }

    private void ThrowIfCompleted()
    {
        if (IsCompleted) throw new InvalidOperationException("the audio encoder is already completed.");
    }

    /// <summary>Converts samples to signed 16-bit PCM little-endian bytes: clipped to [−1, 1], NaN as 0, scaled by 32767 and rounded.</summary>
    /// <param name="samples">Input samples.</param>
    /// <param name="destination">At least 2 bytes per sample.</param>
    public static void ToPcm16(ReadOnlySpan<float> samples, Span<byte> destination)
    {
        if (destination.Length < samples.Length * 2) throw new ArgumentException("the destination holds fewer than 2 bytes per sample.", nameof(destination));
        for (int i = 0; i < samples.Length; i++)
        {
            float v = samples[i];
            float clipped = float.IsNaN(v) ? 0f : Math.Clamp(v, -1f, 1f);
            System.Buffers.Binary.BinaryPrimitives.WriteInt16LittleEndian(destination[(i * 2)..], (short)MathF.Round(clipped * 32767f));
        }
    }
}
