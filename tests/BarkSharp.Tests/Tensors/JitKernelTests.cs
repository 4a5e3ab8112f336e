using System.Globalization;
using BarkSharp.Tensors;
using BarkSharp.Tensors.Jit;
using BarkSharp.Tests.Infrastructure;
using Iced.Intel;

namespace BarkSharp.Tests.Tensors;

/// <summary>A test that needs CPU extensions the generated kernels use; skipped, with the reason, where the host lacks them.</summary>
internal sealed class IsaFactAttribute : FactAttribute
{
    /// <summary>Skips unless the host (CPU and OS, as the kernels detect them) has every flag of <paramref name="needed"/>.</summary>
    public IsaFactAttribute(JitIsa needed)
    {
        JitIsa missing = needed & ~JitKernels.Isa;
        if (missing != JitIsa.None) Skip = $"host (CPU, OS or runtime settings) lacks {CpuFeatures.Describe(missing)}; has: {CpuFeatures.Describe(JitKernels.Isa)}";
    }
}

/// <summary>A test that runs x86-64 machine code in memory it maps itself: Linux (for <c>/proc/self/maps</c>) on x86-64 only.</summary>
internal sealed class X64LinuxFactAttribute : FactAttribute
{
    /// <summary>Skips the test off Linux and off x86-64 (Arm64 runs no generated kernels).</summary>
    public X64LinuxFactAttribute()
    {
        if (!OperatingSystem.IsLinux()) Skip = "needs Linux";
        else if (System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture != System.Runtime.InteropServices.Architecture.X64)
            Skip = $"runs x86-64 code; this process is {System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture}";
    }
}

/// <summary>Tests that switch <see cref="JitKernels.Enabled"/> run alone (bf16 results depend on it).</summary>
[CollectionDefinition(nameof(JitSwitchCollection), DisableParallelization = true)]
public sealed class JitSwitchCollection;

/// <summary>
/// The kernels assembled at run time (<c>Tensors/Jit</c>): every one the host runs against the managed kernels and a
/// scalar model on awkward shapes; the executable memory's protection; the selection logic with faked CPUID flags;
/// the instruction streams, decoded back with Iced.
/// </summary>
[Collection(nameof(JitSwitchCollection))]
public class JitKernelTests
{
    public static TheoryData<int, int, int, int, int> Shapes() => new()
    {
        // n, rows, cols, rowStart, rowCount
        { 1, 45, 37, 0, 45 },
        { 3, 33, 300, 0, 33 },
        { 17, 100, 130, 0, 100 },
        { 17, 64, 1026, 5, 50 },
        { 12, 32, 64, 0, 32 },
        { 25, 300, 66, 101, 77 },
        { 2, 300, 66, 31, 200 },
        { 13, 70, 2, 0, 70 },
    };

    private static (float[] W, float[] X, float[] Bias) Data(int n, int rows, int cols)
    {
        var rng = new Random(n * 1000 + rows * 31 + cols);
        float[] w = Enumerable.Range(0, rows * cols).Select(_ => (rng.NextSingle() - 0.5f) * 4).ToArray();
        float[] x = Enumerable.Range(0, n * cols).Select(_ => rng.NextSingle() * 3 - 1f).ToArray();
        float[] bias = Enumerable.Range(0, rows).Select(_ => rng.NextSingle()).ToArray();
        return (w, x, bias);
    }

    [IsaTheory(JitIsa.Avx512 | JitIsa.Avx512Vnni)]
    [MemberData(nameof(Shapes))]
    public void Vnni512_gives_the_managed_int8_bits(int n, int rows, int cols, int rowStart, int rowCount)
    {
        (float[] w, float[] x, float[] bias) = Data(n, rows, cols);
        foreach (float[]? b in new[] { bias, null })
        {
            var m = WeightMatrix.FromFloat32(w, rows, cols, b, WeightType.Int8);
            var expected = new float[n * rowCount];
            MatMul.MultiplyRows(x, n, m, rowStart, rowCount, expected, 1, Int8Kernel.Scalar);
            foreach (int threads in new[] { 1, 2 })
            {
                var y = new float[n * rowCount];
                Assert.True(MatMul.MultiplyJit(x, n, m, rowStart, rowCount, y, threads, JitKernelKind.Vnni512));
                Assert.True(expected.AsSpan().SequenceEqual(y), $"{threads} threads, bias {b is not null}: first difference at {expected.Zip(y).TakeWhile(p => p.First == p.Second).Count()}");
            }
        }
    }

    /// <summary>
    /// What <c>vdpbf16ps</c> computes per output, as Intel documents it: per input pair, the two exact products
    /// added in f32, then added to the f32 accumulator — pairs in increasing order, activations rounded to bf16.
    /// </summary>
    private static float[] Bf16Model(float[] x, int n, WeightMatrix m, int rowStart, int rowCount)
    {
        int k = m.Cols;
        var y = new float[n * rowCount];
        var row = new float[k];
        for (int c = 0; c < rowCount; c++)
        {
            m.CopyRow(rowStart + c, row);
            for (int i = 0; i < n; i++)
            {
                float acc = 0;
                for (int g = 0; g < k / 2; g++)
                {
                    float a0 = Bf(x[i * k + 2 * g]), a1 = Bf(x[i * k + 2 * g + 1]);
                    float pair = a1 * row[2 * g + 1] + a0 * row[2 * g];
                    acc += pair;
                }
                y[i * rowCount + c] = m.Bias is null ? acc : acc + m.Bias[rowStart + c];
            }
        }
        return y;

        static float Bf(float v) => BitConverter.Int32BitsToSingle(WeightMatrix.ToBFloat16(v) << 16);
    }

    [IsaTheory(JitIsa.Avx512 | JitIsa.Avx512Bf16)]
    [MemberData(nameof(Shapes))]
    public void Bf16_matches_the_scalar_model_and_stays_within_its_bound_of_f32(int n, int rows, int cols, int rowStart, int rowCount)
    {
        if (cols % 2 != 0) cols++;   // the kernel takes input pairs (odd widths stay managed, tested below)
        (float[] w, float[] x, float[] bias) = Data(n, rows, cols);
        var m = WeightMatrix.FromFloat32(w, rows, cols, bias, WeightType.BFloat16);
        var y = new float[n * rowCount];
        Assert.True(MatMul.MultiplyJit(x, n, m, rowStart, rowCount, y, 2, JitKernelKind.Bf16Avx512));
        float[] model = Bf16Model(x, n, m, rowStart, rowCount);
        for (int i = 0; i < n; i++)
            for (int c = 0; c < rowCount; c++)
            {
                double exact = bias[rowStart + c], magnitude = Math.Abs(bias[rowStart + c]);
                for (int kk = 0; kk < cols; kk++)
                {
                    double p = (double)x[i * cols + kk] * w[(rowStart + c) * cols + kk];
                    exact += p;
                    magnitude += Math.Abs(p);
                }
                float got = y[i * rowCount + c];
                // Against the model: same products and pair sums; an implementation may round the pair sum differently.
                Assert.True(Math.Abs(got - model[i * rowCount + c]) <= 1e-6 * magnitude, $"({i}, {c}): {got} vs model {model[i * rowCount + c]}");
                // Against f32 weights and activations: both operands rounded to bf16 (2⁻⁹ each) plus f32 summation.
                double bound = (2.0 / 256 + cols * Math.Pow(2, -23)) * magnitude;
                Assert.True(Math.Abs(got - exact) <= bound, $"({i}, {c}): {got} vs {exact}, bound {bound}");
            }
    }

    [IsaFact(JitIsa.Avx512 | JitIsa.Avx512Bf16)]
    public void Bf16_results_do_not_depend_on_batch_or_threads()
    {
        (float[] w, float[] x, _) = Data(17, 96, 258);
        var m = WeightMatrix.FromFloat32(w, 96, 258, null, WeightType.BFloat16);
        var all = new float[17 * 96];
        MatMul.MultiplyJit(x, 17, m, 0, 96, all, 2, JitKernelKind.Bf16Avx512);
        for (int i = 0; i < 17; i++)
        {
            var one = new float[96];
            MatMul.MultiplyJit(x.AsSpan(i * 258, 258), 1, m, 0, 96, one, 1, JitKernelKind.Bf16Avx512);
            Assert.True(one.AsSpan().SequenceEqual(all.AsSpan(i * 96, 96)), $"row {i}");
        }
        var three = new float[3 * 40];
        MatMul.MultiplyJit(x.AsSpan(258 * 4, 3 * 258), 3, m, 50, 40, three, 2, JitKernelKind.Bf16Avx512);
        for (int i = 0; i < 3; i++) Assert.True(three.AsSpan(i * 40, 40).SequenceEqual(all.AsSpan((4 + i) * 96 + 50, 40)));
    }

    [Fact]
    public void Odd_widths_and_other_types_are_left_to_the_managed_kernels()
    {
        var m = WeightMatrix.FromFloat32(new float[5 * 7], 5, 7, null, WeightType.BFloat16);
        Assert.False(MatMul.MultiplyJit(new float[7], 1, m, 0, 5, new float[5], 1, JitKernelKind.Bf16Avx512));
        var f = WeightMatrix.FromFloat32(new float[5 * 8], 5, 8);
        Assert.False(MatMul.MultiplyJit(new float[8], 1, f, 0, 5, new float[5], 1, JitKernelKind.Vnni512));
        Assert.False(MatMul.MultiplyJit(new float[8], 1, f, 0, 5, new float[5], 1, JitKernelKind.Bf16Avx512));
    }

    [Fact]
    public void The_switch_turns_the_generated_kernels_off_and_int8_bits_do_not_change()
    {
        (float[] w, float[] x, float[] bias) = Data(9, 70, 90);
        var m = WeightMatrix.FromFloat32(w, 70, 90, bias, WeightType.Int8);
        bool was = JitKernels.Enabled;
        try
        {
            JitKernels.Enabled = false;
            Assert.Equal(JitKernelKind.None, JitKernels.KindFor(WeightType.Int8));
            Assert.Equal("off (managed kernels)", JitKernels.Describe());
            var off = new float[9 * 70];
            MatMul.Multiply(x, 9, m, off, 2);
            JitKernels.Enabled = true;
            var on = new float[9 * 70];
            MatMul.Multiply(x, 9, m, on, 2);
            Assert.Equal(off, on);
            Assert.Equal(CpuFeatures.Choose(JitKernels.Isa, WeightType.Int8), JitKernels.KindFor(WeightType.Int8));
        }
        finally
        {
            JitKernels.Enabled = was;
        }
    }

    [Fact]
    public void Selection_follows_the_cpuid_flags()
    {
        const int vnni = 1 << 11, bf16 = 1 << 5, amxBf16 = 1 << 22, amxTile = 1 << 24, amxInt8 = 1 << 25;
        JitIsa zen4 = CpuFeatures.FromCpuid(avx512Enabled: true, vnni, 0, bf16, amxOsEnabled: false);
        Assert.Equal(JitIsa.Avx512 | JitIsa.Avx512Vnni | JitIsa.Avx512Bf16, zen4);
        Assert.Equal(JitKernelKind.Vnni512, CpuFeatures.Choose(zen4, WeightType.Int8));
        Assert.Equal(JitKernelKind.Bf16Avx512, CpuFeatures.Choose(zen4, WeightType.BFloat16));
        Assert.Equal(JitKernelKind.None, CpuFeatures.Choose(zen4, WeightType.Float32));
        Assert.Equal(JitKernelKind.None, CpuFeatures.Choose(zen4, WeightType.Float16));

        // AVX-512 present in the CPU but not enabled by the OS (or by DOTNET_EnableAVX512=0): nothing 512-bit.
        JitIsa off = CpuFeatures.FromCpuid(avx512Enabled: false, vnni, 0, bf16, amxOsEnabled: false);
        Assert.Equal(JitIsa.None, off);
        Assert.Equal(JitKernelKind.None, CpuFeatures.Choose(off, WeightType.Int8));

        // Ice Lake: VNNI without BF16.
        JitIsa iceLake = CpuFeatures.FromCpuid(true, vnni, 0, 0, false);
        Assert.Equal(JitKernelKind.Vnni512, CpuFeatures.Choose(iceLake, WeightType.Int8));
        Assert.Equal(JitKernelKind.None, CpuFeatures.Choose(iceLake, WeightType.BFloat16));

        // Sapphire Rapids: AMX only when the OS grants the tile state, and only when allowed (BARKSHARP_AMX, the self-check).
        int amx = amxBf16 | amxTile | amxInt8;
        JitIsa spr = CpuFeatures.FromCpuid(true, vnni, amx, bf16, amxOsEnabled: true);
        Assert.True(spr.HasFlag(JitIsa.AmxTile | JitIsa.AmxBf16 | JitIsa.AmxInt8 | JitIsa.AmxOs));
        Assert.Equal(JitKernelKind.Vnni512, CpuFeatures.Choose(spr, WeightType.Int8));
        Assert.Equal(JitKernelKind.AmxInt8, CpuFeatures.Choose(spr, WeightType.Int8, allowAmx: true));
        Assert.Equal(JitKernelKind.AmxBf16, CpuFeatures.Choose(spr, WeightType.BFloat16, allowAmx: true));
        JitIsa noPermission = CpuFeatures.FromCpuid(true, vnni, amx, bf16, amxOsEnabled: false);
        Assert.False(noPermission.HasFlag(JitIsa.AmxOs));
        Assert.Equal(JitKernelKind.Bf16Avx512, CpuFeatures.Choose(noPermission, WeightType.BFloat16, allowAmx: true));
        Assert.Equal("avx512 avx512_vnni avx512_bf16", CpuFeatures.Describe(zen4));
    }

    [Theory]
    [InlineData(40, 64, 0, 40, 1)]
    [InlineData(130, 96, 0, 130, 1)]
    [InlineData(256, 200, 0, 256, 2)]
    [InlineData(300, 62, 17, 250, 2)]
    public void The_one_row_bf16_decode_kernel_has_the_prefill_kernels_bits(int rows, int cols, int rowStart, int rowCount, int threads)
    {
        if (!JitKernels.Isa.HasFlag(JitIsa.Avx512 | JitIsa.Avx512Bf16))
        {
            Assert.Equal(JitKernelKind.None, CpuFeatures.Choose(JitKernels.Isa, WeightType.BFloat16));   // nothing to compare on this CPU
            return;
        }
        (float[] w, float[] x, float[] bias) = Data(3, rows, cols);
        var m = WeightMatrix.FromFloat32(w, rows, cols, bias, WeightType.BFloat16);
        var batch = new float[3 * rowCount];
        Assert.True(MatMul.MultiplyJit(x, 3, m, rowStart, rowCount, batch, threads, JitKernelKind.Bf16Avx512));
        bool was = JitKernels.WideBf16Decode;
        try
        {
            for (int i = 0; i < 3; i++)
            {
                var wide = new float[rowCount];
                var narrow = new float[rowCount];
                JitKernels.WideBf16Decode = true;
                MatMul.MultiplyJit(x.AsSpan(i * cols, cols), 1, m, rowStart, rowCount, wide, threads, JitKernelKind.Bf16Avx512);
                JitKernels.WideBf16Decode = false;
                MatMul.MultiplyJit(x.AsSpan(i * cols, cols), 1, m, rowStart, rowCount, narrow, threads, JitKernelKind.Bf16Avx512);
                Assert.Equal(narrow, wide);
                Assert.Equal(batch.AsSpan(i * rowCount, rowCount).ToArray(), wide);
            }
        }
        finally
        {
            JitKernels.WideBf16Decode = was;
        }
    }

    [Fact]
    public void The_int8_peak_probe_times_the_instruction_the_int8_prefill_runs()
    {
        List<Instruction> loop = Decode(PanelKernels.GenerateVnniPeakLoop(windowsAbi: false));
        Assert.Equal(12, loop.Count(i => i.Mnemonic == Mnemonic.Vpdpbusd && i.Op0Register.IsZMM()));
        Assert.DoesNotContain(loop, i => i.Op0Register is >= Register.ZMM6 and <= Register.ZMM15);   // nothing Windows keeps
        JitKernelKind int8 = JitKernels.KindFor(WeightType.Int8);
        string probe = BarkSharp.Diagnostics.MachineProbe.Int8Probe;
        if (int8 == JitKernelKind.Vnni512) Assert.Equal("vpdpbusd zmm", probe);
        else if (int8 == JitKernelKind.None) Assert.NotEqual("vpdpbusd zmm", probe);
        Assert.Equal(probe != "none", BarkSharp.Diagnostics.MachineProbe.Int8Gops(1) > 0);
    }

    private static List<Instruction> Decode(byte[] code)
    {
        var decoder = Iced.Intel.Decoder.Create(64, new ByteArrayCodeReader(code));
        decoder.IP = 0;
        var list = new List<Instruction>();
        while (decoder.IP < (ulong)code.Length)
        {
            decoder.Decode(out Instruction instruction);
            Assert.False(instruction.IsInvalid, $"invalid instruction at {instruction.IP}");
            list.Add(instruction);
        }
        return list;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_panel_kernels_decode_to_the_intended_instructions(bool windows)
    {
        for (int rows = 1; rows <= PanelKernels.MaxRows; rows++)
        {
            List<Instruction> vnni = Decode(PanelKernels.Generate(JitKernelKind.Vnni512, rows, windows));
            Assert.Equal(2 * rows, vnni.Count(i => i.Mnemonic == Mnemonic.Vpdpbusd));
            Assert.All(vnni.Where(i => i.Mnemonic == Mnemonic.Vpdpbusd), i => Assert.Equal(OpKind.Register, i.Op2Kind));
            Assert.All(vnni.Where(i => i.Mnemonic == Mnemonic.Vpdpbusd), i => Assert.True(i.Op0Register.IsZMM()));
            Assert.Equal(rows, vnni.Count(i => i.Mnemonic == Mnemonic.Vpbroadcastd));
            Assert.Equal(2 * rows, vnni.Count(i => i.Mnemonic == Mnemonic.Vmovdqu32 && i.Op0Kind == OpKind.Memory));
            List<Instruction> bf16 = Decode(PanelKernels.Generate(JitKernelKind.Bf16Avx512, rows, windows));
            Assert.Equal(2 * rows, bf16.Count(i => i.Mnemonic == Mnemonic.Vdpbf16ps));
            Assert.Single(bf16, i => i.Mnemonic == Mnemonic.Vpunpcklwd);
            Assert.Single(bf16, i => i.Mnemonic == Mnemonic.Vpunpckhwd);
            foreach (List<Instruction> code in new[] { vnni, bf16 })
            {
                Assert.Equal(Mnemonic.Ret, code[^1].Mnemonic);
                Assert.Equal(Mnemonic.Vzeroupper, code[^2].Mnemonic);
                // Only caller-saved general registers (both ABIs) are written, and rsi (bf16's row pitch) only when pushed
                // first and popped last; rsp moves only to save and restore.
                var written = code.SelectMany(i => Enumerable.Range(0, i.OpCount).Where(o => o == 0 && i.GetOpKind(0) == OpKind.Register).Select(_ => i.Op0Register))
                    .Where(r => r.IsGPR64()).Distinct().ToHashSet();
                written.ExceptWith([Register.RAX, Register.RCX, Register.RDX, Register.R8, Register.R9, Register.R10, Register.R11, Register.RSP]);
                if (code == bf16)
                {
                    Assert.True(code[0].Mnemonic == Mnemonic.Push && code[0].Op0Register == Register.RSI);
                    Assert.True(code[^3].Mnemonic == Mnemonic.Pop && code[^3].Op0Register == Register.RSI);
                    Assert.Single(code, i => i.Mnemonic == Mnemonic.Pop && i.Op0Register == Register.RSI);
                    written.Remove(Register.RSI);
                }
                Assert.Empty(written);
                // Windows keeps xmm6–15: each is saved before its first write and restored at the end.
                int saves = code.Count(i => i.Mnemonic == Mnemonic.Vmovups && i.Op0Kind == OpKind.Memory);
                int restores = code.Count(i => i.Mnemonic == Mnemonic.Vmovups && i.Op0Kind == OpKind.Register);
                Assert.Equal(windows ? 10 : 0, saves);
                Assert.Equal(windows ? 10 : 0, restores);
                Assert.Equal(windows ? Register.RCX : Register.RDI, code[code == bf16 ? 1 : 0].Op1Register);
            }
        }
    }

    [X64LinuxFact]
    public unsafe void Executable_pages_are_never_writable()
    {
        // mov eax, 42; ret
        using ExecutableMemory memory = ExecutableMemory.Create([0xB8, 42, 0, 0, 0, 0xC3]);
        Assert.Equal(42, ((delegate* unmanaged[Cdecl]<int>)memory.Address)());
        Assert.Equal("r-xp", Protection(memory.Address));
        if (JitKernels.KindFor(WeightType.Int8) == JitKernelKind.Vnni512)
        {
            var m = WeightMatrix.FromFloat32(new float[64 * 8], 64, 8, null, WeightType.Int8);
            MatMul.Multiply(new float[8], 1, m, new float[64]);
        }
        foreach (ExecutableMemory kernel in JitKernels.Mappings) Assert.Equal("r-xp", Protection(kernel.Address));
    }

    /// <summary>The permissions column of <c>/proc/self/maps</c> for the mapping holding <paramref name="address"/>.</summary>
    private static string Protection(nint address)
    {
        foreach (string line in File.ReadLines("/proc/self/maps"))
        {
            string[] parts = line.Split(' ', 3);
            string[] range = parts[0].Split('-');
            ulong start = ulong.Parse(range[0], NumberStyles.HexNumber), end = ulong.Parse(range[1], NumberStyles.HexNumber);
            if ((ulong)address >= start && (ulong)address < end) return parts[1];
        }
        throw new InvalidOperationException($"{address:x} is not mapped");
    }
}

/// <summary>A <see cref="IsaFactAttribute"/> theory.</summary>
internal sealed class IsaTheoryAttribute : TheoryAttribute
{
    /// <summary>Skips unless the host has every flag of <paramref name="needed"/>.</summary>
    public IsaTheoryAttribute(JitIsa needed)
    {
        JitIsa missing = needed & ~JitKernels.Isa;
        if (missing != JitIsa.None) Skip = $"host (CPU, OS or runtime settings) lacks {CpuFeatures.Describe(missing)}; has: {CpuFeatures.Describe(JitKernels.Isa)}";
    }
}
