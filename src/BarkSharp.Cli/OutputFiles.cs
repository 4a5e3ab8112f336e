namespace BarkSharp.Cli;

/// <summary>Output paths: checked before minutes of work are spent, and written so that a failure names the file.</summary>
internal static class OutputFiles
{
    /// <summary>Fails with <see cref="ExitCodes.OutputError"/> when a file cannot be created at one of <paramref name="paths"/>.</summary>
    public static void CheckWritable(IEnumerable<string> paths)
    {
        foreach (string path in paths)
        {
            string full = Path.GetFullPath(path);
            if (Directory.Exists(full))
                throw new CliException(ExitCodes.OutputError, $"cannot write '{path}': it is a folder. Give a file name such as {Path.Combine(path, "out.wav")}.");
            string folder = Path.GetDirectoryName(full)!;
            if (!Directory.Exists(folder))
                throw new CliException(ExitCodes.OutputError, $"cannot write '{path}': the folder '{folder}' does not exist.");
            try
            {
                // The real file is written later through a temporary file in the same folder; probe that now.
                using var probe = new FileStream(full + "." + Guid.NewGuid().ToString("N")[..8] + ".probe", FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new CliException(ExitCodes.OutputError, $"cannot write '{path}': {e.Message}");
            }
        }
    }

    /// <summary>Runs an (atomic) writer for <paramref name="path"/>, turning its failures into <see cref="ExitCodes.OutputError"/>.</summary>
    public static void Write(string path, Action<string> write)
    {
        try
        {
            write(path);
        }
        catch (Exception e) when (e is BarkException or IOException or UnauthorizedAccessException)
        {
            throw new CliException(ExitCodes.OutputError, e is BarkException ? e.Message : $"cannot write '{path}': {e.Message}", e);
        }
    }
}
