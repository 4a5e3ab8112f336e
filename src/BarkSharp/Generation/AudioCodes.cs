namespace BarkSharp.Generation;

/// <summary>
/// EnCodec codes of a batch, the one code layout from the coarse stage on: <see cref="Codes"/> is
/// <c>[sample][codebook][frame]</c> with plain codes 0 … 1023 (no vocabulary offsets), every sample as wide as the
/// batch's longest, and <see cref="Frames"/> says how many of those frames each sample owns. The coarse stage gives
/// the first two codebooks, the fine stage all eight; <see cref="BarkModel.DecodeCodec"/> turns them into audio.
/// </summary>
/// <param name="Codes">Codes <c>[sample][codebook][frame]</c>.</param>
/// <param name="Frames">Frames of each sample (75 per second); the frames past them are the batch's padding.</param>
public sealed record AudioCodes(int[][][] Codes, int[] Frames)
{
    /// <summary>Samples in the batch.</summary>
    public int BatchSize => Codes.Length;

    /// <summary>Codebooks per sample (2 after the coarse stage, 8 after the fine stage).</summary>
    public int Codebooks => Codes.Length == 0 ? 0 : Codes[0].Length;

    /// <summary>Codes of sample <paramref name="index"/> on its own frames, <c>[codebook][frame]</c>.</summary>
    public int[][] Sample(int index) => [.. Codes[index].Select(row => row[..Frames[index]])];
}
