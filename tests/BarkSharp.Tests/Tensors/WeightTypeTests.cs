using BarkSharp.Tensors;

namespace BarkSharp.Tests.Tensors;

/// <summary>The reduced-precision weight paths of MatMul against a scalar reference over the dequantized weights.</summary>
public class WeightTypeTests
{
    public static TheoryData<WeightType, int, int, int> Shapes()
    {
        var data = new TheoryData<WeightType, int, int, int>();
        foreach (WeightType t in new[] { WeightType.Float32, WeightType.BFloat16, WeightType.Float16, WeightType.Int8 })
            foreach (var (n, rows, cols) in new[] { (1, 45, 37), (13, 33, 300), (2, 100, 513), (25, 64, 17) })
                data.Add(t, n, rows, cols);
        return data;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Every_weight_type_matches_the_reference_over_its_own_rounded_weights(WeightType type, int n, int rows, int cols)
    {
        var rng = new Random(rows * 31 + cols + (int)type);
        float[] w = Enumerable.Range(0, rows * cols).Select(_ => (rng.NextSingle() - 0.5f) * 4).ToArray();
        float[] x = Enumerable.Range(0, n * cols).Select(_ => rng.NextSingle() - 0.5f).ToArray();
        float[] bias = Enumerable.Range(0, rows).Select(_ => rng.NextSingle()).ToArray();
        var m = WeightMatrix.FromFloat32(w, rows, cols, bias, type);
        Assert.Equal(type, m.Type);
        var y = new float[n * rows];
        MatMul.Multiply(x, n, m, y, maxThreads: 2);

        // Int8 multiplies activations quantized per row; the reference uses the same quantized values.
        if (type == WeightType.Int8) x = Int8MatMulTests.Dequantized(x, n, cols);
        // The generated bf16 kernel (AVX512-BF16 hosts) multiplies activations rounded to bf16.
        if (type == WeightType.BFloat16 && BarkSharp.Tensors.Jit.JitKernels.KindFor(type) == BarkSharp.Tensors.Jit.JitKernelKind.Bf16Avx512 && cols % 2 == 0)
            x = [.. x.Select(v => BitConverter.Int32BitsToSingle(WeightMatrix.ToBFloat16(v) << 16))];
        var row = new float[cols];
        double maxQuantError = 0;
        for (int o = 0; o < rows; o++)
        {
            m.CopyRow(o, row);
            for (int k = 0; k < cols; k++) maxQuantError = Math.Max(maxQuantError, Math.Abs(row[k] - w[o * cols + k]));
            for (int i = 0; i < n; i++)
            {
                double expected = bias[o];
                for (int k = 0; k < cols; k++) expected += (double)x[i * cols + k] * row[k];
                Assert.True(Math.Abs(y[i * rows + o] - expected) <= 2e-5 * (1 + Math.Abs(expected)), $"{type} y[{i},{o}] = {y[i * rows + o]}, expected {expected}");
            }
        }
        double bound = type switch { WeightType.Float32 => 0, WeightType.BFloat16 => 2 * 2f / 256, WeightType.Float16 => 2 * 2f / 2048, _ => 2f / 127 };
        Assert.InRange(maxQuantError, 0, bound);
    }

    [Fact]
    public void Bfloat16_rounds_to_nearest_even()
    {
        Assert.Equal(0x3F80, WeightMatrix.ToBFloat16(1f));
        Assert.Equal(0x3F80, WeightMatrix.ToBFloat16(BitConverter.UInt32BitsToSingle(0x3F808000)));   // tie → even
        Assert.Equal(0x3F82, WeightMatrix.ToBFloat16(BitConverter.UInt32BitsToSingle(0x3F818000)));   // tie → even (up)
        Assert.Equal(0x3F81, WeightMatrix.ToBFloat16(BitConverter.UInt32BitsToSingle(0x3F808001)));
        Assert.True(float.IsNaN(BitConverter.UInt32BitsToSingle((uint)WeightMatrix.ToBFloat16(float.NaN) << 16)));
    }

    [Fact]
    public void Reduced_types_are_thread_count_invariant()
    {
        var rng = new Random(3);
        float[] w = Enumerable.Range(0, 300 * 200).Select(_ => rng.NextSingle() - 0.5f).ToArray();
        float[] x = Enumerable.Range(0, 20 * 200).Select(_ => rng.NextSingle() - 0.5f).ToArray();
        foreach (WeightType t in new[] { WeightType.BFloat16, WeightType.Float16, WeightType.Int8 })
        {
            var m = WeightMatrix.FromFloat32(w, 300, 200, null, t);
            var a = new float[20 * 300];
            var b = new float[20 * 300];
            MatMul.Multiply(x, 20, m, a, 1);
            MatMul.Multiply(x, 20, m, b, 2);
            Assert.Equal(a, b);
        }
    }
}

/// <summary>The one-row decode kernel and the tiled prefill kernel compute identical bits for the same row.</summary>
public class MatMulBatchInvarianceTests
{
    [Theory]
    [InlineData(WeightType.Float32)]
    [InlineData(WeightType.BFloat16)]
    [InlineData(WeightType.Int8)]
    [InlineData(WeightType.Float16)]
    public void One_row_equals_the_same_row_inside_a_batch(WeightType type)
    {
        var rng = new Random(9);
        int rows = 300, cols = 530, n = 13;
        float[] w = Enumerable.Range(0, rows * cols).Select(_ => rng.NextSingle() - 0.5f).ToArray();
        float[] x = Enumerable.Range(0, n * cols).Select(_ => rng.NextSingle() - 0.5f).ToArray();
        var m = WeightMatrix.FromFloat32(w, rows, cols, null, type);
        var batch = new float[n * rows];
        MatMul.Multiply(x, n, m, batch, 2);
        for (int i = 0; i < n; i += 6)
        {
            var single = new float[rows];
            MatMul.Multiply(x.AsSpan(i * cols, cols), 1, m, single, 2);
            Assert.Equal(batch.AsSpan(i * rows, rows).ToArray(), single);
            if (i + 2 <= n)
            {
                var pair = new float[2 * rows];
                MatMul.Multiply(x.AsSpan(i * cols, 2 * cols), 2, m, pair, 2);
                Assert.Equal(batch.AsSpan(i * rows, 2 * rows).ToArray(), pair);
            }
            var part = new float[77];
            MatMul.MultiplyRows(x.AsSpan(i * cols, cols), 1, m, 101, 77, part, 1);
            Assert.Equal(single.AsSpan(101, 77).ToArray(), part);
        }
    }
}
