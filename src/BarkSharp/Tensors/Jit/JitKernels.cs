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
    public static JitKernelKind KindFor(WeightType type) => _enabled ? CpuFeatures.Choose(Isa, type) : JitKernelKind.None;

    /// <summary>One line for <c>bark info</c> / <c>bark bench</c>: which generated kernels serve which weight types.</summary>
    public static string Describe()
    {
        if (!_enabled) return "off (managed kernels)";
        JitKernelKind int8 = KindFor(WeightType.Int8), bf16 = KindFor(WeightType.BFloat16);
        return $"int8: {Name(int8)}, bf16: {Name(bf16)}";

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

    /// <summary>Every mapping made (kept alive for the process; tests inspect their protection).</summary>
    internal static readonly List<ExecutableMemory> Mappings = [];
}
