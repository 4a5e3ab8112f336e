using BarkSharp.Tensors;

namespace BarkSharp.Tests.Tensors;

public class EluTests
{
    private static float Reference(float x, float alpha) => x > 0 ? x : (float)(alpha * (Math.Exp(x) - 1.0));

    [Theory]
    [InlineData(1, 1f)]
    [InlineData(7, 1f)]
    [InlineData(37, 1f)]
    [InlineData(1003, 0.5f)]
    public void Matches_scalar_reference(int n, float alpha)
    {
        var rng = new Random(n);
        float[] x = Enumerable.Range(0, n).Select(_ => (rng.NextSingle() - 0.5f) * 20).ToArray();
        x[0] = -88f;
        var y = new float[n];
        Elu.Apply(x, y, alpha);
        for (int i = 0; i < n; i++)
            Assert.True(Math.Abs(y[i] - Reference(x[i], alpha)) <= 2e-7 + 2e-7 * Math.Abs(Reference(x[i], alpha)), $"elu({x[i]}) = {y[i]}, expected {Reference(x[i], alpha)}");
    }

    [Fact]
    public void Works_in_place_and_keeps_nan()
    {
        float[] x = [-1f, 0f, 2f, float.NaN, -0.001f, 3f, -30f, 0.5f, -2f, float.NaN, 1f, -1f, 5f, -5f, 0f, 1e-3f, -1e-3f, float.NegativeInfinity];
        float[] expected = x.Select(v => float.IsNaN(v) ? float.NaN : Reference(v, 1f)).ToArray();
        Elu.ApplyInPlace(x);
        for (int i = 0; i < x.Length; i++)
        {
            if (float.IsNaN(expected[i])) Assert.True(float.IsNaN(x[i]), $"index {i}: {x[i]}");
            else Assert.True(Math.Abs(expected[i] - x[i]) <= 2e-7 * (1 + Math.Abs(expected[i])), $"index {i}: {x[i]} vs {expected[i]}");
        }
    }

    [Fact]
    public void Gives_the_bits_of_the_general_exponential_at_every_width_and_for_any_input()
    {
        // elu(x) = x for x > 0, else α·(eˣ − 1) with the general vector exponential of min(x, 0): what the kernel
        // computed before it took the non-positive exponential, whose lanes for x > 0 (huge ones included) it drops.
        float[] x = [.. Enumerable.Range(0, 20001).Select(i => -110f + i * 0.011f), 0f, -0f, -1e-8f, 1e-8f, -1e-40f, -87.33654f, -88f,
            -103f, float.MinValue, float.MaxValue, 88.3f, 100f, 1e30f, -float.Epsilon, float.NegativeInfinity, float.PositiveInfinity];
        const float Alpha = 0.7f;
        var e = new float[x.Length];
        BarkSharp.Tensors.Exp.Forward([.. x.Select(v => Math.Min(v, 0f))], e);
        float[] expected = [.. x.Select((v, i) => v > 0 ? v : Alpha * (e[i] - 1f))];
        foreach (VectorPath path in new[] { VectorPath.Vector128, VectorPath.Vector256, VectorPath.Vector512 })
        {
            using var _ = Simd.Force(path);
            var y = new float[x.Length];
            Elu.Apply(x, y, Alpha);
            for (int i = 0; i < x.Length; i++)
                Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(y[i]), $"{path}: elu({x[i]:R}) = {y[i]:R}, expected {expected[i]:R}");
        }
    }
}
