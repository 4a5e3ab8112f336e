using System.Diagnostics;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using BarkSharp.Tensors;

namespace BarkSharp.Diagnostics;

/// <summary>Short measurements of this machine's limits: fused multiply-add and int8 dot-product throughput, memory read bandwidth.</summary>
internal static class MachineProbe
{
    /// <summary>
    /// The vector path BarkSharp's kernels run on this machine: <c>AVX-512</c>, <c>AVX2</c> or <c>Vector128</c> (Arm64
    /// NEON, or x86 without AVX2, where it adds "(FMA emulated)": .NET 10 then reports no FMA instruction).
    /// </summary>
    public static string VectorPath => Simd.Describe(Simd.Detected);

    /// <summary>
    /// The machine-code kernels assembled at run time that multiply int8 and bf16 weights here (512-bit
    /// <c>vpdpbusd</c>, <c>vdpbf16ps</c>), or <c>managed</c> per type, with the CPU extensions detected; <c>off</c>
    /// when disabled (<c>BARKSHARP_JIT=0</c>, <see cref="BarkModelOptions.UseJitKernels"/>).
    /// </summary>
    public static string GeneratedKernels => $"{Tensors.Jit.JitKernels.Describe()} [{Tensors.Jit.CpuFeatures.Describe(Tensors.Jit.JitKernels.Isa)}]";

    /// <summary>
    /// Peak float32 FMA throughput in GFLOP/s with <paramref name="threads"/> threads, measured with independent
    /// register-resident FMA chains on the kernels' own vector path (<see cref="VectorPath"/>), about 0.3 s.
    /// </summary>
    public static double FmaGflops(int threads) => Simd.Detected switch
    {
        Tensors.VectorPath.Vector512 => Peak(threads, FmaLoop<Simd512, Vector512<float>>),
        Tensors.VectorPath.Vector256 => Peak(threads, FmaLoop<Simd256, Vector256<float>>),
        _ => Peak(threads, FmaLoop<Simd128, Vector128<float>>),
    };

    /// <summary>
    /// Peak int8 dot-product throughput in GOP/s (a multiply and an add per byte pair) of the instruction the int8
    /// weights' prefill kernels use: 512-bit <c>vpdpbusd</c> (a generated loop) where the generated int8 kernel serves,
    /// else 256-bit AVX-VNNI; 0 where the CPU has neither (about 0.2 s). With AMX chosen this is still the
    /// <c>vpdpbusd</c> rate, a lower bound of the tile units' limit.
    /// </summary>
    public static double Int8Gops(int threads) => Int8Probe switch
    {
        "vpdpbusd zmm" => Peak(threads, Vnni512Loop),
        "vpdpbusd ymm" => Peak(threads, VnniLoop),
        _ => 0,
    };

    /// <summary>Which instruction <see cref="Int8Gops"/> times ("vpdpbusd zmm", "vpdpbusd ymm" or "none").</summary>
    public static string Int8Probe =>
        Tensors.Jit.JitKernels.KindFor(Tensors.WeightType.Int8) is Tensors.Jit.JitKernelKind.Vnni512 or Tensors.Jit.JitKernelKind.AmxInt8
            && Tensors.Jit.JitKernels.Isa.HasFlag(Tensors.Jit.JitIsa.Avx512 | Tensors.Jit.JitIsa.Avx512Vnni) ? "vpdpbusd zmm"
        : AvxVnni.IsSupported ? "vpdpbusd ymm" : "none";

    private static readonly Lazy<Tensors.Jit.ExecutableMemory> Vnni512Code =
        new(() => Tensors.Jit.ExecutableMemory.Create(Tensors.Jit.PanelKernels.GenerateVnniPeakLoop(OperatingSystem.IsWindows())));

    private static unsafe long Vnni512Loop(long iterations)
    {
        ((delegate* unmanaged[Cdecl]<long, void>)Vnni512Code.Value.Address)(iterations);
        return iterations * 12 * 64 * 2;
    }

    private static double Peak(int threads, Func<long, long> loop)
    {
        double best = 0;
        for (int trial = 0; trial < 3; trial++)
        {
            long iterations = 4_000_000;
            var clock = Stopwatch.StartNew();
            long opsPerThread = 0;
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t => opsPerThread = loop(iterations));
            double seconds = clock.Elapsed.TotalSeconds;
            best = Math.Max(best, opsPerThread * (double)threads / seconds / 1e9);
        }
        return best;
    }

    /// <summary>Memory read bandwidth in GB/s with <paramref name="threads"/> threads, summing a 256 MiB buffer (about 0.5 s).</summary>
    public static double ReadGBs(int threads)
    {
        var data = new float[64 * 1024 * 1024];
        for (int i = 0; i < data.Length; i += 1024) data[i] = i;   // touch every page
        double best = 0;
        for (int trial = 0; trial < 4; trial++)
        {
            var clock = Stopwatch.StartNew();
            int chunk = data.Length / threads;
            var sums = new float[threads];
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
                sums[t] = System.Numerics.Tensors.TensorPrimitives.Sum(data.AsSpan(t * chunk, chunk)));
            double seconds = clock.Elapsed.TotalSeconds;
            best = Math.Max(best, data.Length * 4.0 / seconds / 1e9);
            GC.KeepAlive(sums);
        }
        return best;
    }

    /// <summary>A one-line description of the CPU (model name from /proc/cpuinfo where available).</summary>
    public static string CpuName()
    {
        try
        {
            if (File.Exists("/proc/cpuinfo"))
                foreach (string line in File.ReadLines("/proc/cpuinfo"))
                    if (line.StartsWith("model name", StringComparison.Ordinal))
                        return line[(line.IndexOf(':') + 1)..].Trim() + $" ({Environment.ProcessorCount} logical CPUs, {VectorDescription()})";
        }
        catch (IOException)
        {
        }
        return $"{System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture} ({Environment.ProcessorCount} logical CPUs, {VectorDescription()})";
    }

    private static string VectorDescription() => VectorPath;

    private static long VnniLoop(long iterations)
    {
        Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default;
        Vector256<int> a6 = default, a7 = default, a8 = default, a9 = default, a10 = default, a11 = default;
        Vector256<byte> u = Vector256.Create((byte)3);
        Vector256<sbyte> s = Vector256.Create((sbyte)-2);
        for (long i = 0; i < iterations; i++)
        {
            a0 = AvxVnni.MultiplyWideningAndAdd(a0, u, s); a1 = AvxVnni.MultiplyWideningAndAdd(a1, u, s);
            a2 = AvxVnni.MultiplyWideningAndAdd(a2, u, s); a3 = AvxVnni.MultiplyWideningAndAdd(a3, u, s);
            a4 = AvxVnni.MultiplyWideningAndAdd(a4, u, s); a5 = AvxVnni.MultiplyWideningAndAdd(a5, u, s);
            a6 = AvxVnni.MultiplyWideningAndAdd(a6, u, s); a7 = AvxVnni.MultiplyWideningAndAdd(a7, u, s);
            a8 = AvxVnni.MultiplyWideningAndAdd(a8, u, s); a9 = AvxVnni.MultiplyWideningAndAdd(a9, u, s);
            a10 = AvxVnni.MultiplyWideningAndAdd(a10, u, s); a11 = AvxVnni.MultiplyWideningAndAdd(a11, u, s);
        }
        GC.KeepAlive(Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11));
        return iterations * 12 * 32 * 2;
    }

    private static float s_sink;

    private static unsafe long FmaLoop<TSimd, TVec>(long iterations)
        where TSimd : struct, ISimd<TVec>
        where TVec : struct
    {
        TVec a0 = TSimd.Broadcast(1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        TVec m = TSimd.Broadcast(0.9999999f), c = TSimd.Broadcast(1e-7f);
        for (long i = 0; i < iterations; i++)
        {
            a0 = TSimd.Fma(a0, m, c); a1 = TSimd.Fma(a1, m, c);
            a2 = TSimd.Fma(a2, m, c); a3 = TSimd.Fma(a3, m, c);
            a4 = TSimd.Fma(a4, m, c); a5 = TSimd.Fma(a5, m, c);
            a6 = TSimd.Fma(a6, m, c); a7 = TSimd.Fma(a7, m, c);
        }
        float* sum = stackalloc float[16];
        TSimd.Store(TSimd.Add(TSimd.Add(TSimd.Add(a0, a1), TSimd.Add(a2, a3)), TSimd.Add(TSimd.Add(a4, a5), TSimd.Add(a6, a7))), sum);
        Volatile.Write(ref s_sink, sum[0]);                 // the chains' results are used, so the loop stays
        return iterations * 8 * TSimd.Count * 2;
    }
}
