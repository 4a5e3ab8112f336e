using System.Runtime.InteropServices;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace BarkSharp.Tensors.Jit;

/// <summary>The one argument of a generated panel kernel (a pointer to it is passed in the first argument register).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct PanelKernelArgs
{
    /// <summary>First activation row: 4 bytes per group (four u8, or two bf16).</summary>
    public void* A;
    /// <summary>Bytes from one activation row to the next.</summary>
    public long Lda;
    /// <summary>The panel: 128 bytes per group.</summary>
    public void* B;
    /// <summary>Groups (of four int8 inputs, or two bf16 inputs).</summary>
    public long Groups;
    /// <summary>Output tile: rows × 32 four-byte sums, 128 bytes per row (the decode kernel: 128 bytes per panel).</summary>
    public void* C;
    /// <summary>The bf16 decode kernel only (<see cref="PanelKernels.GenerateBf16Decode"/>): bytes from one panel to the next.</summary>
    public long PanelBytes;
    /// <summary>
    /// The bf16 panel kernels only: bytes from one 32-element row of <see cref="B"/> to the next (64 for a packed weight
    /// panel; a key or value cache's row pitch in attention).
    /// </summary>
    public long Ldb;
}

/// <summary>
/// Generates the AVX-512 panel kernels: <c>rows</c> (1–12) activation rows times one 32-output weight panel over the
/// whole input, the 2 × rows accumulators in zmm0–23 for the whole loop, results stored raw to a
/// <c>[rows, 32]</c> tile (the managed caller applies the epilogue).
/// <list type="bullet">
/// <item><b>int8</b> (<see cref="JitKernelKind.Vnni512"/>): per group of four inputs, the panel's 128 bytes (32 outputs ×
/// 4 s8, the packed int8 layout) in two zmm; each row's four u8 broadcast (<c>vpbroadcastd</c>) and multiplied with
/// <c>vpdpbusd</c>: 16 outputs × 4 byte products per instruction, summed exactly in int32.</item>
/// <item><b>bf16</b> (<see cref="JitKernelKind.Bf16Avx512"/>): per pair of inputs, the panel's two 32-element bf16 rows
/// (the ordinary packed layout, no second copy; rows <see cref="PanelKernelArgs.Ldb"/> bytes apart, so attention runs
/// the same kernel over a key or value cache in place) interleaved into input pairs with <c>vpunpcklwd</c>/<c>vpunpckhwd</c>
/// (per 128-bit lane: outputs 8L..8L+3 in the first register, 8L+4..8L+7 in the second, put back in output order by
/// <see cref="StoreBf16Row"/>'s four lane shuffles when stored); each row's two bf16 activations broadcast and multiplied with <c>vdpbf16ps</c>. Each
/// output is one chain: <c>acc ← acc + (a[2g+1]·w[2g+1] + a[2g]·w[2g])</c> for g = 0, 1, … in order (the products of
/// two bf16 are exact in f32), the same for every row count, thread count and batch.</item>
/// </list>
/// Calling convention: System V (argument in rdi) or Windows x64 (rcx, and xmm6–15 saved and restored); only
/// caller-saved general registers are written, and rsi (the bf16 kernels' row pitch), saved on the stack and restored.
/// </summary>
internal static class PanelKernels
{
    /// <summary>Most activation rows per call.</summary>
    public const int MaxRows = 12;

    /// <summary>Assembles the kernel for <paramref name="rows"/> rows.</summary>
    public static byte[] Generate(JitKernelKind kind, int rows, bool windowsAbi)
    {
        if (kind is not (JitKernelKind.Vnni512 or JitKernelKind.Bf16Avx512)) throw new ArgumentOutOfRangeException(nameof(kind));
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(rows, MaxRows);
        var zmm = new[]
        {
            zmm0, zmm1, zmm2, zmm3, zmm4, zmm5, zmm6, zmm7, zmm8, zmm9, zmm10, zmm11, zmm12, zmm13, zmm14, zmm15,
            zmm16, zmm17, zmm18, zmm19, zmm20, zmm21, zmm22, zmm23,
        };
        var xmmSaved = new[] { xmm6, xmm7, xmm8, xmm9, xmm10, xmm11, xmm12, xmm13, xmm14, xmm15 };
        var bases = new[] { r8, r10, r11, rcx };
        var a = new Assembler(64);

        // Prologue: rax = &args, saved on the stack for the epilogue (bf16: above rsi, kept for Windows).
        bool bf16 = kind == JitKernelKind.Bf16Avx512;
        if (bf16) a.push(rsi);
        a.mov(rax, windowsAbi ? rcx : rdi);
        a.push(rax);
        if (windowsAbi)
        {
            a.sub(rsp, 160);
            for (int i = 0; i < 10; i++) a.vmovups(__xmmword_ptr[rsp + 16 * i], xmmSaved[i]);
        }
        a.mov(r8, __qword_ptr[rax]);         // row 0
        a.mov(r9, __qword_ptr[rax + 8]);     // lda
        a.mov(rdx, __qword_ptr[rax + 16]);   // panel
        if (bf16) a.mov(rsi, __qword_ptr[rax + 48]);   // bf16: bytes between panel rows
        // Rows 3t..3t+2 address off base t at 0, lda, 2·lda.
        for (int t = 1; t * 3 < rows; t++)
        {
            a.lea(bases[t], __[bases[t - 1] + r9 * 2]);
            a.add(bases[t], r9);
        }
        a.mov(rax, __qword_ptr[rax + 24]);   // groups
        for (int i = 0; i < 2 * rows; i++) a.vpxord(zmm[i], zmm[i], zmm[i]);
        Label loop = a.CreateLabel(), done = a.CreateLabel();
        a.test(rax, rax);
        a.jz(done);
        a.Label(ref loop);
        if (kind == JitKernelKind.Vnni512)
        {
            a.vmovdqu32(zmm30, __zmmword_ptr[rdx]);
            a.vmovdqu32(zmm31, __zmmword_ptr[rdx + 64]);
        }
        else
        {
            a.vmovdqu16(zmm24, __zmmword_ptr[rdx]);        // input 2g: 32 outputs
            a.vmovdqu16(zmm25, __zmmword_ptr[rdx + rsi]);  // input 2g + 1
            a.vpunpcklwd(zmm30, zmm24, zmm25);
            a.vpunpckhwd(zmm31, zmm24, zmm25);
        }
        for (int r = 0; r < rows; r++)
        {
            AssemblerRegister64 b = bases[r / 3];
            var x = r % 3 == 0 ? __dword_ptr[b] : r % 3 == 1 ? __dword_ptr[b + r9] : __dword_ptr[b + r9 * 2];
            var v = r % 2 == 0 ? zmm28 : zmm29;
            a.vpbroadcastd(v, x);
            if (kind == JitKernelKind.Vnni512)
            {
                a.vpdpbusd(zmm[2 * r], v, zmm30);
                a.vpdpbusd(zmm[2 * r + 1], v, zmm31);
            }
            else
            {
                a.vdpbf16ps(zmm[2 * r], v, zmm30);
                a.vdpbf16ps(zmm[2 * r + 1], v, zmm31);
            }
        }
        for (int t = 0; t * 3 < rows; t++) a.add(bases[t], 4);
        if (bf16) a.lea(rdx, __[rdx + rsi * 2]);
        else a.add(rdx, 128);
        a.dec(rax);
        a.jnz(loop);
        a.Label(ref done);

        // Epilogue: store the tile, restore what Windows wants kept.
        a.mov(rax, __qword_ptr[rsp + (windowsAbi ? 160 : 0)]);
        a.mov(rax, __qword_ptr[rax + 32]);
        for (int r = 0; r < rows; r++)
        {
            if (bf16)
            {
                StoreBf16Row(a, zmm[2 * r], zmm[2 * r + 1], __zmmword_ptr[rax + 128 * r], __zmmword_ptr[rax + 128 * r + 64]);
                continue;
            }
            a.vmovdqu32(__zmmword_ptr[rax + 128 * r], zmm[2 * r]);
            a.vmovdqu32(__zmmword_ptr[rax + 128 * r + 64], zmm[2 * r + 1]);
        }
        if (windowsAbi)
        {
            for (int i = 0; i < 10; i++) a.vmovups(xmmSaved[i], __xmmword_ptr[rsp + 16 * i]);
            a.add(rsp, 160);
        }
        a.pop(rax);
        if (bf16) a.pop(rsi);
        a.vzeroupper();
        a.ret();
        return Assemble(a);
    }

    /// <summary>Panels one call of the one-row bf16 decode kernel multiplies.</summary>
    public const int DecodePanels = 4;

    /// <summary>
    /// The one-row bf16 kernel for decode steps: one activation row times <see cref="DecodePanels"/> consecutive panels
    /// (<see cref="PanelKernelArgs.PanelBytes"/> apart) per call, so four weight streams are in flight. Per panel and
    /// output it issues exactly the <see cref="JitKernelKind.Bf16Avx512"/> kernel's instruction chain (the same
    /// interleave, the same <c>vdpbf16ps</c> operands, pairs in order): the bits equal the prefill kernel's. Output:
    /// 128 bytes per panel in output order. Registers: accumulators zmm0–3 and zmm16–19, loads
    /// zmm20–27, interleaved pairs zmm28–29, activation zmm30 (none of Windows' saved xmm6–15).
    /// </summary>
    public static byte[] GenerateBf16Decode(bool windowsAbi)
    {
        const int panels = DecodePanels;
        var acc = new[] { zmm0, zmm1, zmm2, zmm3, zmm16, zmm17, zmm18, zmm19 };
        var raw = new[] { zmm20, zmm21, zmm22, zmm23, zmm24, zmm25, zmm26, zmm27 };
        var a = new Assembler(64);
        a.mov(rax, windowsAbi ? rcx : rdi);
        a.mov(r8, __qword_ptr[rax]);         // activation pairs
        a.mov(rdx, __qword_ptr[rax + 16]);   // panel 0
        a.mov(r9, __qword_ptr[rax + 40]);    // panel bytes
        a.lea(r10, __[rdx + r9 * 2]);
        a.add(r10, r9);                      // panel 3; panels 1, 2 at rdx + r9, rdx + 2·r9
        a.mov(r11, __qword_ptr[rax + 24]);   // pairs
        foreach (var z in acc) a.vpxord(z, z, z);
        Label loop = a.CreateLabel(), done = a.CreateLabel();
        a.test(r11, r11);
        a.jz(done);
        a.Label(ref loop);
        for (int q = 0; q < panels; q++)
        {
            var at = q switch { 0 => __zmmword_ptr[rdx], 1 => __zmmword_ptr[rdx + r9], 2 => __zmmword_ptr[rdx + r9 * 2], _ => __zmmword_ptr[r10] };
            var hi = q switch { 0 => __zmmword_ptr[rdx + 64], 1 => __zmmword_ptr[rdx + r9 + 64], 2 => __zmmword_ptr[rdx + r9 * 2 + 64], _ => __zmmword_ptr[r10 + 64] };
            a.vmovdqu16(raw[2 * q], at);
            a.vmovdqu16(raw[2 * q + 1], hi);
        }
        a.vpbroadcastd(zmm30, __dword_ptr[r8]);
        for (int q = 0; q < panels; q++)
        {
            a.vpunpcklwd(zmm28, raw[2 * q], raw[2 * q + 1]);
            a.vpunpckhwd(zmm29, raw[2 * q], raw[2 * q + 1]);
            a.vdpbf16ps(acc[2 * q], zmm30, zmm28);
            a.vdpbf16ps(acc[2 * q + 1], zmm30, zmm29);
        }
        a.add(r8, 4);
        a.add(rdx, 128);
        a.add(r10, 128);
        a.dec(r11);
        a.jnz(loop);
        a.Label(ref done);
        a.mov(rax, __qword_ptr[rax + 32]);
        for (int q = 0; q < panels; q++) StoreBf16Row(a, acc[2 * q], acc[2 * q + 1], __zmmword_ptr[rax + 128 * q], __zmmword_ptr[rax + 128 * q + 64]);
        a.vzeroupper();
        a.ret();
        return Assemble(a);
    }

    /// <summary>
    /// Stores a bf16 tile row's 32 sums in output order. The accumulators hold, per 128-bit lane L, outputs 8L..8L+3
    /// (<paramref name="first"/>) and 8L+4..8L+7 (<paramref name="second"/>); four <c>vshuff32x4</c> (zmm26, zmm27 as
    /// temporaries) interleave the lanes: outputs 0–15 are lanes (first 0, second 0, first 1, second 1), 16–31 lanes 2 and 3.
    /// </summary>
    private static void StoreBf16Row(Assembler a, AssemblerRegisterZMM first, AssemblerRegisterZMM second, AssemblerMemoryOperand low, AssemblerMemoryOperand high)
    {
        a.vshuff32x4(zmm26, first, second, 0x44);   // first.L0, first.L1, second.L0, second.L1
        a.vshuff32x4(zmm26, zmm26, zmm26, 0xD8);    // first.L0, second.L0, first.L1, second.L1
        a.vshuff32x4(zmm27, first, second, 0xEE);   // first.L2, first.L3, second.L2, second.L3
        a.vshuff32x4(zmm27, zmm27, zmm27, 0xD8);
        a.vmovdqu32(low, zmm26);
        a.vmovdqu32(high, zmm27);
    }

    /// <summary>
    /// A throughput loop for <see cref="Diagnostics.MachineProbe"/>: <c>iterations</c> (first argument) × 12 independent
    /// 512-bit <c>vpdpbusd</c> into zmm16–27 (volatile in both ABIs), 64 byte pairs each; nothing read or written in memory.
    /// </summary>
    public static byte[] GenerateVnniPeakLoop(bool windowsAbi)
    {
        var acc = new[] { zmm16, zmm17, zmm18, zmm19, zmm20, zmm21, zmm22, zmm23, zmm24, zmm25, zmm26, zmm27 };
        var a = new Assembler(64);
        a.mov(rax, windowsAbi ? rcx : rdi);
        foreach (var z in acc) a.vpxord(z, z, z);
        a.vpternlogd(zmm30, zmm30, zmm30, 0xFF);   // all-ones bytes: 255 (u8) × -1 (s8)
        a.vpternlogd(zmm31, zmm31, zmm31, 0xFF);
        Label loop = a.CreateLabel(), done = a.CreateLabel();
        a.test(rax, rax);
        a.jz(done);
        a.Label(ref loop);
        foreach (var z in acc) a.vpdpbusd(z, zmm30, zmm31);
        a.dec(rax);
        a.jnz(loop);
        a.Label(ref done);
        a.vzeroupper();
        a.ret();
        return Assemble(a);
    }

    /// <summary>Encodes <paramref name="a"/> position-independently (all branches are relative).</summary>
    internal static byte[] Assemble(Assembler a)
    {
        using var stream = new MemoryStream();
        a.Assemble(new StreamCodeWriter(stream), 0);
        return stream.ToArray();
    }
}
