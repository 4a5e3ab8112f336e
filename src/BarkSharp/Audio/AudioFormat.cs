namespace BarkSharp.Audio;

/// <summary>Encodings an <see cref="AudioEncoder"/> writes. All are mono.</summary>
public enum AudioFormat
{
    /// <summary>RIFF/WAVE, signed 16-bit PCM (samples clipped to [−1, 1]); <c>audio/wav</c>.</summary>
    Wav,

    /// <summary>RIFF/WAVE, 32-bit IEEE float (WAVE_FORMAT_IEEE_FLOAT with a fact chunk), samples unchanged; <c>audio/wav</c>.</summary>
    WavFloat32,

    /// <summary>Headerless signed 16-bit little-endian mono PCM at the encoder's sample rate; <c>audio/pcm</c>.</summary>
    Pcm,

    /// <summary>Ogg Opus (RFC 7845): Opus packets of 20 ms encoded by Concentus in managed code; <c>audio/ogg</c>.</summary>
    Opus,

    /// <summary>FLAC, lossless 16-bit (samples clipped and rounded as for <see cref="Pcm"/>); <c>audio/flac</c>.</summary>
    Flac,
}
