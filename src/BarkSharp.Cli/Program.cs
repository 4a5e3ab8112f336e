using System.CommandLine;
using BarkSharp.Cli.Commands;

namespace BarkSharp.Cli;

/// <summary>The <c>bark</c> command: text to speech with Bark from the command line.</summary>
public static class Program
{
    /// <summary>Process entry point: runs the command on the real console; the first Ctrl+C cancels cleanly, a second one kills.</summary>
    public static async Task<int> Main(string[] args)
    {
        using var cancel = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            if (cancel.IsCancellationRequested) return; // second Ctrl+C: let the runtime end the process
            e.Cancel = true;
            cancel.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        try
        {
            return await RunAsync(args, CliContext.FromConsole(), cancel.Token);
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }

    /// <summary>
    /// Runs the command line <paramref name="args"/> in-process, writing results to <paramref name="output"/> and progress
    /// and errors to <paramref name="error"/> (plain lines, no terminal control), reading stdin from <paramref name="input"/>
    /// when given, and environment variables through <paramref name="environment"/> (the process environment when null).
    /// </summary>
    /// <returns>The exit code; see <see cref="ExitCodes"/>.</returns>
    /// <param name="args">The command line.</param>
    /// <param name="output">Results.</param>
    /// <param name="error">Progress and errors.</param>
    /// <param name="input">Standard input, or null for a terminal.</param>
    /// <param name="environment">Environment variables.</param>
    /// <param name="standardOutput">Where audio written with <c>-o -</c> goes (binary standard output), or null when there is none.</param>
    /// <param name="cancellationToken">Cancels the command as Ctrl+C does.</param>
    public static Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, TextReader? input = null,
        Func<string, string?>? environment = null, Stream? standardOutput = null, CancellationToken cancellationToken = default) =>
        RunAsync(args, new CliContext(output, error, input, environment ?? Environment.GetEnvironmentVariable, isTerminal: false,
            standardOutput is null ? null : () => standardOutput), cancellationToken);

    private static async Task<int> RunAsync(string[] args, CliContext context, CancellationToken cancellationToken)
    {
        RootCommand root = BuildCommand(context);
        ParseResult parsed = root.Parse(args);
        IEnumerable<string> errors = parsed.Errors.Select(e => ForPeople(e.Message)).Concat(StrayOptions(parsed));
        if (errors.Any())
        {
            foreach (string e in errors) await context.Error.WriteLineAsync("bark: " + e);
            await context.Error.WriteLineAsync("Run 'bark --help' (or 'bark COMMAND --help') for usage.");
            return ExitCodes.Usage;
        }
        var invocation = new InvocationConfiguration { Output = context.Out, Error = context.Error, EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null };
        try
        {
            return await parsed.InvokeAsync(invocation, cancellationToken);
        }
        catch (Exception e)
        {
            return await ErrorReport.WriteAsync(context.Error, e, cancellationToken);
        }
    }

    /// <summary>
    /// System.CommandLine's "Cannot parse argument 'x' for option '--o' as expected type 'System.Nullable`1[System.Int32]'"
    /// as a sentence without .NET type names (options with their own parsers never get here; this covers the rest).
    /// </summary>
    internal static string ForPeople(string message)
    {
        System.Text.RegularExpressions.Match m = System.Text.RegularExpressions.Regex.Match(message,
            @"^Cannot parse argument '(?<value>.*)' for (?<kind>option|command|argument) '(?<name>[^']*)' as expected type '(?<type>[^']*)'\.?$");
        if (!m.Success) return message;
        string type = m.Groups["type"].Value;
        string expected = type.Contains("Boolean", StringComparison.Ordinal) ? "true or false"
            : type.Contains("Int", StringComparison.Ordinal) ? "a whole number"
            : type.Contains("Double", StringComparison.Ordinal) || type.Contains("Single", StringComparison.Ordinal) ? "a number"
            : "another value (see --help)";
        string what = m.Groups["kind"].Value == "option" ? m.Groups["name"].Value : $"the {m.Groups["name"].Value} argument";
        return $"{what} takes {expected}, not '{m.Groups["value"].Value}'.";
    }

    /// <summary>
    /// Misspelled options that a text argument swallowed (<c>bark say hi --sed 1</c>): option-like tokens given to a
    /// command's arguments before any <c>--</c>. Text that really starts with a dash goes after <c>--</c>.
    /// </summary>
    private static IEnumerable<string> StrayOptions(ParseResult parsed)
    {
        int doubleDash = parsed.Tokens.ToList().FindIndex(t => t.Type == System.CommandLine.Parsing.TokenType.DoubleDash);
        IEnumerable<System.CommandLine.Parsing.Token> before = doubleDash < 0 ? parsed.Tokens : parsed.Tokens.Take(doubleDash);
        var argumentTokens = parsed.CommandResult.Children.OfType<System.CommandLine.Parsing.ArgumentResult>().SelectMany(a => a.Tokens).ToHashSet();
        return before.Where(t => argumentTokens.Contains(t) && t.Value.Length > 1 && t.Value[0] == '-' && !char.IsAsciiDigit(t.Value[1]) && t.Value[1] != '.')
            .Select(t => $"unknown option '{t.Value}' (text that starts with '-' goes after --, as in: bark say -- \"{t.Value}\").");
    }

    /// <summary>The command tree. Each subcommand lives in its own file under Commands/.</summary>
    internal static RootCommand BuildCommand(CliContext context)
    {
        var root = new RootCommand("Bark text-to-audio (suno/bark-small, suno/bark) in pure managed .NET.\n" +
                                   "Example: bark say \"Hello from Bark\" -o hello.wav");
        root.Subcommands.Add(SayCommand.Create(context));
        root.Subcommands.Add(BenchCommand.Create(context));
        root.Subcommands.Add(TokenizeCommand.Create(context));
        root.Subcommands.Add(DecodeCommand.Create(context));
        root.Subcommands.Add(CloneCommand.Create(context));
        root.Subcommands.Add(DownloadCommand.Create(context));
        root.Subcommands.Add(VoicesCommand.Create(context));
        root.Subcommands.Add(InfoCommand.Create(context));
        root.Subcommands.Add(ServeCommand.Create(context));
        return root;
    }
}
