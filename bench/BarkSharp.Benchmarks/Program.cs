using BarkSharp.Diagnostics;
using BenchmarkDotNet.Running;

// `stages [--shape bark-small|bark] [--threads N] [--batch B] [--json]` runs the fixed Bark workload;
// anything else goes to BenchmarkDotNet (e.g. `--filter *MatMul*`).
if (args.Length > 0 && args[0] == "stages")
{
    string Arg(string name, string fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
    }
    var options = new BenchmarkOptions
    {
        Shape = Arg("--shape", "bark-small"),
        Threads = int.Parse(Arg("--threads", Environment.ProcessorCount.ToString())),
        Batch = int.Parse(Arg("--batch", "1")),
    };
    BenchmarkReport report = BarkBenchmark.Run(options, new Progress<string>(Console.Error.WriteLine));
    Console.WriteLine(report.ToJson());
    return 0;
}
if (args.Length > 0 && args[0] == "probe")
{
    for (int i = 0; i < 3; i++)
        Console.WriteLine($"fma 1t {MachineProbe.FmaGflops(1):F1}  2t {MachineProbe.FmaGflops(2):F1}  read 1t {MachineProbe.ReadGBs(1):F1}  2t {MachineProbe.ReadGBs(2):F1}");
    return 0;
}
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
