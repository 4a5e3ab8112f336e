namespace BarkSharp.Cli;

/// <summary>The exit codes of <c>bark</c>.</summary>
public static class ExitCodes
{
    /// <summary>Done.</summary>
    public const int Success = 0;

    /// <summary>An unexpected internal error (a bug: please report it with the message).</summary>
    public const int InternalError = 1;

    /// <summary>
    /// Bad command line or input: unknown option, invalid or out-of-range value, empty text, unreadable text file,
    /// unknown or empty voice, a model that is neither a folder nor a repository id, a malformed revision, or a bad
    /// environment variable (HF_ENDPOINT, HF_HUB_OFFLINE, a cache folder that cannot be written).
    /// </summary>
    public const int Usage = 2;

    /// <summary>The model cannot be had: not found, offline or unreachable and not cached, access denied, corrupt or unreadable files, a config.json that does not fit the weights.</summary>
    public const int ModelUnavailable = 3;

    /// <summary>An output file cannot be written: missing folder, a folder, block device or socket, permission denied, disk full, a reader gone, two outputs with one name.</summary>
    public const int OutputError = 4;

    /// <summary>Cancelled with Ctrl+C (128 + SIGINT, as shells report it); nothing was written.</summary>
    public const int Cancelled = 130;
}
