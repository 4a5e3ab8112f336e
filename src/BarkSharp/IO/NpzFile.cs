using System.IO.Compression;

namespace BarkSharp.IO;

/// <summary>
/// NumPy <c>.npz</c> archives: a zip whose members are <c>.npy</c> files (what <c>np.savez</c> writes and suno's voice
/// prompts are). Members may be stored or deflated, and the zip may use ZIP64 records even when tiny (NumPy forces them).
/// </summary>
internal static class NpzFile
{
    /// <summary>Reads every array of the archive at <paramref name="path"/>, keyed by member name without <c>.npy</c>, in archive order.</summary>
    /// <exception cref="BarkFormatException">The file is missing, truncated, not a zip, or holds a member that is not a readable npy array.</exception>
    public static IReadOnlyDictionary<string, NpyArray> Load(string path)
    {
        if (!File.Exists(path)) throw new BarkFormatException(path, "the file does not exist.");
        using FileStream stream = File.OpenRead(path);
        return Read(stream, path);
    }

    /// <summary>Reads every array of an npz archive from a stream; <paramref name="name"/> is used in error messages.</summary>
    /// <exception cref="BarkFormatException">The stream is truncated, not a zip, or holds a member that is not a readable npy array.</exception>
    public static IReadOnlyDictionary<string, NpyArray> Read(Stream stream, string name)
    {
        try
        {
            using var zip = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: true);
            var arrays = new OrderedDictionary<string, NpyArray>(StringComparer.Ordinal);
            foreach (ZipArchiveEntry entry in zip.Entries)
            {
                if (entry.FullName.EndsWith('/')) continue; // a directory record
                string key = entry.FullName.EndsWith(".npy", StringComparison.Ordinal) ? entry.FullName[..^4] : entry.FullName;
                if (arrays.ContainsKey(key))
                    throw new BarkFormatException(name, $"the archive has two members named '{key}'.");
                using Stream member = entry.Open();
                arrays.Add(key, NpyArray.Read(member, $"{name}:{entry.FullName}"));
            }
            return arrays;
        }
        catch (InvalidDataException e)
        {
            throw new BarkFormatException(name, $"not a readable .npz (zip) archive — truncated or corrupt? ({e.Message})", e);
        }
        catch (EndOfStreamException e)
        {
            throw new BarkFormatException(name, "the .npz archive ends early (truncated?).", e);
        }
    }

    /// <summary>
    /// Writes <paramref name="arrays"/> as an uncompressed npz (like <c>np.savez</c>), member <c>name.npy</c> per array,
    /// through <see cref="OutputFile"/>: a regular file is replaced atomically (keeping its permission bits), so a
    /// failure never leaves a half-written file; a symbolic link's target is written; a FIFO or character device is
    /// written directly.
    /// </summary>
    /// <exception cref="BarkOutputException">The path cannot be written.</exception>
    public static void Save(string path, IEnumerable<KeyValuePair<string, NpyArray>> arrays)
    {
        ArgumentNullException.ThrowIfNull(arrays);
        OutputFile.Write(path, stream => Write(stream, arrays));
    }

    /// <summary>Writes <paramref name="arrays"/> to a stream as an uncompressed npz archive.</summary>
    public static void Write(Stream stream, IEnumerable<KeyValuePair<string, NpyArray>> arrays)
    {
        ArgumentNullException.ThrowIfNull(arrays);
        using var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true);
        foreach ((string key, NpyArray array) in arrays)
        {
            ZipArchiveEntry entry = zip.CreateEntry(key + ".npy", CompressionLevel.NoCompression);
            using Stream member = entry.Open();
            array.Write(member);
        }
    }
}
