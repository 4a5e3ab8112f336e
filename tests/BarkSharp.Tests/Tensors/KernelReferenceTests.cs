using BarkSharp.Tensors;

namespace BarkSharp.Tests.Tensors;

/// <summary>Each kernel against a plain scalar (double-precision where it matters) reference, on awkward sizes.</summary>
public class KernelReferenceTests
{
    private static float[] RandomArray(Random rng, int n, float scale = 1f) =>
        Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1) * scale).ToArray();

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(1, 37, 13)]
    [InlineData(3, 7, 9)]
    [InlineData(5, 131, 77)]
    [InlineData(2, 1000, 65)]
    [InlineData(17, 96, 256)]
    public void MatMul_matches_scalar_reference_with_and_without_bias(int n, int rows, int cols)
    {
        var rng = new Random(n * 1000 + rows * 10 + cols);
        float[] x = RandomArray(rng, n * cols), w = RandomArray(rng, rows * cols), bias = RandomArray(rng, rows);
        foreach (float[]? b in new[] { null, bias })
        {
            var m = WeightMatrix.FromFloat32(w, rows, cols, b);
            var y = new float[n * rows];
            MatMul.Multiply(x, n, m, y, maxThreads: 2);
            for (int i = 0; i < n; i++)
                for (int o = 0; o < rows; o++)
                {
                    double expected = b?[o] ?? 0;
                    for (int k = 0; k < cols; k++) expected += (double)x[i * cols + k] * w[o * cols + k];
                    Assert.True(Math.Abs(y[i * rows + o] - expected) <= 1e-5 * (1 + Math.Abs(expected)), $"y[{i},{o}] = {y[i * rows + o]}, expected {expected}");
                }
        }
    }

    [Fact]
    public void MatMul_row_range_equals_slice_of_full_product_and_is_thread_count_invariant()
    {
        var rng = new Random(7);
        int n = 3, rows = 1031, cols = 203;
        float[] x = RandomArray(rng, n * cols), w = RandomArray(rng, rows * cols);
        var m = WeightMatrix.FromFloat32(w, rows, cols);
        var full1 = new float[n * rows];
        var full2 = new float[n * rows];
        MatMul.Multiply(x, n, m, full1, maxThreads: 1);
        MatMul.Multiply(x, n, m, full2, maxThreads: 2);
        Assert.Equal(full1, full2);

        var part = new float[n * 100];
        MatMul.MultiplyRows(x, n, m, 517, 100, part, maxThreads: 2);
        for (int i = 0; i < n; i++)
            Assert.Equal(full1.AsSpan(i * rows + 517, 100).ToArray(), part.AsSpan(i * 100, 100).ToArray());
    }

    [Theory]
    [InlineData(29, 200, 600, WeightType.Float32)]      // a partial register tile, a partial panel, three input blocks
    [InlineData(29, 200, 600, WeightType.BFloat16)]     // bf16 weights (widened slice by slice off the generated kernels)
    [InlineData(1550, 64, 300, WeightType.Float32)]     // two row blocks on a 1 MB L2
    public void MatMul_shared_activation_packing_gives_the_same_bits_as_packing_per_thread(int n, int rows, int cols, WeightType type)
    {
        var rng = new Random(n + rows + cols);
        float[] x = RandomArray(rng, n * cols), w = RandomArray(rng, rows * cols), bias = RandomArray(rng, rows);
        var m = WeightMatrix.FromFloat32(w, rows, cols, bias, type);
        bool saved = MatMul.SharedPacking;
        try
        {
            var one = new float[n * rows];
            MatMul.Multiply(x, n, m, one, maxThreads: 1);
            foreach (bool shared in new[] { true, false })
            {
                MatMul.SharedPacking = shared;
                var two = new float[n * rows];
                MatMul.Multiply(x, n, m, two, maxThreads: 2);
                Assert.Equal(one, two);
                var part = new float[n * 37];
                MatMul.MultiplyRows(x, n, m, 21, 37, part, maxThreads: 2);
                for (int i = 0; i < n; i++)
                    Assert.Equal(one.AsSpan(i * rows + 21, 37).ToArray(), part.AsSpan(i * 37, 37).ToArray());
            }
        }
        finally
        {
            MatMul.SharedPacking = saved;
        }
    }

    [Theory]
    [InlineData(1, 1, true)]
    [InlineData(3, 13, true)]
    [InlineData(4, 768, false)]
    public void LayerNorm_matches_reference(int rows, int dim, bool withBias)
    {
        var rng = new Random(dim);
        float[] x = RandomArray(rng, rows * dim, 3f), w = RandomArray(rng, dim), b = withBias ? RandomArray(rng, dim) : [];
        var y = new float[x.Length];
        LayerNorm.Forward(x, rows, w, b, y);
        for (int r = 0; r < rows; r++)
        {
            double mean = 0, var = 0;
            for (int i = 0; i < dim; i++) mean += x[r * dim + i];
            mean /= dim;
            for (int i = 0; i < dim; i++) var += Math.Pow(x[r * dim + i] - mean, 2);
            var /= dim;
            for (int i = 0; i < dim; i++)
            {
                double expected = (x[r * dim + i] - mean) / Math.Sqrt(var + 1e-5) * w[i] + (withBias ? b[i] : 0);
                Assert.True(Math.Abs(y[r * dim + i] - expected) < 1e-5, $"row {r} col {i}: {y[r * dim + i]} vs {expected}");
            }
        }
    }

    [Fact]
    public void LayerNorm_and_gelu_give_the_same_bits_on_any_thread_count()
    {
        var rng = new Random(4);
        float[] x = RandomArray(rng, 300 * 96, 4f), w = RandomArray(rng, 96), b = RandomArray(rng, 96);
        var one = new float[x.Length];
        var two = new float[x.Length];
        LayerNorm.Forward(x, 300, w, b, one, LayerNorm.DefaultEpsilon, maxThreads: 1);
        LayerNorm.Forward(x, 300, w, b, two, LayerNorm.DefaultEpsilon, maxThreads: 2);
        Assert.Equal(one, two);
        float[] big = RandomArray(rng, 40_000, 6f);
        var g1 = new float[big.Length];
        var g2 = new float[big.Length];
        Gelu.Forward(big, g1, 1);
        Gelu.Forward(big, g2, 2);
        Assert.Equal(g1, g2);
    }

    [Fact]
    public void Gelu_is_the_exact_erf_form()
    {
        // Reference erf by its Maclaurin series (exact enough in double for |z| ≤ 4).
        static double SeriesErf(double z)
        {
            double sum = 0, term = z;
            for (int n = 0; n < 200; n++)
            {
                sum += term / (2 * n + 1);
                term *= -z * z / (n + 1);
            }
            return 2 / Math.Sqrt(Math.PI) * sum;
        }
        float[] x = Enumerable.Range(-500, 1001).Select(i => i / 90f).ToArray();
        var y = new float[x.Length];
        Gelu.Forward(x, y);
        for (int i = 0; i < x.Length; i++)
        {
            double expected = 0.5 * x[i] * (1 + SeriesErf(x[i] / Math.Sqrt(2)));
            Assert.True(Math.Abs(y[i] - expected) <= 1e-6 * (1 + Math.Abs(expected)), $"gelu({x[i]}) = {y[i]}, expected {expected}");
        }
        // The tanh approximation differs by ~1e-3 near |x| = 2; the exact form must not.
        Assert.True(Math.Abs(y[Array.IndexOf(x, 180 / 90f)] - 1.9544997) < 1e-6);
    }

    [Fact]
    public void Softmax_and_log_softmax_handle_negative_infinity()
    {
        float[] x = [1f, float.NegativeInfinity, 3f, -2f, float.NegativeInfinity];
        float[] p = (float[])x.Clone();
        Softmax.InPlace(p);
        double z = Math.Exp(1) + Math.Exp(3) + Math.Exp(-2);
        Assert.Equal(Math.Exp(1) / z, p[0], 6);
        Assert.Equal(0f, p[1]);
        Assert.Equal(Math.Exp(3) / z, p[2], 6);
        float[] l = (float[])x.Clone();
        Softmax.LogInPlace(l);
        Assert.Equal(1 - Math.Log(z), l[0], 5);
        Assert.Equal(float.NegativeInfinity, l[4]);
    }

    [Theory]
    [InlineData(0, 5, true, 16)]
    [InlineData(4, 1, true, 16)]
    [InlineData(3, 6, false, 16)]
    [InlineData(60, 21, true, 96)]
    [InlineData(70, 1, false, 80)]
    public void Attention_matches_naive_reference(int past, int queries, bool causal, int capacity)
    {
        const int heads = 3, hd = 5;
        var rng = new Random(past * 31 + queries);
        int total = past + queries;
        float[] q = RandomArray(rng, queries * heads * hd, 2f);
        float[] k = RandomArray(rng, heads * capacity * hd, 2f), v = RandomArray(rng, heads * capacity * hd);
        float[] mask = new float[total];
        mask[1] = float.MinValue;                              // key 1 is padding
        var output = new float[queries * heads * hd];
        float[] kt = Transposed(k, heads, capacity, hd);        // the kernel reads keys transposed: [heads, hd, capacity]
        Attention.Forward(q, heads * hd, kt, v, capacity, heads, hd, past, queries, causal, mask, output, new float[Attention.ScratchSize(heads, total)], maxThreads: 2);
        AssertMatchesNaiveAttention(q, k, v, heads, hd, capacity, past, queries, causal, output, 1e-5);
    }

    /// <summary>Cases for the bfloat16 cache: positions off multiples of 16, one query and blocks of four with a remainder, head widths 64 (the special-cased one), multiples of 16, and others.</summary>
    [Theory]
    [InlineData(0, 1, true, 2, 64)]
    [InlineData(37, 1, true, 3, 64)]
    [InlineData(20, 9, true, 2, 64)]
    [InlineData(11, 6, false, 2, 16)]
    [InlineData(50, 6, true, 2, 80)]
    [InlineData(13, 5, true, 3, 5)]
    [InlineData(100, 3, false, 1, 24)]
    [InlineData(300, 9, true, 4, 64)]
    public void Attention_over_a_bfloat16_cache_matches_the_reference_over_the_rounded_values(int past, int queries, bool causal, int heads, int hd)
    {
        var rng = new Random(past * 131 + queries * 7 + hd);
        int total = past + queries, capacity = (total + 21 + 15) & ~15;
        float[] q = RandomArray(rng, queries * heads * hd, 2f);
        ushort[] k16 = [.. RandomArray(rng, heads * capacity * hd, 2f).Select(KvBFloat16.FromSingle)];
        ushort[] v16 = [.. RandomArray(rng, heads * capacity * hd).Select(KvBFloat16.FromSingle)];
        float[] k = [.. k16.Select(KvBFloat16.ToSingle)], v = [.. v16.Select(KvBFloat16.ToSingle)];   // the values the cache holds
        ushort[] kt16 = [.. Transposed(k, heads, capacity, hd).Select(KvBFloat16.FromSingle)];
        float[] mask = new float[Math.Max(total, 2)];
        mask[1] = float.MinValue;                              // key 1 is padding
        var scratch = new float[Attention.ScratchSize(heads, total)];
        var one = new float[queries * heads * hd];
        var two = new float[one.Length];
        var widened = new float[one.Length];
        Attention.Forward<ushort, KvBFloat16>(q, heads * hd, kt16, v16, capacity, heads, hd, past, queries, causal, mask, one, scratch, maxThreads: 1);
        Attention.Forward<ushort, KvBFloat16>(q, heads * hd, kt16, v16, capacity, heads, hd, past, queries, causal, mask, two, scratch, maxThreads: 2);
        Attention.Forward(q, heads * hd, Transposed(k, heads, capacity, hd), v, capacity, heads, hd, past, queries, causal, mask, widened, scratch);

        Assert.Equal(one, two);                                 // any thread count, the same bits
        Assert.Equal(widened, one);                             // one kernel body: the float32 cache holding the same values agrees bit for bit
        AssertMatchesNaiveAttention(q, k, v, heads, hd, capacity, past, queries, causal, one, 1e-5);
    }

    /// <summary>
    /// A causal prefill of many queries gives, for each query, the bits of a decode step that runs it alone over the
    /// same cache: the blocks of four queries, the fused softmax passes and the value tiles keep one order per output.
    /// </summary>
    [Theory]
    [InlineData(0, 37, 64)]
    [InlineData(21, 18, 64)]
    [InlineData(90, 45, 64)]     // long rows: the fused exp and sum over many 16-element steps, masked and not
    [InlineData(0, 150, 32)]
    [InlineData(70, 40, 24)]
    [InlineData(3, 23, 48)]
    [InlineData(9, 11, 5)]
    public void Causal_prefill_gives_each_query_the_bits_of_a_decode_step(int past, int queries, int hd)
    {
        const int heads = 2;
        var rng = new Random(past * 17 + queries * 3 + hd);
        int total = past + queries, capacity = (total + 15) & ~15;
        float[] q = RandomArray(rng, queries * heads * hd, 2f);
        float[] kt = RandomArray(rng, heads * capacity * hd, 2f), v = RandomArray(rng, heads * capacity * hd);
        float[] mask = new float[total];
        mask[1] = float.MinValue;
        var scratch = new float[Attention.ScratchSize(heads, total)];
        var all = new float[queries * heads * hd];
        Attention.Forward(q, heads * hd, kt, v, capacity, heads, hd, past, queries, true, mask, all, scratch, maxThreads: 2);
        var one = new float[heads * hd];
        for (int t = 0; t < queries; t++)
        {
            Attention.Forward(q.AsSpan(t * heads * hd, heads * hd), heads * hd, kt, v, capacity, heads, hd, past + t, 1, true, mask, one, scratch);
            Assert.Equal(all.AsSpan(t * heads * hd, heads * hd).ToArray(), one);
        }
    }

    /// <summary><c>[heads, capacity, hd]</c> → <c>[heads, hd, capacity]</c>, the key cache's layout.</summary>
    private static float[] Transposed(float[] k, int heads, int capacity, int hd)
    {
        var kt = new float[k.Length];
        for (int h = 0; h < heads; h++)
            for (int j = 0; j < capacity; j++)
                for (int d = 0; d < hd; d++) kt[(h * hd + d) * capacity + j] = k[(h * capacity + j) * hd + d];
        return kt;
    }

    /// <summary>Softmax attention in double precision, key 1 masked as padding; keys and values <c>[heads, capacity, hd]</c>.</summary>
    private static void AssertMatchesNaiveAttention(float[] q, float[] k, float[] v, int heads, int hd, int capacity, int past, int queries, bool causal,
        float[] output, double tolerance)
    {
        int total = past + queries;
        for (int h = 0; h < heads; h++)
            for (int t = 0; t < queries; t++)
            {
                var allowed = Enumerable.Range(0, total).Where(j => j != 1 && (!causal || j <= past + t)).ToArray();
                double[] s = allowed.Select(j => Enumerable.Range(0, hd).Sum(d => (double)q[t * heads * hd + h * hd + d] * k[(h * capacity + j) * hd + d]) / Math.Sqrt(hd)).ToArray();
                if (allowed.Length == 0) continue;
                double max = s.Max();
                double[] e = s.Select(a => Math.Exp(a - max)).ToArray();
                double sum = e.Sum();
                for (int d = 0; d < hd; d++)
                {
                    double expected = allowed.Select((j, idx) => e[idx] / sum * v[(h * capacity + j) * hd + d]).Sum();
                    Assert.True(Math.Abs(output[t * heads * hd + h * hd + d] - expected) < tolerance, $"h{h} t{t} d{d}: {output[t * heads * hd + h * hd + d]} vs {expected}");
                }
            }
    }

    [Fact]
    public void Embedding_lookup_accumulate_and_out_of_range()
    {
        float[] table = [0, 1, 10, 11, 20, 21];
        var dst = new float[4];
        Embedding.Lookup(table, 2, [2, 0], dst);
        Assert.Equal([20f, 21f, 0f, 1f], dst);
        Embedding.Accumulate(table, 2, [1, 1], dst);
        Assert.Equal([30f, 32f, 10f, 12f], dst);
        var e = Assert.Throws<BarkInputException>(() => Embedding.Lookup(table, 2, [3], dst, "semantic input"));
        Assert.Contains("token id 3", e.Message);
        Assert.Contains("semantic input", e.Message);
    }
}

public class ExpTests
{
    [Fact]
    public void Exp_of_a_non_positive_argument_gives_the_bits_of_the_general_path_at_every_width()
    {
        float[] x = [.. Enumerable.Range(0, 40001).Select(i => -110f + i * 0.00275f), 0f, -0f, -1e-8f, -1e-40f, -87.33654f, -87.3365f, -87.33655f,
            -86.64f, -88f, -103f, float.MinValue, -float.Epsilon, float.NegativeInfinity,
            1e-7f, 0.5f, 10f, 50f, 87.5f, 88.3f];   // and the positive range it also covers (n ≤ 127), as GELU's exponent may round above 0
        var general = new float[x.Length];
        BarkSharp.Tensors.Exp.Forward(x, general);
        foreach (VectorPath path in new[] { VectorPath.Vector128, VectorPath.Vector256, VectorPath.Vector512 })
        {
            using var _ = Simd.Force(path);
            var y = new float[x.Length];
            Simd.Map<NonPositiveExp>(default, x, y);
            for (int i = 0; i < x.Length; i++)
                Assert.True(BitConverter.SingleToInt32Bits(general[i]) == BitConverter.SingleToInt32Bits(y[i]), $"{path}: exp({x[i]:R}) = {y[i]:R}, general {general[i]:R}");
        }
        var nan = new float[1];
        Simd.Map<NonPositiveExp>(default, [float.NaN], nan);
        Assert.True(float.IsNaN(nan[0]));
    }

    [Fact]
    public void A_nan_comes_back_as_the_same_nan_at_every_width()
    {
        // The clamp and the conversion of n use the hardware's max, min and convert, which do not keep a NaN (x86's
        // give the bound or int.MinValue): the last select must put x back, its payload included.
        float[] x = [BitConverter.Int32BitsToSingle(0x7FC01234), 1f, BitConverter.Int32BitsToSingle(unchecked((int)0xFFC00001)), -1f, float.NaN,
            -100f, 100f, float.PositiveInfinity, float.NegativeInfinity, 0f];
        foreach (VectorPath path in new[] { VectorPath.Vector128, VectorPath.Vector256, VectorPath.Vector512 })
        {
            using var _ = Simd.Force(path);
            var y = new float[x.Length];
            BarkSharp.Tensors.Exp.Forward(x, y);
            foreach (int i in new[] { 0, 2, 4 })
                Assert.Equal(BitConverter.SingleToInt32Bits(x[i]), BitConverter.SingleToInt32Bits(y[i]));
            Assert.Equal([0f, float.PositiveInfinity, float.PositiveInfinity, 0f, 1f], [y[5], y[6], y[7], y[8], y[9]]);
        }
    }

    private readonly struct NonPositiveExp : IVectorMap
    {
        public TVec Apply<TSimd, TVec>(TVec x)
            where TSimd : struct, ISimd<TVec>
            where TVec : struct => BarkSharp.Tensors.Exp.NonPositive<TSimd, TVec>(x);
    }

    [Fact]
    public void Vector_exp_is_within_three_ulp_of_double_precision()
    {
        float[] x = [.. Enumerable.Range(0, 20001).Select(i => -100f + i * 0.0095f), 0f, -0f, 1e-8f, float.NaN, float.NegativeInfinity, float.PositiveInfinity, 88.7f, -87.3f];
        var y = new float[x.Length];
        BarkSharp.Tensors.Exp.Forward(x, y);
        for (int i = 0; i < x.Length; i++)
        {
            double expected = Math.Exp(x[i]);
            if (float.IsNaN(x[i]))
            {
                Assert.True(float.IsNaN(y[i]));
                continue;
            }
            if (expected < 1.18e-38)
            {
                Assert.True(y[i] <= 1.2e-38f, $"exp({x[i]}) = {y[i]}");
                continue;
            }
            if (expected > float.MaxValue)
            {
                Assert.Equal(float.PositiveInfinity, y[i]);
                continue;
            }
            double ulp = MathF.BitIncrement((float)expected) - (float)expected;
            Assert.True(Math.Abs(y[i] - expected) <= 3 * ulp, $"exp({x[i]}) = {y[i]}, expected {expected}");
        }
    }
}
