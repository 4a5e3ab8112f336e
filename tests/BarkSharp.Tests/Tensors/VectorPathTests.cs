using System.Runtime.Intrinsics;
using BarkSharp.Tensors;

namespace BarkSharp.Tests.Tensors;

/// <summary>
/// The kernels' vector widths: the one the process picks must be the one its environment asks for (CI runs the kernel
/// tests again with <c>DOTNET_EnableAVX512=0</c> and <c>DOTNET_EnableAVX2=0</c>), and every width must give the bits
/// of the scalar fused-multiply-add chains. <see cref="Simd.Force"/> runs all three widths in one process.
/// </summary>
public class VectorPathTests
{
    private static readonly VectorPath[] AllPaths = [VectorPath.Vector128, VectorPath.Vector256, VectorPath.Vector512];

    private static float[] RandomArray(Random rng, int n, float scale = 1f) =>
        Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1) * scale).ToArray();

    [Fact]
    public void The_active_path_is_the_widest_accelerated_one_and_the_one_the_environment_asks_for()
    {
        VectorPath widest = Vector512.IsHardwareAccelerated ? VectorPath.Vector512
            : Vector256.IsHardwareAccelerated ? VectorPath.Vector256 : VectorPath.Vector128;
        Assert.Equal(widest, Simd.Detected);
        Assert.Equal(Simd.Detected, Simd.Path);

        // .NET 10 reads DOTNET_EnableAVX512 (DOTNET_EnableAVX512F is no longer a switch); AVX2 off leaves 128 bits.
        static bool Off(string name) => Environment.GetEnvironmentVariable(name) == "0";
        if (Off("DOTNET_EnableAVX2") || Off("DOTNET_EnableAVX") || Off("DOTNET_EnableHWIntrinsic"))
            Assert.Equal(VectorPath.Vector128, Simd.Detected);
        if (Off("DOTNET_EnableAVX512"))
            Assert.NotEqual(VectorPath.Vector512, Simd.Detected);

        // CI names the path it means to test, so a switch the runtime ignores cannot leave it testing the default.
        if (Environment.GetEnvironmentVariable("BARKSHARP_EXPECT_VECTOR_PATH") is { Length: > 0 } expected)
            Assert.Equal(expected, Simd.Detected.ToString());
        // .ci/arm64-kernels runs these tests on the Arm64 runtime under qemu: it must not be the host's x64 one.
        if (Environment.GetEnvironmentVariable("BARKSHARP_EXPECT_ARCHITECTURE") is { Length: > 0 } architecture)
            Assert.Equal(architecture, System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture.ToString());
    }

    [Fact]
    public void Forcing_a_width_is_scoped_to_the_thread_and_restored()
    {
        VectorPath before = Simd.Path;
        using (Simd.Force(VectorPath.Vector128))
        {
            Assert.Equal(VectorPath.Vector128, Simd.Path);
            using (Simd.Force(VectorPath.Vector512)) Assert.Equal(VectorPath.Vector512, Simd.Path);
            Assert.Equal(VectorPath.Vector128, Simd.Path);
            VectorPath other = VectorPath.Vector128;
            var thread = new Thread(() => other = Simd.Path);
            thread.Start();
            thread.Join();
            Assert.Equal(Simd.Detected, other);
        }
        Assert.Equal(before, Simd.Path);
    }

    /// <summary>Shapes that hit full and partial tiles, the decode paths (n = 1, 2), partial panels and row ranges.</summary>
    public static TheoryData<WeightType, int, int, int, int, int> Products()
    {
        var data = new TheoryData<WeightType, int, int, int, int, int>();
        foreach (WeightType type in new[] { WeightType.Float32, WeightType.BFloat16, WeightType.Float16 })
        {
            data.Add(type, 1, 200, 300, 0, 200);
            data.Add(type, 2, 131, 77, 5, 120);
            data.Add(type, 3, 64, 257, 0, 64);
            data.Add(type, 13, 70, 300, 0, 70);
            data.Add(type, 25, 96, 33, 31, 40);
        }
        data.Add(WeightType.Float32, 40, 45, 530, 0, 45);   // several input blocks: chains continued across them
        data.Add(WeightType.Float32, 18, 40, 50, 0, 40);    // 12 + 6 rows: a six-row rest of a 12-row tile (packed 12 apart)
        data.Add(WeightType.Float32, 3100, 33, 70, 1, 31);  // several row blocks (at most 1536 rows each on a 1 MB L2, 3072 on 2 MB)
        return data;
    }

    [Theory]
    [MemberData(nameof(Products))]
    public void MatMul_gives_the_bits_of_the_scalar_fma_chain_at_every_width(WeightType type, int n, int rows, int cols, int rowStart, int rowCount)
    {
        var rng = new Random(n * 7919 + rows * 31 + cols + (int)type);
        float[] x = RandomArray(rng, n * cols), w = RandomArray(rng, rows * cols, 2f), bias = RandomArray(rng, rows);
        var m = WeightMatrix.FromFloat32(w, rows, cols, bias, type);

        // The reference: each output one fused-multiply-add chain over k in order, over the stored (rounded) weights.
        var expected = new float[n * rowCount];
        var row = new float[cols];
        for (int c = 0; c < rowCount; c++)
        {
            m.CopyRow(rowStart + c, row);
            for (int i = 0; i < n; i++)
            {
                float acc = 0;
                for (int k = 0; k < cols; k++) acc = MathF.FusedMultiplyAdd(x[i * cols + k], row[k], acc);
                expected[i * rowCount + c] = acc + bias[rowStart + c];
            }
        }
        foreach (VectorPath path in AllPaths)
            foreach (int threads in new[] { 1, 2 })
            {
                var y = new float[n * rowCount];
                using (Simd.Force(path)) MatMul.MultiplyRows(x, n, m, rowStart, rowCount, y, threads, MatMul.BestInt8Kernel);   // managed kernels (not the generated bf16 one)
                AssertBits(expected, y, $"{type} {path} {threads} thread(s)");
            }
    }

    [Fact]
    public void One_row_inside_a_batch_gives_the_bits_it_gives_alone_at_every_width()
    {
        var rng = new Random(11);
        int rows = 100, cols = 129;
        float[] x = RandomArray(rng, 14 * cols);
        var m = WeightMatrix.FromFloat32(RandomArray(rng, rows * cols), rows, cols);
        foreach (VectorPath path in AllPaths)
        {
            using var _ = Simd.Force(path);
            var batch = new float[14 * rows];
            MatMul.Multiply(x, 14, m, batch);
            foreach (int i in new[] { 0, 5, 13 })
            {
                var alone = new float[rows];
                MatMul.Multiply(x.AsSpan(i * cols, cols), 1, m, alone);
                AssertBits(batch.AsSpan(i * rows, rows).ToArray(), alone, $"{path} row {i}");
            }
        }
    }

    [Theory]
    [InlineData(0, 9, true, 64)]
    [InlineData(37, 1, true, 64)]
    [InlineData(20, 6, false, 16)]
    [InlineData(13, 5, true, 5)]
    [InlineData(70, 4, true, 24)]
    [InlineData(80, 41, true, 64)]     // many blocks of four over rows longer than 64
    [InlineData(0, 70, false, 32)]
    public void Attention_gives_the_same_bits_at_every_width(int past, int queries, bool causal, int hd)
    {
        const int heads = 3;
        var rng = new Random(past * 131 + queries * 7 + hd);
        int total = past + queries, capacity = (total + 21 + 15) & ~15;
        float[] q = RandomArray(rng, queries * heads * hd, 2f);
        float[] kt = RandomArray(rng, heads * capacity * hd, 2f), v = RandomArray(rng, heads * capacity * hd);
        ushort[] kt16 = [.. kt.Select(KvBFloat16.FromSingle)], v16 = [.. v.Select(KvBFloat16.FromSingle)];
        float[] mask = new float[total];
        mask[1] = float.MinValue;
        var scratch = new float[Attention.ScratchSize(heads, total)];
        float[]? first = null, first16 = null;
        foreach (VectorPath path in AllPaths)
        {
            var y = new float[queries * heads * hd];
            var y16 = new float[y.Length];
            using (Simd.Force(path))
            {
                Attention.Forward(q, heads * hd, kt, v, capacity, heads, hd, past, queries, causal, mask, y, scratch);
                Attention.Forward<ushort, KvBFloat16>(q, heads * hd, kt16, v16, capacity, heads, hd, past, queries, causal, mask, y16, scratch);
            }
            first ??= y;
            first16 ??= y16;
            AssertBits(first, y, $"float32 cache, {path}");
            AssertBits(first16, y16, $"bfloat16 cache, {path}");
        }
    }

    [Fact]
    public void Element_wise_kernels_and_layer_norm_give_the_same_bits_at_every_width()
    {
        var rng = new Random(3);
        float[] x = [.. RandomArray(rng, 1003, 12f), float.NaN, float.NegativeInfinity, 0f, -0f, 100f, -100f];
        float[] w = RandomArray(rng, 101), b = RandomArray(rng, 101);
        var results = new List<float[]>();
        foreach (VectorPath path in AllPaths)
        {
            using var _ = Simd.Force(path);
            var exp = new float[x.Length];
            var gelu = new float[x.Length];
            var elu = new float[x.Length];
            var norm = new float[909];
            Exp.Forward(x, exp);
            Gelu.Forward(x, gelu);
            Elu.Apply(x, elu, 0.7f);
            LayerNorm.Forward(x.AsSpan(0, 909), 9, w, b, norm);
            results.Add([.. exp, .. gelu, .. elu, .. norm, Simd.Sum(x.AsSpan(0, 1003))]);
        }
        AssertBits(results[0], results[1], "Vector256 against Vector128");
        AssertBits(results[0], results[2], "Vector512 against Vector128");
    }

    [Fact]
    public void Add_and_scale_give_the_bits_of_TensorPrimitives_at_every_width()
    {
        var rng = new Random(5);
        float[] x = [.. RandomArray(rng, 1001, 3f), float.NaN, float.PositiveInfinity, -0f], y = RandomArray(rng, x.Length, 1e-3f);
        var sum = new float[x.Length];
        var scaled = new float[x.Length];
        System.Numerics.Tensors.TensorPrimitives.Add(x, y, sum);
        System.Numerics.Tensors.TensorPrimitives.Multiply(x, 0.37f, scaled);
        foreach (VectorPath path in AllPaths)
        {
            using var _ = Simd.Force(path);
            var s = new float[x.Length];
            Simd.Add(x, y, s);
            float[] inPlace = [.. x];
            Simd.Add(inPlace, y, inPlace);
            float[] t = [.. x];
            Simd.Scale(t, 0.37f);
            AssertBits(sum, s, $"Add, {path}");
            AssertBits(sum, inPlace, $"Add in place, {path}");
            AssertBits(scaled, t, $"Scale, {path}");
        }
    }

    [Theory]
    [InlineData(5, 7, 3, 100, 1, 1)]
    [InlineData(16, 9, 7, 61, 1, 3)]
    [InlineData(3, 4, 4, 250, 2, 1)]
    public void Conv1d_gives_the_bits_of_the_scalar_fma_chain_at_every_width(int cin, int cout, int k, int length, int stride, int dilation)
    {
        var rng = new Random(cin * 100 + cout * 10 + k);
        float[] x = RandomArray(rng, cin * length), weight = RandomArray(rng, cout * cin * k), bias = RandomArray(rng, cout);
        var conv = Conv1dWeight.FromTorch(weight, cout, cin, k, bias);
        int outLength = Conv1d.OutputLength(length, k, stride, dilation);
        var expected = new float[cout * outLength];
        for (int co = 0; co < cout; co++)
            for (int t = 0; t < outLength; t++)
            {
                float acc = 0;
                for (int ci = 0; ci < cin; ci++)
                    for (int j = 0; j < k; j++)
                        acc = MathF.FusedMultiplyAdd(x[ci * length + t * stride + j * dilation], weight[(co * cin + ci) * k + j], acc);
                expected[co * outLength + t] = acc + bias[co];
            }
        foreach (VectorPath path in AllPaths)
        {
            var y = new float[expected.Length];
            using (Simd.Force(path)) Conv1d.Forward(x, length, conv, y, stride, dilation, maxThreads: 2);
            AssertBits(expected, y, path.ToString());
        }
    }

    private static void AssertBits(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]) && !(float.IsNaN(expected[i]) && float.IsNaN(actual[i])))
                Assert.Fail($"{what}: element {i} is {actual[i]:R}, expected {expected[i]:R}");
    }
}

/// <summary>The 128-bit FMA computed in double arithmetic (x86 without the FMA instruction) against the correctly rounded scalar one.</summary>
public class FusedMultiplyAddViaDoubleTests
{
    [Fact]
    public void Gives_the_correctly_rounded_result_on_random_and_halfway_cases()
    {
        var rng = new Random(17);
        var cases = new List<(float A, float B, float C)>();
        for (int i = 0; i < 20_000; i++)
        {
            float a = (float)(rng.NextDouble() * 2 - 1) * MathF.Pow(2, rng.Next(-20, 20));
            float b = (float)(rng.NextDouble() * 2 - 1) * MathF.Pow(2, rng.Next(-20, 20));
            cases.Add((a, b, (float)(rng.NextDouble() * 2 - 1) * MathF.Pow(2, rng.Next(-30, 30))));
            // c close to −a·b: heavy cancellation.
            cases.Add((a, b, -(a * b) * (1 + (float)rng.NextDouble() * 1e-6f)));
        }
        // Products whose exact value lies just off a float halfway point, where rounding the sum twice goes wrong:
        // (1 + 2⁻¹²)² = 1 + 2⁻¹¹ + 2⁻²⁴, then c pulls the sum across or onto halfway points.
        float u = 1 + MathF.Pow(2, -12);
        foreach (float c in new[] { 0f, MathF.Pow(2, -24), -MathF.Pow(2, -24), MathF.Pow(2, -48), -MathF.Pow(2, -48), MathF.Pow(2, -23), 1f, -1f, 2f })
        {
            cases.Add((u, u, c));
            cases.Add((-u, u, c));
        }
        for (int i = 0; i < 2000; i++)
        {
            // a·b = m · 2^e with a 25-bit m (odd, so exactly halfway in float), plus a tiny c on either side.
            int m1 = rng.Next(1 << 11, 1 << 12) | 1, m2 = rng.Next(1 << 12, 1 << 13) | 1;
            float tiny = MathF.Pow(2, -rng.Next(30, 60)) * (rng.Next(2) == 0 ? 1 : -1);
            cases.Add((m1, m2, tiny * m1 * m2));
            cases.Add((m1, m2, 0));
        }
        cases.Add((float.PositiveInfinity, 1f, 1f));
        cases.Add((float.NaN, 1f, 1f));
        cases.Add((float.MaxValue, 2f, -float.MaxValue));
        cases.Add((1e-30f, 1e-30f, 0f));
        cases.Add((1e-20f, 1e-20f, 1e-40f));

        for (int i = 0; i + 4 <= cases.Count; i += 4)
        {
            var a = Vector128.Create(cases[i].A, cases[i + 1].A, cases[i + 2].A, cases[i + 3].A);
            var b = Vector128.Create(cases[i].B, cases[i + 1].B, cases[i + 2].B, cases[i + 3].B);
            var c = Vector128.Create(cases[i].C, cases[i + 1].C, cases[i + 2].C, cases[i + 3].C);
            Vector128<float> r = Simd128.FusedMultiplyAddViaDouble(a, b, c);
            for (int l = 0; l < 4; l++)
            {
                float expected = MathF.FusedMultiplyAdd(a[l], b[l], c[l]);
                Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(r[l]) || (float.IsNaN(expected) && float.IsNaN(r[l])),
                    $"fma({a[l]:R}, {b[l]:R}, {c[l]:R}) = {r[l]:R}, expected {expected:R}");
            }
        }
    }
}
