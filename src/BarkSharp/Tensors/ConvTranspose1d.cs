namespace BarkSharp.Tensors;

/// <summary>
/// A <c>ConvTranspose1d</c> weight <c>[InChannels, OutChannels, KernelSize]</c> (PyTorch layout) with its stride and an
/// optional bias, split once into <see cref="Stride"/> ordinary convolutions ("phases"): output step
/// <c>p = q·stride + r</c> only receives taps <c>r, r + stride, …</c>, so phase <c>r</c> is a stride-1 convolution of
/// the input with those taps in reverse order.
/// </summary>
public sealed class ConvTranspose1dWeight
{
    private ConvTranspose1dWeight(Conv1dWeight[] phases, int inChannels, int outChannels, int kernelSize, int stride, float[]? bias)
    {
        Phases = phases;
        InChannels = inChannels;
        OutChannels = outChannels;
        KernelSize = kernelSize;
        Stride = stride;
        Bias = bias;
    }

    /// <summary>Input channels.</summary>
    public int InChannels { get; }

    /// <summary>Output channels.</summary>
    public int OutChannels { get; }

    /// <summary>Taps of the kernel.</summary>
    public int KernelSize { get; }

    /// <summary>Upsampling factor.</summary>
    public int Stride { get; }

    /// <summary>Taps per phase: <c>ceil(KernelSize / Stride)</c>.</summary>
    public int PhaseTaps => (KernelSize + Stride - 1) / Stride;

    /// <summary>Phase <c>r</c>: <c>W_r[co, ci, j] = W[ci, co, r + (PhaseTaps − 1 − j)·Stride]</c> (zero past the kernel).</summary>
    internal Conv1dWeight[] Phases { get; }

    /// <summary>One value per output channel, or null.</summary>
    internal float[]? Bias { get; }

    /// <summary>Splits a PyTorch <c>ConvTranspose1d.weight</c> <c>[inChannels, outChannels, kernelSize]</c> (copied).</summary>
    public static ConvTranspose1dWeight FromTorch(ReadOnlySpan<float> weight, int inChannels, int outChannels, int kernelSize, int stride, float[]? bias = null)
    {
        if (inChannels <= 0 || outChannels <= 0 || kernelSize <= 0 || stride <= 0)
            throw new ArgumentException($"invalid transposed convolution shape [{inChannels}, {outChannels}, {kernelSize}] stride {stride}.");
        if (weight.Length != (long)inChannels * outChannels * kernelSize)
            throw new ArgumentException($"weight has {weight.Length} elements, expected {inChannels}×{outChannels}×{kernelSize}.", nameof(weight));
        if (bias is not null && bias.Length != outChannels)
            throw new ArgumentException($"bias has {bias.Length} elements, expected {outChannels}.", nameof(bias));
        int taps = (kernelSize + stride - 1) / stride;
        var phases = new Conv1dWeight[stride];
        var w = new float[(long)outChannels * inChannels * taps];
        for (int r = 0; r < stride; r++)
        {
            for (int co = 0; co < outChannels; co++)
                for (int ci = 0; ci < inChannels; ci++)
                    for (int j = 0; j < taps; j++)
                    {
                        int tap = r + (taps - 1 - j) * stride;
                        w[((long)co * inChannels + ci) * taps + j] = tap < kernelSize ? weight[(ci * outChannels + co) * kernelSize + tap] : 0f;
                    }
            phases[r] = Conv1dWeight.FromTorch(w, outChannels, inChannels, taps, bias);
        }
        return new ConvTranspose1dWeight(phases, inChannels, outChannels, kernelSize, stride, bias?.ToArray());
    }
}

/// <summary>
/// Transposed 1-D convolution over channel-major activations (PyTorch <c>ConvTranspose1d</c>, groups = 1, no output
/// padding): <c>y[co, t·stride + k] += W[ci, co, k]·x[ci, t]</c> plus the bias, full length
/// <c>(length − 1)·stride + KernelSize</c>. Computed as <see cref="ConvTranspose1dWeight.Stride"/> interleaved
/// stride-1 convolutions on <see cref="Conv1d"/>'s engine, without materialising the zero-stuffed input; only the
/// requested window of the output is computed, so trimming costs nothing. Deterministic for any thread count.
/// </summary>
public static class ConvTranspose1d
{
    /// <summary>Full output length before any trimming.</summary>
    public static int FullLength(int length, int kernelSize, int stride) => length == 0 ? 0 : (length - 1) * stride + kernelSize;

    /// <summary>
    /// Writes output steps [<paramref name="trimLeft"/>, <paramref name="trimLeft"/> + <paramref name="outLength"/>) of
    /// the transposed convolution of <paramref name="x"/> <c>[InChannels, length]</c> to <paramref name="y"/>
    /// <c>[OutChannels, outLength]</c>.
    /// </summary>
    public static unsafe void Forward(ReadOnlySpan<float> x, int length, ConvTranspose1dWeight w, Span<float> y,
        int trimLeft, int outLength, int maxThreads = 1)
    {
        int s = w.Stride, taps = w.PhaseTaps, cin = w.InChannels, cout = w.OutChannels;
        int full = FullLength(length, w.KernelSize, s);
        if (trimLeft < 0 || outLength < 0 || (long)trimLeft + outLength > full)
            throw new ArgumentOutOfRangeException(nameof(outLength), $"window [{trimLeft}, {(long)trimLeft + outLength}) is outside the full output of {full} steps.");
        if (x.Length < (long)cin * length) throw new ArgumentException($"x has {x.Length} elements, expected {cin}×{length}.", nameof(x));
        if (y.Length < (long)cout * outLength) throw new ArgumentException($"y has {y.Length} elements, expected {cout}×{outLength}.", nameof(y));
        if (outLength == 0) return;

        // Phase r, step q covers output p = q·s + r and reads x[q − (taps − 1) + j] for taps j (reversed kernel).
        // Steps whose reads stay inside x run on the vector engine; the few at the edges run below with bounds checks.
        Span<int> offsets = taps <= 64 ? stackalloc int[taps] : new int[taps];
        for (int j = 0; j < taps; j++) offsets[j] = j - (taps - 1);
        fixed (float* px = x)
        fixed (float* py = y)
        {
            for (int r = 0; r < s; r++)
            {
                // Steps q with trimLeft ≤ q·s + r < trimLeft + outLength.
                int qa = CeilDiv(trimLeft - r, s), qb = CeilDiv(trimLeft + outLength - r, s);
                if (qb <= qa) continue;
                float* yr = py + (r - trimLeft);
                int ia = Math.Clamp(taps - 1, qa, qb), ib = Math.Clamp(length, ia, qb);
                Edge(px, length, w, r, qa, ia, yr, outLength);
                Conv1d.Run(px, length, offsets, w.Phases[r], ia, ib, yr, outLength, s, accumulate: false, maxThreads);
                Edge(px, length, w, r, ib, qb, yr, outLength);
            }
        }
    }

    private static unsafe void Edge(float* x, int length, ConvTranspose1dWeight w, int r, int q0, int q1, float* y, long ldy)
    {
        int taps = w.PhaseTaps, cin = w.InChannels, cout = w.OutChannels, s = w.Stride;
        float[] packed = w.Phases[r].Packed;
        for (int q = q0; q < q1; q++)
            for (int co = 0; co < cout; co++)
            {
                float sum = 0;
                long blockBase = (long)(co / Conv1dWeight.Block) * cin * taps * Conv1dWeight.Block + co % Conv1dWeight.Block;
                for (int ci = 0; ci < cin; ci++)
                    for (int j = 0; j < taps; j++)
                    {
                        int t = q - (taps - 1) + j;
                        if ((uint)t < (uint)length)
                            sum = MathF.FusedMultiplyAdd(x[(long)ci * length + t], packed[blockBase + ((long)ci * taps + j) * Conv1dWeight.Block], sum);
                    }
                y[co * ldy + (long)q * s] = w.Bias is null ? sum : sum + w.Bias[co];
            }
    }

    private static int CeilDiv(int a, int b) => a >= 0 ? (a + b - 1) / b : -(-a / b);
}
