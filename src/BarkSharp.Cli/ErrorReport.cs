namespace BarkSharp.Cli;

/// <summary>An error a command reports with its own exit code and message.</summary>
internal sealed class CliException(int exitCode, string message, Exception? innerException = null) : Exception(message, innerException)
{
    /// <summary>The process exit code.</summary>
    public int ExitCode { get; } = exitCode;
}

/// <summary>Turns an exception into one message for a person and an exit code (<see cref="ExitCodes"/>).</summary>
internal static class ErrorReport
{
    public static async Task<int> WriteAsync(TextWriter error, Exception e, CancellationToken cancellationToken)
    {
        (int code, string message) = e switch
        {
            OperationCanceledException when cancellationToken.IsCancellationRequested => (ExitCodes.Cancelled, "cancelled; no output was written."),
            CliException c => (c.ExitCode, c.Message),
            BarkOutputException => (ExitCodes.OutputError, e.Message),
            BarkVoiceException or BarkInputException => (ExitCodes.Usage, e.Message),
            ArgumentException a => (ExitCodes.Usage, WithoutParameterName(a)),
            BarkHubException { Kind: HubErrorKind.InvalidOptions } => (ExitCodes.Usage, e.Message),
            BarkHubException or BarkException => (ExitCodes.ModelUnavailable, e.Message),
            _ => (ExitCodes.InternalError, $"internal error ({e.GetType().Name}): {e.Message}\nThis is a bug in BarkSharp; please report it with the command you ran.\n{e.StackTrace}"),
        };
        await error.WriteLineAsync("bark: " + message);
        return code;
    }

    /// <summary>An argument error's message without the " (Parameter 'name')" .NET appends: people never see code's names.</summary>
    private static string WithoutParameterName(ArgumentException e) =>
        e.ParamName is { } name ? e.Message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal) : e.Message;
}
