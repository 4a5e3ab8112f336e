using BarkSharp.Tensors;

namespace BarkSharp.Tests.Tensors;

/// <summary>
/// The int8 path: activations quantized per row to bytes, exact integer dot products with the int8 panels. Every
/// integer kernel (AVX-VNNI, AVX2 pairs, portable 128-bit, scalar) must give exactly the bits of a plain reference written here.
/// </summary>
public class Int8MatMulTests
{
    /// <summary>Each row of <paramref name="x"/> as the int8 kernels see it: <c>scale · q + min</c>.</summary>
    internal static float[] Dequantized(float[] x, int n, int cols)
    {
        var result = new float[x.Length];
        var q = new byte[cols];
        for (int i = 0; i < n; i++)
        {
            MatMul.QuantizeRow(x.AsSpan(i * cols, cols), q, out float scale, out float min);
            for (int k = 0; k < cols; k++) result[i * cols + k] = (float)((double)scale * q[k] + min);
        }
        return result;
    }

    /// <summary>Plain reference: quantize each row, sum integer products, then the documented epilogue.</summary>
    private static float[] Reference(float[] x, int n, WeightMatrix m, int rowStart, int rowCount)
    {
        int cols = m.Cols;
        var y = new float[n * rowCount];
        var q = new byte[cols];
        for (int i = 0; i < n; i++)
        {
            MatMul.QuantizeRow(x.AsSpan(i * cols, cols), q, out float xScale, out float xMin);
            for (int c = 0; c < rowCount; c++)
            {
                int r = rowStart + c, sum = 0, acc = 0;
                for (int k = 0; k < cols; k++)
                {
                    int w = m.PackedI8![(long)(r / 32) * m.KGroups * 128 + k / 4 * 128 + r % 32 * 4 + k % 4];
                    acc += q[k] * w;
                    sum += w;
                }
                Assert.Equal(sum, m.WeightSums![r]);
                float v = m.Scales![r] * (xScale * acc + xMin * sum);
                y[i * rowCount + c] = m.Bias is null ? v : v + m.Bias[r];
            }
        }
        return y;
    }

    public static TheoryData<int, int, int, int, int> Shapes() => new()
    {
        // n, rows, cols, rowStart, rowCount
        { 1, 45, 37, 0, 45 },
        { 2, 100, 513, 0, 100 },
        { 3, 33, 300, 0, 33 },
        { 5, 130, 17, 7, 101 },
        { 13, 64, 130, 0, 64 },
        { 1, 300, 66, 101, 77 },
        { 2, 300, 66, 31, 200 },
        { 4, 40, 9, 0, 40 },        // fewer than four groups: no whole four-group step
        { 41, 70, 1000, 3, 64 },   // enough inputs that two threads split the quantization; six-row tiles and a rest of five
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Every_integer_kernel_gives_the_reference_bits(int n, int rows, int cols, int rowStart, int rowCount)
    {
        var rng = new Random(n * 1000 + rows * 31 + cols);
        float[] w = Enumerable.Range(0, rows * cols).Select(_ => (rng.NextSingle() - 0.5f) * 4).ToArray();
        float[] x = Enumerable.Range(0, n * cols).Select(_ => rng.NextSingle() * 3 - 1f).ToArray();
        float[] bias = Enumerable.Range(0, rows).Select(_ => rng.NextSingle()).ToArray();
        foreach (float[]? b in new[] { bias, null })
        {
            var m = WeightMatrix.FromFloat32(w, rows, cols, b, WeightType.Int8);
            float[] expected = Reference(x, n, m, rowStart, rowCount);
            var kernels = new List<Int8Kernel> { Int8Kernel.Scalar, Int8Kernel.Widening128 };
            if (System.Runtime.Intrinsics.X86.Avx2.IsSupported) kernels.Add(Int8Kernel.PairwiseAvx2);
            if (System.Runtime.Intrinsics.X86.AvxVnni.IsSupported) kernels.Add(Int8Kernel.Vnni);
            if (System.Runtime.Intrinsics.Arm.Dp.IsSupported) kernels.Add(Int8Kernel.DotProductArm64);
            foreach (Int8Kernel kernel in kernels)
                foreach (int threads in new[] { 1, 2 })
                {
                    var y = new float[n * rowCount];
                    MatMul.MultiplyRows(x, n, m, rowStart, rowCount, y, threads, kernel);
                    Assert.True(expected.AsSpan().SequenceEqual(y), $"{kernel}, {threads} threads, bias {b is not null}: first difference at {expected.Zip(y).TakeWhile(p => p.First == p.Second).Count()}");
                }
        }
    }

    [Fact]
    public void The_public_entry_point_uses_one_of_the_kernels()
    {
        var rng = new Random(5);
        float[] w = Enumerable.Range(0, 70 * 90).Select(_ => rng.NextSingle() - 0.5f).ToArray();
        float[] x = Enumerable.Range(0, 6 * 90).Select(_ => rng.NextSingle() - 0.5f).ToArray();
        var m = WeightMatrix.FromFloat32(w, 70, 90, null, WeightType.Int8);
        var y = new float[6 * 70];
        MatMul.Multiply(x, 6, m, y, 2);
        Assert.Equal(Reference(x, 6, m, 0, 70), y);
        // .ci/arm64-kernels names the kernel it means to test (SDOT), so a CPU model without it cannot pass unnoticed.
        if (Environment.GetEnvironmentVariable("BARKSHARP_EXPECT_INT8_KERNEL") is { Length: > 0 } expected)
            Assert.Equal(expected, MatMul.BestInt8Kernel.ToString());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(63)]
    [InlineData(64)]
    [InlineData(200)]
    [InlineData(3072)]
    public void Quantized_rows_are_within_half_a_step_and_the_padding_is_zero(int cols)
    {
        var rng = new Random(cols);
        float[] x = Enumerable.Range(0, cols).Select(_ => (rng.NextSingle() - 0.3f) * 10).ToArray();
        var q = new byte[cols + 5];
        Array.Fill(q, (byte)7);
        MatMul.QuantizeRow(x, q, out float scale, out float min);
        Assert.Equal(x.Min(), min);
        for (int k = 0; k < cols; k++)
        {
            // The vector and scalar parts of QuantizeRow round the same expression.
            Assert.Equal((byte)Math.Clamp(MathF.Round((x[k] - min) * (scale > 0 ? 1f / scale : 0f)), 0f, 255f), q[k]);
            Assert.InRange(Math.Abs(scale * q[k] + min - x[k]), 0, scale * 0.5001 + 1e-6);
        }
        Assert.All(q[cols..], b => Assert.Equal(0, b));
    }

    /// <summary>
    /// The row's range comes from BarkSharp's own min/max loops; scale, min and every byte must be what
    /// <c>TensorPrimitives.Min</c>/<c>Max</c> give, bit for bit, on rows with NaN, infinities, signed zeros and tails.
    /// </summary>
    [Theory]
    [InlineData(2)]
    [InlineData(17)]
    [InlineData(32)]
    [InlineData(33)]
    [InlineData(100)]
    [InlineData(771)]
    public void The_row_range_is_tensor_primitives_min_and_max_bit_for_bit(int cols)
    {
        var rng = new Random(cols);
        float[] special = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0f, -0f];
        for (int trial = 0; trial < 60; trial++)
        {
            float[] x = Enumerable.Range(0, cols).Select(_ => (rng.NextSingle() - 0.5f) * 8).ToArray();
            if (trial % 3 == 1) for (int k = 0; k < cols; k++) x[k] = Math.Abs(x[k]);                 // minimum near 0
            if (trial % 3 == 2) for (int k = 0; k < cols; k++) x[k] = -Math.Abs(x[k]);                // maximum near 0
            int specials = trial % 4;
            for (int s = 0; s < specials; s++) x[rng.Next(cols)] = special[rng.Next(special.Length)];
            if (trial % 5 == 0) x[rng.Next(cols)] = trial % 2 == 0 ? 0f : -0f;
            if (trial is 3 or 4)
            {
                // Zeros of both signs in one vector lane, the earlier one the extreme: −0 the minimum of positives,
                // +0 the maximum of negatives.
                for (int k = 0; k < cols; k++) x[k] = (trial == 3 ? 1 : -1) * (1 + rng.NextSingle());
                x[0] = trial == 3 ? -0f : 0f;
                for (int k = 16; k < cols; k += 16) x[k] = trial == 3 ? 0f : -0f;
            }
            float min = System.Numerics.Tensors.TensorPrimitives.Min(x), max = System.Numerics.Tensors.TensorPrimitives.Max(x);
            float scale = (max - min) / 255f, inverse = scale > 0 ? 1f / scale : 0f;
            var q = new byte[cols];
            MatMul.QuantizeRow(x, q, out float gotScale, out float gotMin);
            Assert.Equal(BitConverter.SingleToInt32Bits(min), BitConverter.SingleToInt32Bits(gotMin));
            Assert.Equal(BitConverter.SingleToInt32Bits(scale), BitConverter.SingleToInt32Bits(gotScale));
            for (int k = 0; k < cols; k++)
                Assert.Equal((byte)Math.Clamp(MathF.Round((x[k] - min) * inverse), 0f, 255f), q[k]);
        }
    }

    [Fact]
    public void A_constant_row_quantizes_to_zeros_and_multiplies_exactly()
    {
        var x = Enumerable.Repeat(0.75f, 40).ToArray();
        var q = new byte[40];
        MatMul.QuantizeRow(x, q, out float scale, out float min);
        Assert.Equal(0f, scale);
        Assert.Equal(0.75f, min);
        Assert.All(q, b => Assert.Equal(0, b));

        var m = WeightMatrix.FromFloat32(Enumerable.Repeat(0.5f, 3 * 40).ToArray(), 3, 40, null, WeightType.Int8);
        var y = new float[3];
        MatMul.Multiply(x, 1, m, y);
        Assert.All(y, v => Assert.Equal(0.75f * 0.5f * 40, v, 3));
    }

    [Fact]
    public void Activation_quantization_error_stays_within_its_bound()
    {
        var rng = new Random(11);
        int n = 8, rows = 96, cols = 768;
        float[] w = Enumerable.Range(0, rows * cols).Select(_ => (rng.NextSingle() - 0.5f) * 0.1f).ToArray();
        float[] x = Enumerable.Range(0, n * cols).Select(_ => (rng.NextSingle() - 0.5f) * 4).ToArray();
        var m = WeightMatrix.FromFloat32(w, rows, cols, null, WeightType.Int8);
        var y = new float[n * rows];
        MatMul.Multiply(x, n, m, y);
        var row = new float[cols];
        for (int o = 0; o < rows; o++)
        {
            m.CopyRow(o, row);
            for (int i = 0; i < n; i++)
            {
                double exact = 0, bound = 0;
                for (int k = 0; k < cols; k++)
                {
                    exact += (double)x[i * cols + k] * row[k];
                    bound += Math.Abs(row[k]);
                }
                // Each activation moves by at most half a step (range / 510).
                Assert.InRange(Math.Abs(y[i * rows + o] - exact), 0, bound * 4.0 / 510 + 1e-4);
            }
        }
    }
}
