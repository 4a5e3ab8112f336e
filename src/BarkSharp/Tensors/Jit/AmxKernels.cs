using System.Runtime.InteropServices;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace BarkSharp.Tensors.Jit;

/// <summary>The argument of a generated AMX kernel (a pointer to it is passed in the first argument register).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct AmxKernelArgs
{
    /// <summary>Activations: 16 × <c>rowTiles</c> rows of 64 bytes per step (32 bf16 or 64 u8), zero-padded.</summary>
    public void* A;
    /// <summary>Bytes from one activation row to the next.</summary>
    public long Lda;
    /// <summary>One panel in <see cref="AmxKernels"/>' layout: 2048 bytes per step.</summary>
    public void* B;
    /// <summary>Steps of 32 bf16 (or 64 int8) inputs.</summary>
    public long Steps;
    /// <summary>Output: 16 × rowTiles rows of 32 four-byte sums (128 bytes per row).</summary>
    public void* C;
    /// <summary>The 64-byte tile configuration (<see cref="AmxKernels.TileConfig"/>).</summary>
    public void* Config;
}

/// <summary>
/// AMX kernels (Intel Sapphire Rapids and later): <c>rowTiles</c> × 16 activation rows times one 32-output panel.
/// Tiles: C in tmm0–3 (16 rows × 16 four-byte sums each: rows 0–15 / 16–31 × outputs 0–15 / 16–31), A in tmm4–5
/// (16 rows × 64 bytes), B in tmm6–7 (16 rows × 64 bytes: 16 pairs of bf16 inputs, or 16 quads of int8 inputs, for 16
/// outputs). Per step: <c>tileloadd</c> the A and B tiles, 2 × rowTiles <c>tdpbf16ps</c> / <c>tdpbusd</c>; at the end
/// <c>tilestored</c> and <c>tilerelease</c>.
/// <para>
/// The B layout is the panel's four-byte groups (bf16 pairs or int8 quads) as the int8 panels already store them —
/// <c>[group][output j][4 bytes]</c>, 128 bytes a group — with the input dimension zero-padded to whole steps
/// (<see cref="PackBf16"/>, <see cref="PackInt8"/>): tile half h of step s starts at <c>s · 2048 + 64 h</c>, rows 128
/// bytes apart. Generated and checked here by interpreting the emitted instructions (tests); not yet measured on an
/// AMX machine, so not chosen automatically (<see cref="CpuFeatures.Choose"/>).
/// </para>
/// </summary>
internal static class AmxKernels
{
    /// <summary>Inputs per step: 32 bf16 or 64 int8 (a 64-byte tile row).</summary>
    public static int StepInputs(JitKernelKind kind) => kind == JitKernelKind.AmxBf16 ? 32 : 64;

    /// <summary>The 64-byte palette-1 tile configuration for <paramref name="rowTiles"/> (1 or 2) row tiles.</summary>
    public static byte[] TileConfig(int rowTiles)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rowTiles, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(rowTiles, 2);
        var config = new byte[64];
        config[0] = 1;   // palette 1
        void Tile(int t)
        {
            config[16 + 2 * t] = 64;   // colsb (bytes per row), little-endian u16
            config[48 + t] = 16;       // rows
        }
        Tile(0);
        Tile(1);
        if (rowTiles == 2) { Tile(2); Tile(3); }
        Tile(4);
        if (rowTiles == 2) Tile(5);
        Tile(6);
        Tile(7);
        return config;
    }

    /// <summary>Assembles the kernel (System V or Windows x64: it writes only rax, rcx, rdx, r8–r11 and no vector registers).</summary>
    public static byte[] Generate(JitKernelKind kind, int rowTiles, bool windowsAbi)
    {
        if (kind is not (JitKernelKind.AmxBf16 or JitKernelKind.AmxInt8)) throw new ArgumentOutOfRangeException(nameof(kind));
        ArgumentOutOfRangeException.ThrowIfLessThan(rowTiles, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(rowTiles, 2);
        var a = new Assembler(64);
        a.mov(rax, windowsAbi ? rcx : rdi);
        a.mov(r8, __qword_ptr[rax + 40]);
        a.ldtilecfg(__[r8]);
        a.mov(r8, __qword_ptr[rax]);         // A
        a.mov(r9, __qword_ptr[rax + 8]);     // lda
        a.mov(rdx, __qword_ptr[rax + 16]);   // B
        a.mov(r10, __qword_ptr[rax + 24]);   // steps
        a.mov(r11, 128);                     // B row stride
        a.tilezero(tmm0);
        a.tilezero(tmm1);
        if (rowTiles == 2)
        {
            a.tilezero(tmm2);
            a.tilezero(tmm3);
        }
        Label loop = a.CreateLabel(), done = a.CreateLabel();
        a.test(r10, r10);
        a.jz(done);
        a.Label(ref loop);
        a.tileloadd(tmm4, __[r8 + r9]);
        if (rowTiles == 2)
        {
            a.mov(rcx, r9);
            a.shl(rcx, 4);
            a.add(rcx, r8);                  // A + 16 · lda
            a.tileloadd(tmm5, __[rcx + r9]);
        }
        a.tileloadd(tmm6, __[rdx + r11]);
        a.lea(rcx, __[rdx + 64]);
        a.tileloadd(tmm7, __[rcx + r11]);
        for (int m = 0; m < rowTiles; m++)
        {
            var at = m == 0 ? tmm4 : tmm5;
            if (kind == JitKernelKind.AmxBf16)
            {
                a.tdpbf16ps(m == 0 ? tmm0 : tmm2, at, tmm6);
                a.tdpbf16ps(m == 0 ? tmm1 : tmm3, at, tmm7);
            }
            else
            {
                a.tdpbusd(m == 0 ? tmm0 : tmm2, at, tmm6);
                a.tdpbusd(m == 0 ? tmm1 : tmm3, at, tmm7);
            }
        }
        a.add(r8, 64);
        a.add(rdx, 2048);
        a.dec(r10);
        a.jnz(loop);
        a.Label(ref done);
        a.mov(rcx, __qword_ptr[rax + 32]);  // C
        a.tilestored(__[rcx + r11], tmm0);
        a.lea(rdx, __[rcx + 64]);
        a.tilestored(__[rdx + r11], tmm1);
        if (rowTiles == 2)
        {
            a.lea(rdx, __[rcx + 2048]);
            a.tilestored(__[rdx + r11], tmm2);
            a.lea(rdx, __[rcx + 2048 + 64]);
            a.tilestored(__[rdx + r11], tmm3);
        }
        a.tilerelease();
        a.ret();
        return PanelKernels.Assemble(a);
    }

    /// <summary>Steps of <paramref name="cols"/> inputs.</summary>
    public static int Steps(JitKernelKind kind, int cols) => (cols + StepInputs(kind) - 1) / StepInputs(kind);

    /// <summary>
    /// bf16 panels in the AMX layout: <c>[panel][pair g][output j][2]</c>, <c>g</c> up to the padded input count / 2
    /// (zeros past <see cref="WeightMatrix.Cols"/>), 2048 bytes a step.
    /// </summary>
    public static ushort[] PackBf16(WeightMatrix w)
    {
        if (w.Type != WeightType.BFloat16) throw new ArgumentException("bf16 weights expected.", nameof(w));
        int k = w.Cols, pairs = Steps(JitKernelKind.AmxBf16, k) * 16, panels = w.Panels;
        var packed = new ushort[(long)panels * pairs * 64];
        ushort[] source = w.PackedU16!;
        for (int p = 0; p < panels; p++)
            for (int kk = 0; kk < k; kk++)
                for (int j = 0; j < 32; j++)
                    packed[((long)p * pairs + kk / 2) * 64 + j * 2 + kk % 2] = source[((long)p * k + kk) * 32 + j];
        return packed;
    }

    /// <summary>Int8 panels in the AMX layout: the stored four-input groups, each panel padded with zero groups to whole steps.</summary>
    public static sbyte[] PackInt8(WeightMatrix w)
    {
        if (w.Type != WeightType.Int8) throw new ArgumentException("int8 weights expected.", nameof(w));
        int groups = w.KGroups, padded = Steps(JitKernelKind.AmxInt8, w.Cols) * 16, panels = w.Panels;
        var packed = new sbyte[(long)panels * padded * 128];
        for (int p = 0; p < panels; p++)
            Array.Copy(w.PackedI8!, (long)p * groups * 128, packed, (long)p * padded * 128, (long)groups * 128);
        return packed;
    }
}
