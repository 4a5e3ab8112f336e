using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace BarkSharp.Tests.Infrastructure;

/// <summary>
/// The test assembly's entry point: runs its own tests in this process with xunit's execution engine, without VSTest.
/// <c>dotnet test</c> never calls it (VSTest loads the assembly as a library); it exists for runtimes VSTest cannot
/// start a test host on, such as the linux-arm64 runtime under qemu-user (<c>.ci/arm64-kernels</c>):
/// <c>BarkSharp.Tests --filter "FullyQualifiedName~A|FullyQualifiedName~B"</c> runs the tests whose full name
/// (namespace, class, method) contains one of the given strings, like <c>dotnet test --filter</c> with <c>~</c>.
/// Exits with 0 only when at least one test ran and none failed.
/// </summary>
internal static class InProcessRunner
{
    private static int Main(string[] args)
    {
        var contains = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--filter" && i + 1 < args.Length)
            {
                foreach (string part in args[++i].Split('|', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                {
                    const string prefix = "FullyQualifiedName~";
                    if (!part.StartsWith(prefix, StringComparison.Ordinal))
                    {
                        Console.Error.WriteLine($"unsupported filter term '{part}' (only {prefix}<text>, joined with |)");
                        return 2;
                    }
                    contains.Add(part[prefix.Length..]);
                }
            }
            else
            {
                Console.Error.WriteLine("usage: BarkSharp.Tests [--filter \"FullyQualifiedName~<text>|...\"]");
                return 2;
            }
        }

        Console.WriteLine($"{RuntimeInformation.FrameworkDescription} {RuntimeInformation.ProcessArchitecture}; vectors accelerated: " +
            $"128-bit {Vector128.IsHardwareAccelerated}, 256-bit {Vector256.IsHardwareAccelerated}, 512-bit {Vector512.IsHardwareAccelerated}");
        Assembly assembly = typeof(InProcessRunner).Assembly;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var diagnostics = new Sink();
        using var framework = new XunitTestFramework(diagnostics);

        var discovery = new Sink();
        using (ITestFrameworkDiscoverer discoverer = framework.GetDiscoverer(Reflector.Wrap(assembly)))
        {
            discoverer.Find(includeSourceInformation: false, discovery, new Options());
            discovery.Finished.WaitOne();
        }
        List<ITestCase> cases = discovery.Discovered
            .Where(c => contains.Count == 0 || contains.Any(s => FullName(c).Contains(s, StringComparison.Ordinal)))
            .ToList();
        Console.WriteLine($"{cases.Count} of {discovery.Discovered.Count} test cases match; running them");

        var execution = new Sink();
        using (ITestFrameworkExecutor executor = framework.GetExecutor(assembly.GetName()))
        {
            executor.RunTests(cases, execution, new Options());
            execution.Finished.WaitOne();
        }
        Console.WriteLine($"passed {execution.Passed}, failed {execution.Failed}, skipped {execution.Skipped}, errors {execution.Errors} ({clock.Elapsed.TotalSeconds:F1} s)");
        return execution.Failed == 0 && execution.Errors == 0 && execution.Passed > 0 ? 0 : 1;
    }

    /// <summary>What VSTest calls the fully qualified name of an xunit test: namespace.class.method.</summary>
    private static string FullName(ITestCase c) => $"{c.TestMethod.TestClass.Class.Name}.{c.TestMethod.Method.Name}";

    /// <summary>Discovery and execution options: xunit's defaults (parallel test collections, pre-enumerated theories).</summary>
    private sealed class Options : ITestFrameworkDiscoveryOptions, ITestFrameworkExecutionOptions
    {
        private readonly Dictionary<string, object?> _values = [];

        public TValue GetValue<TValue>(string name) => _values.TryGetValue(name, out object? v) && v is TValue t ? t : default!;

        public void SetValue<TValue>(string name, TValue value) => _values[name] = value;
    }

    /// <summary>Collects discovered cases and prints results as they arrive.</summary>
    private sealed class Sink : LongLivedMarshalByRefObject, IMessageSink
    {
        private readonly Lock _gate = new();

        public List<ITestCase> Discovered { get; } = [];

        public ManualResetEvent Finished { get; } = new(false);

        public int Passed { get; private set; }

        public int Failed { get; private set; }

        public int Skipped { get; private set; }

        public int Errors { get; private set; }

        public bool OnMessage(IMessageSinkMessage message)
        {
            lock (_gate)
            {
                switch (message)
                {
                    case ITestCaseDiscoveryMessage found:
                        Discovered.Add(found.TestCase);
                        break;
                    case IDiscoveryCompleteMessage:
                    case ITestAssemblyFinished:
                        Finished.Set();
                        break;
                    case ITestPassed passed:
                        Passed++;
                        Console.WriteLine($"  passed  {passed.Test.DisplayName} ({passed.ExecutionTime:F2} s)");
                        break;
                    case ITestFailed failed:
                        Failed++;
                        Console.WriteLine($"  FAILED  {failed.Test.DisplayName}");
                        Console.WriteLine(Indent(string.Join(Environment.NewLine, failed.Messages)));
                        Console.WriteLine(Indent(string.Join(Environment.NewLine, failed.StackTraces)));
                        if (failed.Output is { Length: > 0 } output) Console.WriteLine(Indent(output));
                        break;
                    case ITestSkipped skipped:
                        Skipped++;
                        Console.WriteLine($"  skipped {skipped.Test.DisplayName}: {skipped.Reason}");
                        break;
                    case IErrorMessage error:
                        Errors++;
                        Console.WriteLine($"  ERROR   {string.Join(Environment.NewLine, error.Messages)}");
                        Console.WriteLine(Indent(string.Join(Environment.NewLine, error.StackTraces)));
                        break;
                    case ITestClassCleanupFailure or ITestCollectionCleanupFailure or ITestCleanupFailure or ITestCaseCleanupFailure:
                        Errors++;
                        Console.WriteLine($"  ERROR   cleanup: {string.Join(Environment.NewLine, ((IFailureInformation)message).Messages)}");
                        break;
                }
            }
            return true;
        }

        private static string Indent(string text) => "      " + text.Replace("\n", "\n      ", StringComparison.Ordinal);
    }
}
