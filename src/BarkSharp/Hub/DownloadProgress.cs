namespace BarkSharp.Hub;

/// <summary>Progress of one file download from the hub.</summary>
/// <param name="RepoId">The repository, e.g. <c>suno/bark-small</c>.</param>
/// <param name="FileName">The file's path in the repository, e.g. <c>pytorch_model.bin</c>.</param>
/// <param name="BytesDone">Bytes on disk so far, resumed bytes included.</param>
/// <param name="TotalBytes">The file's size, or null when the hub did not say.</param>
/// <param name="BytesPerSecond">Average speed of this transfer (resumed bytes excluded).</param>
/// <param name="Completed">True on the last report of a file, after it was verified and moved into the cache.</param>
public readonly record struct DownloadProgress(string RepoId, string FileName, long BytesDone, long? TotalBytes, double BytesPerSecond, bool Completed)
{
    /// <summary>Fraction done in [0, 1], or null when the size is unknown.</summary>
    public double? Fraction => TotalBytes is > 0 and var total ? Math.Min(1.0, BytesDone / (double)total) : TotalBytes == 0 ? 1.0 : null;
}
