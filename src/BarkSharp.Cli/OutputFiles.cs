using BarkSharp.IO;

namespace BarkSharp.Cli;

/// <summary>Output paths: checked before minutes of work are spent, and written through <see cref="OutputFile"/>.</summary>
internal static class OutputFiles
{
    /// <summary>
    /// Fails with <see cref="ExitCodes.OutputError"/> (a <see cref="BarkOutputException"/>) when one of
    /// <paramref name="paths"/> cannot be written; leaves the file system as it was. Two equal paths are refused too:
    /// the second file would silently replace the first.
    /// </summary>
    public static void CheckWritable(IEnumerable<string> paths)
    {
        var seen = new Dictionary<string, string>(OperatingSystem.IsWindows() ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal);
        foreach (string path in paths)
        {
            OutputFile.Check(path);
            string full = Path.GetFullPath(path);
            if (seen.TryGetValue(full, out string? first) && !IsDevice(full))
                throw new BarkOutputException(path, $"cannot write '{path}': '{first}' names the same file, so one output would replace the other. Give them different names.");
            seen[full] = path;
        }
    }

    /// <summary>Runs a writer for <paramref name="path"/> (one that goes through <see cref="OutputFile"/>), turning stray I/O failures into <see cref="ExitCodes.OutputError"/>.</summary>
    public static void Write(string path, Action<string> write)
    {
        try
        {
            write(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new BarkOutputException(path, $"cannot write '{path}': {e.Message}", e);
        }
    }

    private static bool IsDevice(string full) => full.StartsWith("/dev/", StringComparison.Ordinal);
}
