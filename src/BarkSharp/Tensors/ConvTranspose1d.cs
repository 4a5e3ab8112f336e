namespace BarkSharp.Tensors;

/// <summary>
/// A <c>ConvTranspose1d</c> weight <c>[InChannels, OutChannels, KernelSize]</c> (PyTorch layout) with its stride and an
/// optional bias, rearranged once into an ordinary stride-1 convolution: output step <c>p = q·stride + r</c> only
/// receives taps <c>r, r + stride, …</c> of the kernel, so "phase" <c>r</c> of output channel <c>co</c> is
/// channel <c>co·stride + r</c> of a convolution with <see cref="PhaseTaps"/> taps (in reverse order) over the input.
/// </summary>
internal sealed class ConvTranspose1dWeight
{
    private ConvTranspose1dWeight(Conv1dWeight phases, int inChannels, int outChannels, int kernelSize, int stride)
    {
        Phases = phases;
        InChannels = inChannels;
        OutChannels = outChannels;
        KernelSize = kernelSize;
        Stride = stride;
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

    /// <summary>
    /// <c>[OutChannels·Stride, InChannels, PhaseTaps]</c>: <c>P[co·s + r, ci, j] = W[ci, co, r + (PhaseTaps − 1 − j)·s]</c>
    /// (zero past the kernel), bias <c>b[co]</c> on every phase.
    /// </summary>
    internal Conv1dWeight Phases { get; }

    /// <summary>Rearranges a PyTorch <c>ConvTranspose1d.weight</c> <c>[inChannels, outChannels, kernelSize]</c> (copied).</summary>
    public static ConvTranspose1dWeight FromTorch(ReadOnlySpan<float> weight, int inChannels, int outChannels, int kernelSize, int stride, float[]? bias = null)
    {
        if (inChannels <= 0 || outChannels <= 0 || kernelSize <= 0 || stride <= 0)
            throw new ArgumentException($"invalid transposed convolution shape [{inChannels}, {outChannels}, {kernelSize}] stride {stride}.");
        if (weight.Length != (long)inChannels * outChannels * kernelSize)
            throw new ArgumentException($"weight has {weight.Length} elements, expected {inChannels}×{outChannels}×{kernelSize}.", nameof(weight));
        if (bias is not null && bias.Length != outChannels)
            throw new ArgumentException($"bias has {bias.Length} elements, expected {outChannels}.", nameof(bias));
        int taps = (kernelSize + stride - 1) / stride, rows = outChannels * stride;
        var w = new float[(long)rows * inChannels * taps];
        for (int co = 0; co < outChannels; co++)
            for (int r = 0; r < stride; r++)
                for (int ci = 0; ci < inChannels; ci++)
                    for (int j = 0; j < taps; j++)
                    {
                        int tap = r + (taps - 1 - j) * stride;
                        if (tap < kernelSize)
                            w[(((long)co * stride + r) * inChannels + ci) * taps + j] = weight[(ci * outChannels + co) * kernelSize + tap];
                    }
        float[]? phaseBias = bias is null ? null : Enumerable.Range(0, rows).Select(m => bias[m / stride]).ToArray();
        return new ConvTranspose1dWeight(Conv1dWeight.FromTorch(w, rows, inChannels, taps, phaseBias), inChannels, outChannels, kernelSize, stride);
    }
}

/// <summary>
/// Transposed 1-D convolution over channel-major activations (PyTorch <c>ConvTranspose1d</c>, groups = 1, no output
/// padding): <c>y[co, t·stride + k] += W[ci, co, k]·x[ci, t]</c> plus the bias, full length
/// <c>(length − 1)·stride + KernelSize</c>. All phases are computed as one stride-1 convolution on
/// <see cref="Conv1d"/>'s engine (no zero-stuffed input), which stores each phase straight into its interleaved place
/// in the output (no phase buffer; with 2 or 4 phases as whole vectors, interleaved in registers); only the requested window is computed, so trimming costs nothing. Deterministic for any thread count.
/// </summary>
internal static class ConvTranspose1d
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

        // Phase step q covers outputs q·s + r and reads x[q − (taps − 1) + j] (zero outside x) for the reversed taps j;
        // the engine stores phase row co·s + r of step q straight at y[co, q·s + r − trimLeft].
        int qa = trimLeft / s, qb = (trimLeft + outLength - 1) / s + 1;
        Span<int> offsets = taps <= 64 ? stackalloc int[taps] : new int[taps];
        for (int j = 0; j < taps; j++) offsets[j] = j - (taps - 1);
        fixed (float* px = x)
        fixed (float* py = y)
            Conv1d.Run(px, length, offsets, w.Phases, qa, qb,
                new Conv1d.Output(py, outLength, accumulate: false, phases: s, shift: -trimLeft, limit: outLength), maxThreads);
    }
}
