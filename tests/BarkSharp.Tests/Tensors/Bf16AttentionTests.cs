using BarkSharp.Tensors;
using BarkSharp.Tensors.Jit;

namespace BarkSharp.Tests.Tensors;

/// <summary>
/// Attention in bf16 arithmetic through the generated <c>vdpbf16ps</c> kernel (<see cref="Attention.ForwardBf16"/>)
/// against a scalar model of the same rounding steps, and its invariances: thread count, and a causal prefill giving
/// each query a decode step's bits.
/// </summary>
[Collection(nameof(JitSwitchCollection))]
public class Bf16AttentionTests
{
    /// <summary>A bfloat16 cache of random keys (stored transposed) and values, with the float32 values it holds.</summary>
    private sealed record Cache(ushort[] Keys, ushort[] Values, float[] K, float[] V, int Stride);

    private static Cache MakeCache(Random rng, int heads, int hd, int stride)
    {
        var k = new float[heads * stride * hd];
        var v = new float[heads * stride * hd];
        for (int i = 0; i < k.Length; i++) k[i] = Bf((rng.NextSingle() * 2 - 1) * 2f);
        for (int i = 0; i < v.Length; i++) v[i] = Bf(rng.NextSingle() * 2 - 1);
        var kt = new ushort[k.Length];
        for (int h = 0; h < heads; h++)
            for (int j = 0; j < stride; j++)
                for (int d = 0; d < hd; d++)
                    kt[(h * hd + d) * stride + j] = WeightMatrix.ToBFloat16(k[(h * stride + j) * hd + d]);
        return new Cache(kt, [.. v.Select(WeightMatrix.ToBFloat16)], k, v, stride);
    }

    private static float Bf(float v) => BitConverter.Int32BitsToSingle(WeightMatrix.ToBFloat16(v) << 16);

    private static float[] RandomQueries(Random rng, int n)
    {
        var q = new float[n];
        for (int i = 0; i < n; i++) q[i] = (rng.NextSingle() * 2 - 1) * 2f;
        return q;
    }

    /// <summary>
    /// Cases: one query (a decode step), 3, 13 and 17 queries (blocks of 12 and their rests), causal and not, heads
    /// 32, 64 and 96 wide, positions that end off a multiple of 32 with a stride that is not one (the last 32-position
    /// block copied), a long cache.
    /// </summary>
    [IsaTheory(JitIsa.Avx512 | JitIsa.Avx512Bf16)]
    [InlineData(0, 1, true, 2, 64)]
    [InlineData(37, 1, true, 3, 64)]
    [InlineData(20, 17, true, 2, 64)]
    [InlineData(11, 13, false, 2, 32)]
    [InlineData(5, 3, true, 2, 96)]
    [InlineData(300, 17, true, 2, 64)]
    [InlineData(0, 40, false, 1, 64)]
    public void Bf16_attention_matches_its_scalar_model(int past, int queries, bool causal, int heads, int hd)
    {
        var rng = new Random(past * 131 + queries * 7 + hd);
        int total = past + queries, stride = (total + 15) & ~15;
        Cache c = MakeCache(rng, heads, hd, stride);
        float[] q = RandomQueries(rng, queries * heads * hd);
        float[] mask = new float[total];
        if (total > 2) mask[1] = float.MinValue;              // key 1 is padding
        var one = new float[queries * heads * hd];
        var two = new float[one.Length];
        Attention.ForwardBf16(q, heads * hd, c.Keys, c.Values, stride, heads, hd, past, queries, causal, mask, one, maxThreads: 1);
        Attention.ForwardBf16(q, heads * hd, c.Keys, c.Values, stride, heads, hd, past, queries, causal, mask, two, maxThreads: 2);
        Assert.Equal(one, two);                                // any thread count, the same bits

        double scale = 1 / Math.Sqrt(hd);
        for (int t = 0; t < queries; t++)
            for (int h = 0; h < heads; h++)
            {
                int length = causal ? past + t + 1 : total;
                // The model: bf16 queries, exact scores, e^(s − max) in double rounded to bf16, exact sums divided by Σ e.
                var s = new double[length];
                double max = double.NegativeInfinity;
                for (int j = 0; j < length; j++)
                {
                    double dot = 0;
                    for (int d = 0; d < hd; d++) dot += (double)Bf(q[t * heads * hd + h * hd + d]) * c.K[(h * stride + j) * hd + d];
                    s[j] = dot * scale + mask[j];
                    max = Math.Max(max, s[j]);
                }
                double sum = 0;
                for (int j = 0; j < length; j++) sum += s[j] = Math.Exp(s[j] - max);
                for (int d = 0; d < hd; d++)
                {
                    double expected = 0, magnitude = 0;
                    for (int j = 0; j < length; j++)
                    {
                        double v = c.V[(h * stride + j) * hd + d];
                        expected += Bf((float)s[j]) * v / sum;
                        magnitude += s[j] / sum * Math.Abs(v);
                    }
                    // A numerator may round to the neighbouring bf16 (2⁻⁸ of it) after float32 scores and exp; sums in float32.
                    float got = one[t * heads * hd + h * hd + d];
                    Assert.True(Math.Abs(got - expected) <= magnitude / 256 + 1e-5, $"t {t}, head {h}, d {d}: {got} vs model {expected}");
                }
            }
    }

    [IsaTheory(JitIsa.Avx512 | JitIsa.Avx512Bf16)]
    [InlineData(0, 37, 64)]
    [InlineData(21, 18, 64)]
    [InlineData(3, 29, 32)]
    public void A_causal_prefill_gives_each_query_the_bits_of_a_decode_step(int past, int queries, int hd)
    {
        const int heads = 2;
        var rng = new Random(past * 17 + queries * 3 + hd);
        int total = past + queries, stride = (total + 15) & ~15;
        Cache c = MakeCache(rng, heads, hd, stride);
        float[] q = RandomQueries(rng, queries * heads * hd);
        float[] mask = new float[total];
        mask[1] = float.MinValue;
        var all = new float[queries * heads * hd];
        Attention.ForwardBf16(q, heads * hd, c.Keys, c.Values, stride, heads, hd, past, queries, true, mask, all, maxThreads: 2);
        var one = new float[heads * hd];
        for (int t = 0; t < queries; t++)
        {
            Attention.ForwardBf16(q.AsSpan(t * heads * hd, heads * hd), heads * hd, c.Keys, c.Values, stride, heads, hd, past + t, 1, true, mask, one);
            Assert.Equal(all.AsSpan(t * heads * hd, heads * hd).ToArray(), one);
        }
    }

    [Fact]
    public void Heads_of_other_widths_and_the_switch_leave_attention_to_the_float32_path()
    {
        Assert.False(Attention.Bf16Supported(48));
        Assert.False(Attention.Bf16Supported(16));
        bool was = JitKernels.Enabled;
        try
        {
            JitKernels.Enabled = false;
            Assert.False(Attention.Bf16Supported(64));
            Assert.Throws<PlatformNotSupportedException>(() =>
                Attention.ForwardBf16(new float[64], 64, new ushort[64 * 16], new ushort[64 * 16], 16, 1, 64, 0, 1, true, default, new float[64]));
        }
        finally
        {
            JitKernels.Enabled = was;
        }
        Assert.Equal(JitKernels.Isa.HasFlag(JitIsa.Avx512 | JitIsa.Avx512Bf16), Attention.Bf16Supported(64));
    }
}
