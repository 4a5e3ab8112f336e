using System.Numerics.Tensors;

namespace BarkSharp.Tensors;

/// <summary>
/// The weights of one unidirectional LSTM layer (PyTorch <c>nn.LSTM</c> <c>weight_ih_lk</c>, <c>weight_hh_lk</c>,
/// <c>bias_ih_lk</c>, <c>bias_hh_lk</c>; gate rows in PyTorch order i, f, g, o). The input projection is kept as a
/// 1×1 convolution so that all time steps are projected at once; the two biases are summed at load.
/// </summary>
internal sealed class LstmLayerWeight
{
    private LstmLayerWeight(Conv1dWeight input, WeightMatrix recurrent, int inputSize, int hiddenSize)
    {
        Input = input;
        Recurrent = recurrent;
        InputSize = inputSize;
        HiddenSize = hiddenSize;
    }

    /// <summary>Features of the input.</summary>
    public int InputSize { get; }

    /// <summary>Features of the hidden state (and output).</summary>
    public int HiddenSize { get; }

    /// <summary><c>W_ih</c> as a <c>[4H, In, 1]</c> convolution with bias <c>b_ih + b_hh</c>.</summary>
    internal Conv1dWeight Input { get; }

    /// <summary><c>W_hh</c> <c>[4H, H]</c>.</summary>
    internal WeightMatrix Recurrent { get; }

    /// <summary>
    /// Builds a layer from PyTorch tensors: <paramref name="weightIh"/> <c>[4H, In]</c>, <paramref name="weightHh"/>
    /// <c>[4H, H]</c>, biases <c>[4H]</c> (null = zero). The arrays are copied or repacked.
    /// </summary>
    public static LstmLayerWeight FromTorch(float[] weightIh, float[] weightHh, float[]? biasIh, float[]? biasHh, int inputSize, int hiddenSize)
    {
        int gates = 4 * hiddenSize;
        if (inputSize <= 0 || hiddenSize <= 0) throw new ArgumentException($"invalid LSTM sizes input {inputSize}, hidden {hiddenSize}.");
        if (weightIh.Length != (long)gates * inputSize) throw new ArgumentException($"weight_ih has {weightIh.Length} elements, expected {gates}×{inputSize}.", nameof(weightIh));
        if (weightHh.Length != (long)gates * hiddenSize) throw new ArgumentException($"weight_hh has {weightHh.Length} elements, expected {gates}×{hiddenSize}.", nameof(weightHh));
        if (biasIh is not null && biasIh.Length != gates) throw new ArgumentException($"bias_ih has {biasIh.Length} elements, expected {gates}.", nameof(biasIh));
        if (biasHh is not null && biasHh.Length != gates) throw new ArgumentException($"bias_hh has {biasHh.Length} elements, expected {gates}.", nameof(biasHh));
        var bias = new float[gates];
        if (biasIh is not null) TensorPrimitives.Add(bias, biasIh, bias);
        if (biasHh is not null) TensorPrimitives.Add(bias, biasHh, bias);
        return new LstmLayerWeight(
            Conv1dWeight.FromTorch(weightIh, gates, inputSize, 1, bias),
            WeightMatrix.FromFloat32(weightHh.ToArray(), gates, hiddenSize),
            inputSize, hiddenSize);
    }
}

/// <summary>
/// One LSTM layer over a whole sequence with zero initial state, on channel-major activations (the layout of the
/// convolutions around it): <c>i, f, g, o = σ, σ, tanh, σ(W_ih·x_t + b_ih + W_hh·h_{t−1} + b_hh)</c>,
/// <c>c_t = f·c_{t−1} + i·g</c>, <c>h_t = o·tanh(c_t)</c>. The input projections of all steps are one
/// multithreaded convolution; the recurrence is a matrix-vector product per step (<see cref="MatMul"/>), whose
/// fixed summation order keeps the result independent of the thread count.
/// </summary>
internal static class Lstm
{
    /// <summary>
    /// Runs the layer over <paramref name="x"/> <c>[InputSize, steps]</c> and writes the hidden states to
    /// <paramref name="y"/> <c>[HiddenSize, steps]</c>. <paramref name="x"/> and <paramref name="y"/> must not overlap.
    /// </summary>
    public static unsafe void Forward(ReadOnlySpan<float> x, int steps, LstmLayerWeight w, Span<float> y, int maxThreads = 1, CancellationToken cancellationToken = default)
    {
        int hidden = w.HiddenSize, gates = 4 * hidden;
        ArgumentOutOfRangeException.ThrowIfNegative(steps);
        if (x.Length < (long)w.InputSize * steps) throw new ArgumentException($"x has {x.Length} elements, expected {w.InputSize}×{steps}.", nameof(x));
        if (y.Length < (long)hidden * steps) throw new ArgumentException($"y has {y.Length} elements, expected {hidden}×{steps}.", nameof(y));
        if (steps == 0) return;

        // All input projections at once: g[4H, T].
        float[] g = GC.AllocateUninitializedArray<float>(checked(steps * gates));
        fixed (float* px = x)
        fixed (float* pg = g)
            Conv1d.Run(px, steps, [0], w.Input, 0, steps, pg, steps, accumulate: false, maxThreads);

        var h = new float[hidden];
        var c = new float[hidden];
        var gt = new float[gates];
        var recurrent = new float[gates];
        var tanhC = new float[hidden];
        for (int t = 0; t < steps; t++)
        {
            if ((t & 63) == 0) cancellationToken.ThrowIfCancellationRequested();
            for (int r = 0; r < gates; r++) gt[r] = g[r * steps + t];
            if (t > 0)
            {
                MatMul.Multiply(h, 1, w.Recurrent, recurrent, maxThreads);
                TensorPrimitives.Add(gt, recurrent, gt);
            }
            Span<float> inputForget = gt.AsSpan(0, 2 * hidden), cell = gt.AsSpan(2 * hidden, hidden), output = gt.AsSpan(3 * hidden);
            TensorPrimitives.Sigmoid(inputForget, inputForget);
            TensorPrimitives.Tanh(cell, cell);
            TensorPrimitives.Sigmoid(output, output);
            TensorPrimitives.Multiply(inputForget[hidden..], c, c);                // f·c
            TensorPrimitives.FusedMultiplyAdd(inputForget[..hidden], cell, c, c);  // + i·g
            TensorPrimitives.Tanh(c, tanhC);
            TensorPrimitives.Multiply(output, tanhC, h);
            for (int j = 0; j < hidden; j++) y[j * steps + t] = h[j];
        }
    }
}
