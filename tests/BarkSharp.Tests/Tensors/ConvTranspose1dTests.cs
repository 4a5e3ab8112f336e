using BarkSharp.Tensors;

namespace BarkSharp.Tests.Tensors;

public class ConvTranspose1dTests
{
    /// <summary>Plain definition: y[co, t·stride + j] += W[ci, co, j]·x[ci, t], plus the bias, full length.</summary>
    private static float[] Reference(float[] x, int cin, int length, float[] w, float[]? b, int cout, int k, int stride)
    {
        int full = (length - 1) * stride + k;
        var acc = new double[cout * full];
        for (int co = 0; co < cout; co++)
        {
            for (int p = 0; p < full; p++) acc[co * full + p] = b?[co] ?? 0;
            for (int ci = 0; ci < cin; ci++)
                for (int t = 0; t < length; t++)
                    for (int j = 0; j < k; j++)
                        acc[co * full + t * stride + j] += (double)w[(ci * cout + co) * k + j] * x[ci * length + t];
        }
        return acc.Select(v => (float)v).ToArray();
    }

    [Theory]
    [InlineData(1, 1, 1, 1, 1, 0, 0)]
    [InlineData(3, 5, 16, 8, 40, 8, 0)]
    [InlineData(7, 4, 10, 5, 33, 0, 5)]
    [InlineData(6, 9, 8, 4, 2, 4, 0)]
    [InlineData(5, 3, 4, 2, 101, 1, 1)]
    [InlineData(4, 6, 7, 3, 29, 2, 2)]
    [InlineData(2, 3, 3, 5, 11, 0, 0)]
    [InlineData(16, 8, 16, 8, 1, 0, 8)]
    [InlineData(40, 21, 10, 5, 97, 3, 2)]
    [InlineData(9, 5, 8, 4, 150, 0, 4)]
    [InlineData(9, 6, 8, 4, 131, 3, 1)]
    [InlineData(12, 8, 4, 2, 200, 0, 2)]
    [InlineData(7, 4, 4, 2, 157, 1, 0)]
    public void Matches_scalar_reference_with_trimming(int cin, int cout, int k, int stride, int length, int trimLeft, int trimRight)
    {
        var rng = new Random(cin * 100 + k * 7 + length);
        float[] x = Conv1dTests.RandomArray(rng, cin * length), w = Conv1dTests.RandomArray(rng, cin * cout * k), b = Conv1dTests.RandomArray(rng, cout);
        float[] full = Reference(x, cin, length, w, b, cout, k, stride);
        int fullLength = ConvTranspose1d.FullLength(length, k, stride);
        int outLength = fullLength - trimLeft - trimRight;
        float[] expected = new float[cout * outLength];
        for (int co = 0; co < cout; co++) Array.Copy(full, co * fullLength + trimLeft, expected, co * outLength, outLength);

        var weight = ConvTranspose1dWeight.FromTorch(w, cin, cout, k, stride, b);
        foreach (int threads in new[] { 1, 3 })
        {
            var y = new float[expected.Length];
            ConvTranspose1d.Forward(x, length, weight, y, trimLeft, outLength, threads);
            Conv1dTests.AssertClose(expected, y, 1e-5);
        }
    }

    [Fact]
    public void Result_does_not_depend_on_the_thread_count()
    {
        var rng = new Random(3);
        int cin = 64, cout = 32, k = 8, stride = 4, length = 700;
        float[] x = Conv1dTests.RandomArray(rng, cin * length), w = Conv1dTests.RandomArray(rng, cin * cout * k);
        var weight = ConvTranspose1dWeight.FromTorch(w, cin, cout, k, stride);
        int outLength = length * stride;
        float[] one = new float[cout * outLength], many = new float[cout * outLength];
        ConvTranspose1d.Forward(x, length, weight, one, 0, outLength, 1);
        ConvTranspose1d.Forward(x, length, weight, many, 0, outLength, 4);
        Assert.Equal(one, many);
    }

    [Fact]
    public void Window_outside_the_output_is_rejected()
    {
        var weight = ConvTranspose1dWeight.FromTorch(new float[2 * 2 * 4], 2, 2, 4, 2);
        Assert.Throws<ArgumentOutOfRangeException>(() => ConvTranspose1d.Forward(new float[10], 5, weight, new float[100], 1, 12));
    }
}
