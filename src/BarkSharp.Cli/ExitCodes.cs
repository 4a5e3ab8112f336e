namespace BarkSharp.Cli;

/// <summary>The exit codes of <c>bark</c>.</summary>
public static class ExitCodes
{
    /// <summary>Done.</summary>
    public const int Success = 0;

    /// <summary>An unexpected internal error (a bug: please report it with the message).</summary>
    public const int InternalError = 1;

    /// <summary>Bad command line or input: unknown option, empty text, unknown voice, invalid value.</summary>
    public const int Usage = 2;

    /// <summary>The model cannot be had: not found, offline and not cached, network error, corrupt or unreadable files.</summary>
    public const int ModelUnavailable = 3;

    /// <summary>An output file cannot be written.</summary>
    public const int OutputError = 4;

    /// <summary>Cancelled with Ctrl+C (128 + SIGINT, as shells report it); nothing was written.</summary>
    public const int Cancelled = 130;
}
