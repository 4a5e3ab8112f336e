using System.Buffers.Binary;

namespace BarkSharp.IO;

/// <summary>Decoded audio: one float array per channel, all of the same length, at <see cref="SampleRate"/>.</summary>
public sealed class WavAudio
{
    /// <summary>Wraps decoded channels (not copied).</summary>
    /// <exception cref="ArgumentException">No channel, channels of different lengths, or a rate that is not positive.</exception>
    public WavAudio(float[][] channels, int sampleRate)
    {
        ArgumentNullException.ThrowIfNull(channels);
        if (channels.Length == 0) throw new ArgumentException("audio needs at least one channel.", nameof(channels));
        if (sampleRate <= 0) throw new ArgumentException($"the sample rate must be positive, found {sampleRate}.", nameof(sampleRate));
        foreach (float[] c in channels)
            if (c is null || c.Length != channels[0].Length)
                throw new ArgumentException("every channel must hold the same number of samples.", nameof(channels));
        Channels = channels;
        SampleRate = sampleRate;
    }

    /// <summary>Samples per second.</summary>
    public int SampleRate { get; }

    /// <summary><c>Channels[c][n]</c>, nominally in [−1, 1].</summary>
    public float[][] Channels { get; }

    /// <summary>Samples per channel.</summary>
    public int Frames => Channels[0].Length;

    /// <summary>Length in time.</summary>
    public TimeSpan Duration => TimeSpan.FromSeconds((double)Frames / SampleRate);
}

/// <summary>
/// Reads RIFF/WAVE files: integer PCM of 8, 16, 24 or 32 bits and 32-bit IEEE float (also inside
/// <c>WAVE_FORMAT_EXTENSIBLE</c>), any sample rate, mono or stereo. Integer samples are scaled as torchaudio's
/// <c>load(normalize=True)</c> does: signed b-bit values divided by 2^(b−1) (so 16-bit is <c>x / 32768</c>, exactly),
/// unsigned 8-bit as <c>(x − 128) / 128</c>; float samples are kept as they are.
/// </summary>
public static class WavReader
{
    /// <summary>The longest audio <see cref="Read(string, TimeSpan?)"/> accepts unless told otherwise: 10 minutes.</summary>
    public static readonly TimeSpan DefaultMaxDuration = TimeSpan.FromMinutes(10);

    private const ushort FormatPcm = 1, FormatFloat = 3, FormatExtensible = 0xFFFE;

    /// <summary>Reads a WAV file.</summary>
    /// <param name="path">The file.</param>
    /// <param name="maxDuration">Longest accepted audio (default <see cref="DefaultMaxDuration"/>).</param>
    /// <exception cref="BarkFormatException">The file is missing, not a WAV file, compressed, empty, truncated, has more than two channels, or is too long.</exception>
    public static WavAudio Read(string path, TimeSpan? maxDuration = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new BarkFormatException(path, "the file does not exist.");
        long length = new FileInfo(path).Length;
        if (length > int.MaxValue)
            throw new BarkFormatException(path, $"the file has {length / (1 << 20)} MiB; files over 2 GiB are not read. Cut it to the part you need.");
        return Read(File.ReadAllBytes(path), path, maxDuration);
    }

    /// <summary>Reads a WAV file held in memory; <paramref name="name"/> is used in error messages.</summary>
    /// <exception cref="BarkFormatException">The bytes are not a WAV file this reader supports (see <see cref="Read(string, TimeSpan?)"/>).</exception>
    public static WavAudio Read(ReadOnlySpan<byte> file, string name, TimeSpan? maxDuration = null)
    {
        TimeSpan limit = maxDuration ?? DefaultMaxDuration;
        if (file.Length == 0) throw new BarkFormatException(name, "the file is empty.");
        if (file.Length < 12 || !file[..4].SequenceEqual("RIFF"u8) || !file.Slice(8, 4).SequenceEqual("WAVE"u8))
            throw new BarkFormatException(name, "the file is not a WAV file (it does not start with a RIFF/WAVE header).");

        ushort format = 0, channels = 0, bits = 0, blockAlign = 0;
        int sampleRate = 0;
        bool haveFormat = false;
        int pos = 12;
        while (pos + 8 <= file.Length)
        {
            ReadOnlySpan<byte> id = file.Slice(pos, 4);
            uint size = BinaryPrimitives.ReadUInt32LittleEndian(file.Slice(pos + 4, 4));
            int body = pos + 8;
            if (id.SequenceEqual("fmt "u8))
            {
                if (size < 16 || body + 16 > file.Length)
                    throw new BarkFormatException(name, "the WAV format chunk is too short; the file is truncated or corrupt.");
                ReadOnlySpan<byte> f = file.Slice(body, (int)Math.Min(size, (uint)(file.Length - body)));
                format = BinaryPrimitives.ReadUInt16LittleEndian(f);
                channels = BinaryPrimitives.ReadUInt16LittleEndian(f[2..]);
                sampleRate = BinaryPrimitives.ReadInt32LittleEndian(f[4..]);
                blockAlign = BinaryPrimitives.ReadUInt16LittleEndian(f[12..]);
                bits = BinaryPrimitives.ReadUInt16LittleEndian(f[14..]);
                if (format == FormatExtensible)
                {
                    if (f.Length < 40)
                        throw new BarkFormatException(name, "the WAV extensible format chunk is too short; the file is truncated or corrupt.");
                    format = BinaryPrimitives.ReadUInt16LittleEndian(f[24..]);    // first two bytes of the sub-format GUID
                }
                haveFormat = true;
            }
            else if (id.SequenceEqual("data"u8))
            {
                if (!haveFormat)
                    throw new BarkFormatException(name, "the WAV data chunk comes before the format chunk, so the samples cannot be read.");
                CheckFormat(name, format, channels, bits, blockAlign, sampleRate);
                long available = file.Length - body;
                long length = size;
                if (size == uint.MaxValue || size == 0 && available > 0) length = available;       // streamed WAV: size unknown
                else if (length > available)
                    throw new BarkFormatException(name, $"the WAV data chunk declares {size} bytes but only {available} follow; the file is truncated.");
                if (length % blockAlign != 0 && size != uint.MaxValue && size != 0)
                    throw new BarkFormatException(name, $"the WAV data chunk holds {length} bytes, not a whole number of {blockAlign}-byte frames; the file is truncated or corrupt.");
                long frames = length / blockAlign;
                if (frames == 0) throw new BarkFormatException(name, "the WAV file holds no samples.");
                double seconds = (double)frames / sampleRate;
                if (seconds > limit.TotalSeconds)
                    throw new BarkFormatException(name, $"the audio lasts {seconds:0.#} s, longer than the {limit.TotalSeconds:0.#} s allowed; cut it to the part you need.");
                return Decode(file.Slice(body, (int)(frames * blockAlign)), (int)frames, format, channels, bits, blockAlign, sampleRate);
            }
            long next = (long)body + size + (size & 1);
            if (next > file.Length) break;
            pos = (int)next;
        }
        throw new BarkFormatException(name, haveFormat
            ? "the WAV file has no data chunk; it is empty or truncated."
            : "the WAV file has no format chunk; it is truncated or corrupt.");
    }

    private static void CheckFormat(string name, ushort format, ushort channels, ushort bits, ushort blockAlign, int sampleRate)
    {
        if (format != FormatPcm && format != FormatFloat)
            throw new BarkFormatException(name, $"the WAV file is compressed (format tag 0x{format:X4}); only uncompressed PCM and 32-bit float WAV can be read. " +
                "Convert it first, e.g. 'ffmpeg -i input.wav -c:a pcm_s16le output.wav'.");
        if (channels is < 1 or > 2)
            throw new BarkFormatException(name, $"the WAV file has {channels} channels; only mono and stereo are supported. Mix it down first.");
        bool ok = format == FormatFloat ? bits == 32 : bits is 8 or 16 or 24 or 32;
        if (!ok)
            throw new BarkFormatException(name, $"{bits}-bit {(format == FormatFloat ? "float" : "PCM")} samples are not supported (PCM 8/16/24/32-bit or 32-bit float).");
        if (blockAlign != channels * (bits / 8))
            throw new BarkFormatException(name, $"the WAV block size {blockAlign} does not match {channels} channel(s) of {bits}-bit samples; the header is corrupt.");
        if (sampleRate <= 0)
            throw new BarkFormatException(name, $"the WAV sample rate {sampleRate} is not valid.");
    }

    private static WavAudio Decode(ReadOnlySpan<byte> data, int frames, ushort format, int channels, int bits, int blockAlign, int sampleRate)
    {
        var result = new float[channels][];
        for (int c = 0; c < channels; c++) result[c] = new float[frames];
        int bytes = bits / 8;
        for (int n = 0; n < frames; n++)
        {
            for (int c = 0; c < channels; c++)
            {
                ReadOnlySpan<byte> s = data.Slice(n * blockAlign + c * bytes, bytes);
                result[c][n] = format == FormatFloat
                    ? BinaryPrimitives.ReadSingleLittleEndian(s)
                    : bits switch
                    {
                        8 => (s[0] - 128) / 128f,
                        16 => BinaryPrimitives.ReadInt16LittleEndian(s) / 32768f,
                        24 => ((s[0] | s[1] << 8 | s[2] << 16) << 8 >> 8) / 8388608f,
                        _ => (float)(BinaryPrimitives.ReadInt32LittleEndian(s) / 2147483648.0),
                    };
            }
        }
        return new WavAudio(result, sampleRate);
    }
}
