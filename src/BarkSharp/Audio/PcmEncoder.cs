namespace BarkSharp.Audio;

/// <summary>
/// Headerless signed 16-bit little-endian mono PCM (<c>audio/pcm</c>; <c>aplay -f S16_LE -r 24000 -c 1</c> plays it):
/// each sample clipped to [−1, 1], NaN as 0, times 32767, rounded. Every <see cref="AudioEncoder.Write"/> reaches the stream at once.
/// </summary>
internal sealed class PcmEncoder : AudioEncoder
{
    private readonly byte[] _buffer = new byte[8192];

    /// <summary>Creates an encoder writing to <paramref name="output"/> (not owned).</summary>
    public PcmEncoder(Stream output, int sampleRate) : base(AudioFormat.Pcm, output, sampleRate)
    {
    }

    /// <inheritdoc />
    public override string ContentType => "audio/pcm";

    /// <inheritdoc />
    private protected override void WriteCore(ReadOnlySpan<float> samples)
    {
        int perChunk = _buffer.Length / 2;
        for (int start = 0; start < samples.Length; start += perChunk)
        {
            int n = Math.Min(perChunk, samples.Length - start);
            ToPcm16(samples.Slice(start, n), _buffer);
            Output.Write(_buffer, 0, n * 2);
        }
    }

    /// <inheritdoc />
    private protected override void CompleteCore()
    {
    }
}
