using System.Runtime.Intrinsics;
using BarkSharp.Tensors;

namespace BarkSharp.Tests.Tensors;

public class LstmTests
{
    /// <summary>nn.LSTM, one layer, zero state, double precision; x [In, T] and the result [H, T] channel-major.</summary>
    private static float[] Reference(float[] x, int input, int steps, float[] wih, float[] whh, float[] bih, float[] bhh, int hidden)
    {
        var h = new double[hidden];
        var c = new double[hidden];
        var y = new float[hidden * steps];
        var gates = new double[4 * hidden];
        static double Sigmoid(double v) => 1 / (1 + Math.Exp(-v));
        for (int t = 0; t < steps; t++)
        {
            for (int r = 0; r < 4 * hidden; r++)
            {
                double s = bih[r] + bhh[r];
                for (int i = 0; i < input; i++) s += (double)wih[r * input + i] * x[i * steps + t];
                for (int j = 0; j < hidden; j++) s += whh[r * hidden + j] * h[j];
                gates[r] = s;
            }
            for (int j = 0; j < hidden; j++)
            {
                double ig = Sigmoid(gates[j]), fg = Sigmoid(gates[hidden + j]), gg = Math.Tanh(gates[2 * hidden + j]), og = Sigmoid(gates[3 * hidden + j]);
                c[j] = fg * c[j] + ig * gg;
                h[j] = og * Math.Tanh(c[j]);
                y[j * steps + t] = (float)h[j];
            }
        }
        return y;
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(3, 5, 17)]
    [InlineData(8, 8, 40)]
    [InlineData(13, 11, 9)]
    [InlineData(64, 48, 30)]
    public void Matches_scalar_reference(int input, int hidden, int steps)
    {
        var rng = new Random(input * 31 + hidden);
        float[] x = Conv1dTests.RandomArray(rng, input * steps);
        float[] wih = Conv1dTests.RandomArray(rng, 4 * hidden * input), whh = Conv1dTests.RandomArray(rng, 4 * hidden * hidden);
        float[] bih = Conv1dTests.RandomArray(rng, 4 * hidden), bhh = Conv1dTests.RandomArray(rng, 4 * hidden);
        float[] expected = Reference(x, input, steps, wih, whh, bih, bhh, hidden);
        var layer = LstmLayerWeight.FromTorch(wih, whh, bih, bhh, input, hidden);
        foreach (int threads in new[] { 1, 2 })
        {
            var y = new float[hidden * steps];
            Lstm.Forward(x, steps, layer, y, threads);
            Conv1dTests.AssertClose(expected, y, 2e-6);
        }
    }

    [Fact]
    public unsafe void The_recurrent_weights_start_on_a_cache_line()
    {
        var rng = new Random(2);
        for (int attempt = 0; attempt < 8; attempt++)
        {
            int hidden = 8 + attempt;
            var layer = LstmLayerWeight.FromTorch(Conv1dTests.RandomArray(rng, 4 * hidden * 3), Conv1dTests.RandomArray(rng, 4 * hidden * hidden),
                null, null, 3, hidden);
            fixed (float* w = layer.Recurrent) Assert.Equal(0, (long)(w + layer.RecurrentOrigin) % 64);
            Assert.True(layer.Recurrent.Length >= layer.RecurrentOrigin + layer.Panels * LstmLayerWeight.PanelRows * hidden);
        }
    }

    [Fact]
    public void Result_does_not_depend_on_the_thread_count()
    {
        var rng = new Random(1);
        int size = 256, steps = 50;
        float[] x = Conv1dTests.RandomArray(rng, size * steps);
        var layer = LstmLayerWeight.FromTorch(Conv1dTests.RandomArray(rng, 4 * size * size), Conv1dTests.RandomArray(rng, 4 * size * size),
            Conv1dTests.RandomArray(rng, 4 * size), null, size, size);
        float[] one = new float[size * steps], many = new float[size * steps];
        Lstm.Forward(x, steps, layer, one, 1);
        Lstm.Forward(x, steps, layer, many, 4);
        Assert.Equal(one, many);
    }

    [Theory]
    [InlineData(7, 5, 9)]
    [InlineData(40, 70, 12)]
    public void Every_vector_width_and_thread_count_gives_the_same_bits(int input, int hidden, int steps)
    {
        var rng = new Random(hidden);
        float[] x = Conv1dTests.RandomArray(rng, input * steps);
        var layer = LstmLayerWeight.FromTorch(Conv1dTests.RandomArray(rng, 4 * hidden * input), Conv1dTests.RandomArray(rng, 4 * hidden * hidden),
            Conv1dTests.RandomArray(rng, 4 * hidden), Conv1dTests.RandomArray(rng, 4 * hidden), input, hidden);
        var expected = new float[hidden * steps];
        using (Simd.Force(VectorPath.Vector128)) Lstm.Forward(x, steps, layer, expected, 1);
        foreach (VectorPath path in new[] { VectorPath.Vector256, VectorPath.Vector512 })
            foreach (int threads in new[] { 1, 3 })
            {
                var y = new float[hidden * steps];
                using (Simd.Force(path)) Lstm.Forward(x, steps, layer, y, threads);
                Assert.Equal(expected, y);
            }
    }

    [Theory]
    [InlineData(0f)]
    [InlineData(1e-6f)]
    [InlineData(-0.003f)]
    [InlineData(0.2499f)]
    [InlineData(-0.25f)]
    [InlineData(0.7f)]
    [InlineData(-3f)]
    [InlineData(9.5f)]
    [InlineData(-100f)]
    public void Gate_functions_match_double_precision(float v)
    {
        var vector = Vector128.Create(v);
        float sigmoid = Lstm.Sigmoid<Simd128, Vector128<float>>(vector).GetElement(0);
        float tanh = Lstm.Tanh<Simd128, Vector128<float>>(vector).GetElement(0);
        Assert.True(Math.Abs(sigmoid - 1 / (1 + Math.Exp(-v))) <= 4e-7 * (1 / (1 + Math.Exp(-v))) + 1e-38, $"sigmoid({v}) = {sigmoid}");
        Assert.True(Math.Abs(tanh - Math.Tanh(v)) <= 4e-7 * Math.Abs(Math.Tanh(v)), $"tanh({v}) = {tanh}");
    }

    [Fact]
    public void Cancellation_is_honoured()
    {
        var layer = LstmLayerWeight.FromTorch(new float[16], new float[64], null, null, 1, 4);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.Throws<OperationCanceledException>(() => Lstm.Forward(new float[10], 10, layer, new float[40], 1, cts.Token));
    }
}
