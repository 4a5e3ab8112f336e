using BarkSharp.Cloning;
using BarkSharp.IO;

namespace BarkSharp;

public sealed partial class VoicePreset
{
    /// <summary>
    /// Clones the voice of a WAV recording into a preset (see <see cref="VoiceCloner"/>): loads (on first use,
    /// downloads) HuBERT, the quantizer and Bark's codec as <paramref name="options"/> says, then runs them on a worker
    /// thread. To clone several recordings, load a <see cref="VoiceCloner"/> once instead.
    /// </summary>
    /// <exception cref="BarkFormatException">The file is not a WAV file that can be read (compressed, empty, truncated, too long).</exception>
    /// <exception cref="BarkException">A model is missing or unreadable, or the recording is too short.</exception>
    public static Task<VoicePreset> FromAudioAsync(string wavPath, VoiceCloningOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(wavPath);
        options ??= new VoiceCloningOptions();
        return Task.Run(() =>
        {
            WavAudio audio = WavReader.Read(wavPath, options.MaxDuration);
            return VoiceCloner.FromPretrained(options, cancellationToken: cancellationToken).Clone(audio, cancellationToken);
        }, cancellationToken);
    }

    /// <summary>Clones the voice of decoded audio (mono or stereo, any rate); see <see cref="FromAudioAsync(string, VoiceCloningOptions?, CancellationToken)"/>.</summary>
    public static Task<VoicePreset> FromAudioAsync(WavAudio audio, VoiceCloningOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(audio);
        return Task.Run(() => VoiceCloner.FromPretrained(options, cancellationToken: cancellationToken).Clone(audio, cancellationToken), cancellationToken);
    }
}
