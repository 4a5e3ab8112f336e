using BarkSharp.Tensors;

namespace BarkSharp.Tests.Tensors;

public class Conv1dTests
{
    /// <summary>Plain definition, double accumulation: y[co, t] = b[co] + Σ W[co, ci, j]·x[ci, t·stride + j·dilation].</summary>
    internal static float[] Reference(float[] x, int cin, int length, float[] w, float[]? b, int cout, int k, int stride, int dilation)
    {
        int outLength = Conv1d.OutputLength(length, k, stride, dilation);
        var y = new float[cout * outLength];
        for (int co = 0; co < cout; co++)
            for (int t = 0; t < outLength; t++)
            {
                double s = b?[co] ?? 0;
                for (int ci = 0; ci < cin; ci++)
                    for (int j = 0; j < k; j++)
                        s += (double)w[(co * cin + ci) * k + j] * x[ci * length + t * stride + j * dilation];
                y[co * outLength + t] = (float)s;
            }
        return y;
    }

    internal static float[] RandomArray(Random rng, int n) => Enumerable.Range(0, n).Select(_ => rng.NextSingle() * 2 - 1).ToArray();

    internal static void AssertClose(float[] expected, float[] actual, double tol)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tol * (1 + Math.Abs(expected[i])), $"[{i}]: {actual[i]} vs {expected[i]}");
    }

    [Theory]
    [InlineData(1, 1, 1, 1, 1, 1)]
    [InlineData(3, 5, 7, 100, 1, 1)]
    [InlineData(8, 4, 3, 61, 1, 2)]
    [InlineData(13, 7, 3, 200, 1, 4)]
    [InlineData(6, 9, 4, 77, 2, 1)]
    [InlineData(5, 3, 10, 123, 5, 1)]
    [InlineData(4, 6, 3, 50, 3, 2)]
    [InlineData(32, 17, 1, 333, 1, 1)]
    [InlineData(2, 1, 7, 7, 1, 1)]
    [InlineData(64, 33, 7, 500, 1, 1)]
    [InlineData(32, 1, 7, 400, 1, 1)]
    public void Matches_scalar_reference(int cin, int cout, int k, int length, int stride, int dilation)
    {
        var rng = new Random(cin * 1000 + cout * 10 + k);
        float[] x = RandomArray(rng, cin * length), w = RandomArray(rng, cout * cin * k), b = RandomArray(rng, cout);
        float[] expected = Reference(x, cin, length, w, b, cout, k, stride, dilation);
        var weight = Conv1dWeight.FromTorch(w, cout, cin, k, b);
        foreach (int threads in new[] { 1, 3 })
        {
            var y = new float[expected.Length];
            Conv1d.Forward(x, length, weight, y, stride, dilation, maxThreads: threads);
            AssertClose(expected, y, 1e-5);
        }
    }

    [Fact]
    public void Accumulate_adds_to_the_output_and_bias_is_optional()
    {
        var rng = new Random(5);
        int cin = 5, cout = 6, k = 3, length = 40;
        float[] x = RandomArray(rng, cin * length), w = RandomArray(rng, cout * cin * k);
        float[] expected = Reference(x, cin, length, w, null, cout, k, 1, 1);
        float[] y = RandomArray(rng, expected.Length);
        float[] start = (float[])y.Clone();
        Conv1d.Forward(x, length, Conv1dWeight.FromTorch(w, cout, cin, k), y, accumulate: true);
        AssertClose(expected.Select((e, i) => e + start[i]).ToArray(), y, 1e-5);
    }

    [Fact]
    public void Result_does_not_depend_on_the_thread_count()
    {
        var rng = new Random(9);
        int cin = 48, cout = 40, k = 7, length = 3001;
        float[] x = RandomArray(rng, cin * length), w = RandomArray(rng, cout * cin * k), b = RandomArray(rng, cout);
        var weight = Conv1dWeight.FromTorch(w, cout, cin, k, b);
        int outLength = Conv1d.OutputLength(length, k);
        float[] one = new float[cout * outLength], many = new float[cout * outLength];
        Conv1d.Forward(x, length, weight, one, maxThreads: 1);
        Conv1d.Forward(x, length, weight, many, maxThreads: 4);
        Assert.Equal(one, many);
    }

    [Fact]
    public void Input_shorter_than_the_kernel_gives_no_output()
    {
        Assert.Equal(0, Conv1d.OutputLength(5, 7));
        Assert.Equal(1, Conv1d.OutputLength(7, 7));
        Assert.Equal(3, Conv1d.OutputLength(9, 3, dilation: 2, stride: 2));
    }
}
