using BarkSharp.Hub;

namespace BarkSharp.Cli;

/// <summary>What a command talks to: output and error writers, stdin, environment variables, and whether a person watches a terminal.</summary>
internal sealed class CliContext(TextWriter output, TextWriter error, TextReader? input, Func<string, string?> environment, bool isTerminal,
    Func<Stream>? openStandardOutput = null)
{
    /// <summary>Results (stats, JSON, lists).</summary>
    public TextWriter Out { get; } = output;

    /// <summary>Progress and error messages.</summary>
    public TextWriter Error { get; } = error;

    /// <summary>Standard input when it is redirected (a pipe or file); null when it is a terminal or not available.</summary>
    public TextReader? Input { get; } = input;

    /// <summary>Reads an environment variable.</summary>
    public Func<string, string?> Environment { get; } = environment;

    /// <summary>Both stdout and stderr are a terminal: live progress bars instead of plain lines.</summary>
    public bool IsTerminal { get; } = isTerminal;

    /// <summary>Standard output as a byte stream, for audio written with <c>-o -</c> (<see cref="Out"/> is flushed first).</summary>
    public Stream OpenStandardOutput()
    {
        Out.Flush();
        return openStandardOutput?.Invoke() ?? throw new CliException(ExitCodes.OutputError, "-o - writes audio to standard output, which is not available here.");
    }

    /// <summary>The real console.</summary>
    public static CliContext FromConsole() => new(Console.Out, Console.Error, Console.IsInputRedirected ? Console.In : null,
        System.Environment.GetEnvironmentVariable, isTerminal: !Console.IsOutputRedirected && !Console.IsErrorRedirected, Console.OpenStandardOutput);

    /// <summary>Hub settings from the environment (HF_ENDPOINT, HF_TOKEN, HF_HUB_CACHE/HF_HOME, HF_HUB_OFFLINE) and a revision.</summary>
    public HubOptions Hub(string? revision = null, bool checkForUpdates = false) =>
        HubOptions.FromEnvironment(Environment) with { Revision = revision ?? HubOptions.DefaultRevision, CheckForUpdates = checkForUpdates };
}
