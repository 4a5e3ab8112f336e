using System.Runtime.Intrinsics.X86;

namespace BarkSharp.Tensors.Jit;

/// <summary>The instruction-set extensions the generated kernels use, as CPUID and the OS report them.</summary>
[Flags]
internal enum JitIsa
{
    /// <summary>None of them.</summary>
    None = 0,
    /// <summary>AVX-512 F and BW, enabled by the OS (zmm state saved).</summary>
    Avx512 = 1,
    /// <summary>AVX512-VNNI: <c>vpdpbusd zmm</c> (CPUID 7.0 ECX bit 11).</summary>
    Avx512Vnni = 2,
    /// <summary>AVX512-BF16: <c>vdpbf16ps</c>, <c>vcvtne2ps2bf16</c> (CPUID 7.1 EAX bit 5).</summary>
    Avx512Bf16 = 4,
    /// <summary>AMX-TILE (CPUID 7.0 EDX bit 24).</summary>
    AmxTile = 8,
    /// <summary>AMX-BF16: <c>tdpbf16ps</c> (CPUID 7.0 EDX bit 22).</summary>
    AmxBf16 = 16,
    /// <summary>AMX-INT8: <c>tdpbusd</c> (CPUID 7.0 EDX bit 25).</summary>
    AmxInt8 = 32,
    /// <summary>The OS saves the tile state (XCR0 bits 17 and 18) and, on Linux, granted the process its use.</summary>
    AmxOs = 64,
}

/// <summary>Which generated kernel multiplies a weight type, if any.</summary>
internal enum JitKernelKind
{
    /// <summary>The managed kernels.</summary>
    None,
    /// <summary>u8 × s8 → s32 with 512-bit <c>vpdpbusd</c>.</summary>
    Vnni512,
    /// <summary>bf16 × bf16 → f32 with 512-bit <c>vdpbf16ps</c>.</summary>
    Bf16Avx512,
    /// <summary>AMX int8 tiles (<c>tdpbusd</c>).</summary>
    AmxInt8,
    /// <summary>AMX bf16 tiles (<c>tdpbf16ps</c>).</summary>
    AmxBf16,
}

/// <summary>CPUID and OS checks, and the choice of kernel per weight type (a pure function of the flags, so tests fake them).</summary>
internal static class CpuFeatures
{
    /// <summary>
    /// The kernel for <paramref name="type"/> on a CPU with <paramref name="isa"/>. AMX needs <paramref name="allowAmx"/>
    /// too: <see cref="JitKernels"/> passes it once <c>BARKSHARP_AMX</c> is not 0 and the self-check on the real
    /// kernels matched the managed reference.
    /// </summary>
    public static JitKernelKind Choose(JitIsa isa, WeightType type, bool allowAmx = false)
    {
        bool amx = allowAmx && isa.HasFlag(JitIsa.AmxTile | JitIsa.AmxOs);
        return type switch
        {
            WeightType.Int8 when amx && isa.HasFlag(JitIsa.AmxInt8) => JitKernelKind.AmxInt8,
            WeightType.Int8 when isa.HasFlag(JitIsa.Avx512 | JitIsa.Avx512Vnni) => JitKernelKind.Vnni512,
            WeightType.BFloat16 when amx && isa.HasFlag(JitIsa.AmxBf16) => JitKernelKind.AmxBf16,
            WeightType.BFloat16 when isa.HasFlag(JitIsa.Avx512 | JitIsa.Avx512Bf16) => JitKernelKind.Bf16Avx512,
            _ => JitKernelKind.None,
        };
    }

    /// <summary>Decodes CPUID leaf 7 (subleaf 0 ECX/EDX, subleaf 1 EAX) into flags; OS state is passed in.</summary>
    public static JitIsa FromCpuid(bool avx512Enabled, int leaf7Ecx, int leaf7Edx, int leaf7Sub1Eax, bool amxOsEnabled)
    {
        JitIsa isa = JitIsa.None;
        if (avx512Enabled)
        {
            isa |= JitIsa.Avx512;
            if ((leaf7Ecx & (1 << 11)) != 0) isa |= JitIsa.Avx512Vnni;
            if ((leaf7Sub1Eax & (1 << 5)) != 0) isa |= JitIsa.Avx512Bf16;
        }
        if ((leaf7Edx & (1 << 24)) != 0) isa |= JitIsa.AmxTile;
        if ((leaf7Edx & (1 << 22)) != 0) isa |= JitIsa.AmxBf16;
        if ((leaf7Edx & (1 << 25)) != 0) isa |= JitIsa.AmxInt8;
        if (amxOsEnabled && isa.HasFlag(JitIsa.AmxTile)) isa |= JitIsa.AmxOs;
        return isa;
    }

    /// <summary>This machine's flags (x86-64 only; None elsewhere). Asks Linux for the tile state once when AMX is present.</summary>
    public static JitIsa Detect()
    {
        if (!X86Base.X64.IsSupported || !ExecutableMemory.IsSupported) return JitIsa.None;
        (int maxLeaf, _, _, _) = X86Base.CpuId(0, 0);
        if (maxLeaf < 7) return JitIsa.None;
        (_, _, int ecx7, int edx7) = X86Base.CpuId(7, 0);
        (int eax71, _, _, _) = X86Base.CpuId(7, 1);
        bool avx512 = Avx512F.IsSupported && Avx512BW.IsSupported;
        // The OS must save the tile state (XCR0 bits 17 TILECFG and 18 TILEDATA); Linux also hands it out only on request.
        bool amxOs = (edx7 & (1 << 24)) != 0 && (ReadXcr0() & (3UL << 17)) == 3UL << 17
            && (OperatingSystem.IsWindows() || AmxPermission.Request());
        return FromCpuid(avx512, ecx7, edx7, eax71, amxOs);
    }

    /// <summary>XCR0 through a generated <c>xgetbv</c> (0 when the OS has not enabled XSAVE).</summary>
    private static unsafe ulong ReadXcr0()
    {
        (_, _, int ecx1, _) = X86Base.CpuId(1, 0);
        if ((ecx1 & (1 << 27)) == 0) return 0;   // OSXSAVE
        var a = new Iced.Intel.Assembler(64);
        a.xor(Iced.Intel.AssemblerRegisters.ecx, Iced.Intel.AssemblerRegisters.ecx);
        a.xgetbv();
        a.shl(Iced.Intel.AssemblerRegisters.rdx, 32);
        a.or(Iced.Intel.AssemblerRegisters.rax, Iced.Intel.AssemblerRegisters.rdx);
        a.ret();
        using ExecutableMemory code = ExecutableMemory.Create(PanelKernels.Assemble(a));
        return ((delegate* unmanaged[Cdecl]<ulong>)code.Address)();
    }

    /// <summary>Names the flags for <c>bark info</c>.</summary>
    public static string Describe(JitIsa isa)
    {
        var names = new List<string>();
        if (isa.HasFlag(JitIsa.Avx512)) names.Add("avx512");
        if (isa.HasFlag(JitIsa.Avx512Vnni)) names.Add("avx512_vnni");
        if (isa.HasFlag(JitIsa.Avx512Bf16)) names.Add("avx512_bf16");
        if (isa.HasFlag(JitIsa.AmxTile)) names.Add("amx_tile");
        if (isa.HasFlag(JitIsa.AmxBf16)) names.Add("amx_bf16");
        if (isa.HasFlag(JitIsa.AmxInt8)) names.Add("amx_int8");
        if (isa.HasFlag(JitIsa.AmxOs)) names.Add("amx_os");
        return names.Count == 0 ? "none" : string.Join(' ', names);
    }
}
