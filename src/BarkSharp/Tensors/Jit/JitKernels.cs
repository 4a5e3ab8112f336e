using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace BarkSharp.Tensors.Jit;

/// <summary>
/// The generated kernels of this process: the CPU's extensions detected once, each kernel assembled on first use into
/// executable memory and kept for the process's lifetime. <see cref="Enabled"/> switches them off
/// (<c>BARKSHARP_JIT=0</c>, <see cref="BarkModelOptions.UseJitKernels"/>, <c>--no-jit-kernels</c>); the managed
/// kernels then run, and they stay the reference the generated ones are tested against.
/// </summary>
internal static unsafe class JitKernels
{
    private static readonly Lazy<JitIsa> DetectedIsa = new(CpuFeatures.Detect);
    private static readonly ConcurrentDictionary<(JitKernelKind, int), nint> Panels = new();
    private static readonly Lock Gate = new();
    private static volatile bool _enabled = Environment.GetEnvironmentVariable("BARKSHARP_JIT") != "0";

    /// <summary>Whether generated kernels may run (default: yes unless <c>BARKSHARP_JIT=0</c>).</summary>
    public static bool Enabled
    {
        get => _enabled;
        set => _enabled = value;
    }

    /// <summary>The extensions this machine and OS provide.</summary>
    public static JitIsa Isa => DetectedIsa.Value;

    /// <summary>The kernel that multiplies <paramref name="type"/> now (None when disabled or unsupported).</summary>
    public static JitKernelKind KindFor(WeightType type) => _enabled ? CpuFeatures.Choose(Isa, type, AmxState.Value.Use) : JitKernelKind.None;

    private static readonly Lazy<(bool Use, string Note)> AmxState = new(CheckAmx);

    /// <summary>Why AMX is not used on an AMX machine (empty when it is, or when the CPU has none).</summary>
    public static string AmxNote => AmxState.Value.Note;

    /// <summary>
    /// Whether AMX serves: the CPU and OS have it, <c>BARKSHARP_AMX</c> is not 0, and a small product through the real
    /// kernels equals the managed reference (<see cref="AmxSelfCheck"/>); otherwise the AVX-512 kernels stay, with a note.
    /// </summary>
    private static (bool Use, string Note) CheckAmx()
    {
        JitIsa isa = Isa;
        if (!isa.HasFlag(JitIsa.AmxTile)) return (false, "");
        if (!isa.HasFlag(JitIsa.AmxOs)) return (false, "AMX not enabled by the OS");
        if (Environment.GetEnvironmentVariable("BARKSHARP_AMX") == "0") return (false, "AMX off (BARKSHARP_AMX=0)");
        string? failure;
        try
        {
            failure = AmxSelfCheck(HardwareAmxExecutor.Instance, isa);
        }
        catch (Exception e) when (e is InvalidOperationException or PlatformNotSupportedException)
        {
            failure = e.Message;
        }
        return failure is null ? (true, "") : (false, $"AMX self-check failed, not used: {failure}");
    }

    /// <summary>
    /// A 17-row product of 40 × 70 weights through the AMX path (every kind <paramref name="isa"/> has) against the
    /// managed kernels: int8 must be bit-identical, bf16 within bf16 rounding of the activations. Null when it holds.
    /// </summary>
    internal static string? AmxSelfCheck(IAmxExecutor amx, JitIsa isa)
    {
        const int n = 17, rows = 40, cols = 70;
        var rng = new Random(17);
        float[] w = new float[rows * cols], x = new float[n * cols], bias = new float[rows];
        for (int i = 0; i < w.Length; i++) w[i] = rng.NextSingle() - 0.5f;
        for (int i = 0; i < x.Length; i++) x[i] = rng.NextSingle() * 2 - 1;
        for (int i = 0; i < rows; i++) bias[i] = rng.NextSingle();
        float[] got = new float[n * rows], expected = new float[n * rows];
        if (isa.HasFlag(JitIsa.AmxInt8))
        {
            var m = WeightMatrix.FromFloat32(w, rows, cols, bias, WeightType.Int8);
            MatMul.MultiplyJit(x, n, m, 0, rows, got, 1, JitKernelKind.AmxInt8, amx);
            MatMul.MultiplyRows(x, n, m, 0, rows, expected, 1, MatMul.BestInt8Kernel);
            for (int i = 0; i < got.Length; i++)
                if (BitConverter.SingleToInt32Bits(got[i]) != BitConverter.SingleToInt32Bits(expected[i]))
                    return $"int8 output {i}: {got[i]} != {expected[i]}";
        }
        if (isa.HasFlag(JitIsa.AmxBf16))
        {
            var m = WeightMatrix.FromFloat32(w, rows, cols, bias, WeightType.BFloat16);
            MatMul.MultiplyJit(x, n, m, 0, rows, got, 1, JitKernelKind.AmxBf16, amx);
            MatMul.MultiplyRows(x, n, m, 0, rows, expected, 1, MatMul.BestInt8Kernel);
            var row = new float[cols];
            for (int j = 0; j < rows; j++)
            {
                m.CopyRow(j, row);
                for (int i = 0; i < n; i++)
                {
                    float magnitude = 0;
                    for (int k = 0; k < cols; k++) magnitude += Math.Abs(x[i * cols + k] * row[k]);
                    if (!(Math.Abs(got[i * rows + j] - expected[i * rows + j]) <= magnitude / 128 + 1e-6f))
                        return $"bf16 output ({i}, {j}): {got[i * rows + j]} vs {expected[i * rows + j]}";
                }
            }
        }
        return null;
    }

    /// <summary>One line for <c>bark info</c> / <c>bark bench</c>: which generated kernels serve which weight types.</summary>
    public static string Describe()
    {
        if (!_enabled) return "off (managed kernels)";
        JitKernelKind int8 = KindFor(WeightType.Int8), bf16 = KindFor(WeightType.BFloat16);
        string note = AmxNote;
        string attention = bf16 != JitKernelKind.None && Attention.Bf16Supported(64) ? ", bf16 attention: vdpbf16ps zmm (generated)" : "";
        string int8Name = int8 == JitKernelKind.None ? $"managed ({MatMul.Int8KernelName(MatMul.BestInt8Kernel)})" : Name(int8);
        return $"int8: {int8Name}, bf16: {Name(bf16)}{attention}" + (note.Length > 0 ? $" ({note})" : "");

        static string Name(JitKernelKind kind) => kind switch
        {
            JitKernelKind.Vnni512 => "vpdpbusd zmm (generated)",
            JitKernelKind.Bf16Avx512 => "vdpbf16ps zmm (generated)",
            JitKernelKind.AmxInt8 => "AMX tdpbusd (generated)",
            JitKernelKind.AmxBf16 => "AMX tdpbf16ps (generated)",
            _ => "managed",
        };
    }

    /// <summary>The panel kernel of <paramref name="kind"/> for <paramref name="rows"/> rows, assembled on first use.</summary>
    public static delegate* unmanaged[Cdecl]<PanelKernelArgs*, void> Panel(JitKernelKind kind, int rows)
    {
        if (Panels.TryGetValue((kind, rows), out nint address)) return (delegate* unmanaged[Cdecl]<PanelKernelArgs*, void>)address;
        lock (Gate)
        {
            if (!Panels.TryGetValue((kind, rows), out address))
            {
                // All row counts of a kind in one mapping, each kernel 64-byte aligned.
                var blobs = new byte[PanelKernels.MaxRows][];
                int size = 0;
                for (int r = 1; r <= PanelKernels.MaxRows; r++)
                {
                    blobs[r - 1] = PanelKernels.Generate(kind, r, OperatingSystem.IsWindows());
                    size += (blobs[r - 1].Length + 63) & ~63;
                }
                var image = new byte[size];
                var offsets = new int[PanelKernels.MaxRows];
                for (int r = 0, at = 0; r < PanelKernels.MaxRows; r++)
                {
                    offsets[r] = at;
                    blobs[r].CopyTo(image, at);
                    at += (blobs[r].Length + 63) & ~63;
                }
                ExecutableMemory memory = ExecutableMemory.Create(image);
                Mappings.Add(memory);
                for (int r = 1; r <= PanelKernels.MaxRows; r++) Panels[(kind, r)] = memory.Address + offsets[r - 1];
                address = Panels[(kind, rows)];
            }
        }
        return (delegate* unmanaged[Cdecl]<PanelKernelArgs*, void>)address;
    }

    private static readonly Lazy<nint> Bf16DecodeCode = new(CreateBf16Decode);

    private static nint CreateBf16Decode()
    {
        ExecutableMemory memory = ExecutableMemory.Create(PanelKernels.GenerateBf16Decode(OperatingSystem.IsWindows()));
        lock (Gate) Mappings.Add(memory);
        return memory.Address;
    }

    /// <summary>The one-row bf16 kernel over <see cref="PanelKernels.DecodePanels"/> panels, assembled on first use.</summary>
    public static delegate* unmanaged[Cdecl]<PanelKernelArgs*, void> Bf16Decode => (delegate* unmanaged[Cdecl]<PanelKernelArgs*, void>)Bf16DecodeCode.Value;

    /// <summary>Whether one-row bf16 products take <see cref="Bf16Decode"/> (default; false: one panel per call, for A/B benchmarks and tests).</summary>
    public static bool WideBf16Decode { get; set; } = true;

    /// <summary>
    /// Whether models with bf16 weights attend in bf16 arithmetic (<see cref="Attention.ForwardBf16"/>) where the CPU
    /// has AVX512-BF16 (default; false, or <c>BARKSHARP_BF16_ATTENTION=0</c>: float32 arithmetic over the same
    /// bfloat16 cache, for A/B benchmarks and accuracy tests).
    /// </summary>
    public static bool Bf16Attention { get; set; } = Environment.GetEnvironmentVariable("BARKSHARP_BF16_ATTENTION") != "0";

    private static readonly ConcurrentDictionary<(JitKernelKind, int), nint> AmxCode = new();

    /// <summary>The AMX kernel of <paramref name="kind"/> for <paramref name="rowTiles"/> row tiles, assembled on first use.</summary>
    public static delegate* unmanaged[Cdecl]<AmxKernelArgs*, void> Amx(JitKernelKind kind, int rowTiles)
    {
        if (AmxCode.TryGetValue((kind, rowTiles), out nint address)) return (delegate* unmanaged[Cdecl]<AmxKernelArgs*, void>)address;
        lock (Gate)
        {
            if (!AmxCode.TryGetValue((kind, rowTiles), out address))
            {
                ExecutableMemory memory = ExecutableMemory.Create(AmxKernels.Generate(kind, rowTiles, OperatingSystem.IsWindows()));
                Mappings.Add(memory);
                AmxCode[(kind, rowTiles)] = address = memory.Address;
            }
        }
        return (delegate* unmanaged[Cdecl]<AmxKernelArgs*, void>)address;
    }

    /// <summary>Every mapping made (kept alive for the process; tests inspect their protection).</summary>
    internal static readonly List<ExecutableMemory> Mappings = [];
}
