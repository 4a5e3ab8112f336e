using System.Buffers;
using BarkSharp.Configuration;
using BarkSharp.Tensors;

namespace BarkSharp.Models.Encodec;

// The SEANet building blocks of Transformers' modeling_encodec.py (EncodecConv1d, EncodecConvTranspose1d,
// EncodecLSTM, EncodecResnetBlock), for one sample in channel-major layout [channels, time]. Weight norm is folded
// into plain weights at load (see EncodecWeightSource); time_group_norm is not supported (no Bark checkpoint uses it).

/// <summary>
/// Activations of one sample: <c>Data[c·Length + t]</c>, <c>Channels·Length</c> elements, possibly followed by spare
/// rows of the same length (room a residual block fills with its hidden activations, see <see cref="EncodecResnetBlock"/>).
/// </summary>
internal readonly record struct Signal(float[] Data, int Channels, int Length)
{
    /// <summary>
    /// A new signal with room for <paramref name="spareRows"/> more rows; <paramref name="pooled"/> takes the array
    /// from <see cref="ArrayPool{T}.Shared"/> (longer than asked: more spare rows), to be given back with <see cref="Return"/>.
    /// </summary>
    public static Signal Allocate(int channels, int length, int spareRows = 0, bool pooled = false)
    {
        int size = checked((channels + spareRows) * length);
        return new(pooled ? ArrayPool<float>.Shared.Rent(size) : GC.AllocateUninitializedArray<float>(size), channels, length);
    }

    /// <summary>Gives a pooled signal's array back; the signal must not be used afterwards.</summary>
    public void Return() => ArrayPool<float>.Shared.Return(Data);

    /// <summary>Rows past <see cref="Channels"/> that <see cref="Data"/> has room for.</summary>
    public int SpareRows => Length == 0 ? 0 : Data.Length / Length - Channels;

    public Span<float> Span => Data.AsSpan(0, Channels * Length);
}

/// <summary>How a convolution's input is extended past its ends (config <c>pad_mode</c>).</summary>
internal enum PadMode
{
    Constant,
    Reflect,
    Replicate,
}

/// <summary>
/// <c>EncodecConv1d</c>: a convolution that pads its input itself — causal (all padding on the left) or centred
/// (the extra odd step on the left), plus the right padding that makes the last window complete.
/// </summary>
internal sealed class EncodecConv1d
{
    private readonly Conv1dWeight _weight;
    private readonly int _stride, _dilation;
    private readonly bool _causal;
    private readonly PadMode _padMode;

    private EncodecConv1d(Conv1dWeight weight, int stride, int dilation, bool causal, PadMode padMode)
    {
        _weight = weight;
        _stride = stride;
        _dilation = dilation;
        _causal = causal;
        _padMode = padMode;
    }

    public int OutChannels => _weight.OutChannels;

    /// <summary>Reads <c>{module}.conv.*</c> (weight <c>[out, in, k]</c>, bias <c>[out]</c>).</summary>
    public static EncodecConv1d Load(EncodecWeightSource source, string module, EncodecConfig config,
        int inChannels, int outChannels, int kernelSize, int stride = 1, int dilation = 1)
    {
        int fanIn = inChannels * kernelSize;
        float[] w = source.ConvWeight(module + ".conv", [outChannels, inChannels, kernelSize], fanIn);
        float[] b = source.Tensor(module + ".conv.bias", [outChannels], fanIn);
        return new EncodecConv1d(Conv1dWeight.FromTorch(w, outChannels, inChannels, kernelSize, b), stride, dilation,
            config.UseCausalConv, ParsePadMode(config.PadMode));
    }

    /// <summary>
    /// Convolves <paramref name="x"/>, applying ELU to it first when <paramref name="elu"/> is set, and to the result
    /// when <paramref name="eluOutput"/> is.
    /// </summary>
    public Signal Forward(Signal x, bool elu, int maxThreads, bool eluOutput = false, bool pooled = false)
    {
        (int left, int right) = Padding(x.Length);
        int outLength = Conv1d.OutputLength(x.Length + left + right, _weight.KernelSize, _stride, _dilation);
        Signal y = Signal.Allocate(_weight.OutChannels, outLength, pooled: pooled);
        ForwardInto(x, elu, y.Span, accumulate: false, maxThreads, eluOutput);
        return y;
    }

    /// <summary>Output steps for an input of <paramref name="length"/> steps.</summary>
    public int OutputLength(int length)
    {
        (int left, int right) = Padding(length);
        return Conv1d.OutputLength(length + left + right, _weight.KernelSize, _stride, _dilation);
    }

    /// <summary>
    /// Writes (or, with <paramref name="accumulate"/>, adds) the convolution of <paramref name="x"/> to
    /// <paramref name="y"/>; <paramref name="eluOutput"/> stores ELU of the result (not with accumulation).
    /// </summary>
    public void ForwardInto(Signal x, bool elu, Span<float> y, bool accumulate, int maxThreads, bool eluOutput = false)
    {
        (int left, int right) = Padding(x.Length);
        int padded = x.Length + left + right;
        if (y.Length != (long)_weight.OutChannels * OutputLength(x.Length))
            throw new InvalidOperationException($"output buffer of {y.Length} does not fit the convolution.");
        if (left == 0 && right == 0 && !elu)
        {
            Conv1d.Forward(x.Span, x.Length, _weight, y, _stride, _dilation, accumulate, maxThreads, eluOutput);
            return;
        }
        int size = checked(x.Channels * padded);
        float[] input = ArrayPool<float>.Shared.Rent(size);
        Pad(x, left, right, _padMode, elu, input.AsSpan(0, size), maxThreads);
        Conv1d.Forward(input.AsSpan(0, size), padded, _weight, y, _stride, _dilation, accumulate, maxThreads, eluOutput);
        ArrayPool<float>.Shared.Return(input);
    }

    /// <summary>
    /// Left and right padding for an input of <paramref name="length"/> steps. The total is the effective kernel
    /// minus the stride; the extra right padding rounds the length up to whole strides
    /// (Transformers: ceil((L − k + total)/stride + 1) − 1 frames, which is ceil(L/stride)·stride − L).
    /// </summary>
    private (int Left, int Right) Padding(int length)
    {
        int kernel = (_weight.KernelSize - 1) * _dilation + 1;
        int total = kernel - _stride;
        int extra = (length + _stride - 1) / _stride * _stride - length;
        if (_causal) return (total, extra);
        int right = total / 2;
        return (total - right, right + extra);
    }

    /// <summary>
    /// Copies <paramref name="x"/> into <paramref name="dst"/> <c>[C, left + L + right]</c> with the padding filled in
    /// (ELU applied on the way when asked), channels split over up to <paramref name="maxThreads"/> threads. Reflect
    /// padding of an input no longer than the padding follows Transformers' <c>_pad1d</c>: the input is first extended
    /// with zeros to <c>max(left, right) + 1</c> steps, reflected, and the surplus cut from the end.
    /// </summary>
    internal static unsafe void Pad(Signal x, int left, int right, PadMode mode, bool elu, Span<float> dst, int maxThreads = 1)
    {
        int padded = left + x.Length + right;
        if (dst.Length < (long)x.Channels * padded) throw new ArgumentException($"dst has {dst.Length} elements, expected {x.Channels}×{padded}.", nameof(dst));
        // A thread per 64 Ki elements at most: a small signal is padded faster than threads start.
        int threads = (int)Math.Clamp(((long)x.Channels * padded) >> 16, 1, Math.Max(1, maxThreads));
        fixed (float* pd = dst)
            KernelParallel.For(new PadJob(x, left, right, mode, elu, pd), x.Channels, threads);
    }

    private readonly unsafe struct PadJob(Signal x, int left, int right, PadMode mode, bool elu, float* dst) : IRangeJob
    {
        public void Run(int c0, int c1)
        {
            int length = x.Length, padded = left + length + right;
            int extended = mode == PadMode.Reflect && length <= Math.Max(left, right) ? Math.Max(left, right) + 1 : length;
            for (int c = c0; c < c1; c++)
            {
                ReadOnlySpan<float> src = x.Data.AsSpan(c * length, length);
                var row = new Span<float>(dst + (long)c * padded, padded);
                Span<float> middle = row.Slice(left, length);
                if (elu) Elu.Apply(src, middle);
                else src.CopyTo(middle);
                for (int i = 0; i < left; i++) row[i] = Outside(middle, i - left, mode, extended);
                for (int i = left + length; i < padded; i++) row[i] = Outside(middle, i - left, mode, extended);
            }
        }
    }

    /// <summary>The padded value at position <paramref name="j"/> (relative to the first real step) outside the input.</summary>
    private static float Outside(ReadOnlySpan<float> x, int j, PadMode mode, int extended)
    {
        switch (mode)
        {
            case PadMode.Reflect:
                if (j < 0) j = -j;
                else if (j >= extended) j = 2 * (extended - 1) - j;
                return j < x.Length ? x[j] : 0f;
            case PadMode.Replicate:
                return x[Math.Clamp(j, 0, x.Length - 1)];
            default:
                return 0f;
        }
    }

    internal static PadMode ParsePadMode(string mode) => mode switch
    {
        "reflect" => PadMode.Reflect,
        "replicate" => PadMode.Replicate,
        "constant" => PadMode.Constant,
        _ => throw new BarkConfigException($"codec_config.pad_mode '{mode}' is not supported (reflect, constant or replicate)."),
    };
}

/// <summary>
/// <c>EncodecConvTranspose1d</c>: an upsampling transposed convolution whose fixed padding (kernel − stride) is cut
/// from the output — all of it on the right for causal models with <c>trim_right_ratio</c> 1, otherwise split.
/// </summary>
internal sealed class EncodecConvTranspose1d
{
    private readonly ConvTranspose1dWeight _weight;
    private readonly int _trimLeft, _trimRight;

    private EncodecConvTranspose1d(ConvTranspose1dWeight weight, int trimLeft, int trimRight)
    {
        _weight = weight;
        _trimLeft = trimLeft;
        _trimRight = trimRight;
    }

    /// <summary>Reads <c>{module}.conv.*</c> (weight <c>[in, out, k]</c>, bias <c>[out]</c>).</summary>
    public static EncodecConvTranspose1d Load(EncodecWeightSource source, string module, EncodecConfig config,
        int inChannels, int outChannels, int kernelSize, int stride)
    {
        int fanIn = inChannels * kernelSize / stride;
        float[] w = source.ConvWeight(module + ".conv", [inChannels, outChannels, kernelSize], fanIn);
        float[] b = source.Tensor(module + ".conv.bias", [outChannels], fanIn);
        int total = kernelSize - stride;
        int right = config.UseCausalConv ? (int)Math.Ceiling(total * config.TrimRightRatio) : total / 2;
        return new EncodecConvTranspose1d(ConvTranspose1dWeight.FromTorch(w, inChannels, outChannels, kernelSize, stride, b), total - right, right);
    }

    /// <summary>Upsamples <paramref name="x"/> into a new signal with <paramref name="spareRows"/> spare rows.</summary>
    public Signal Forward(Signal x, int maxThreads, int spareRows = 0, bool pooled = false)
    {
        int full = ConvTranspose1d.FullLength(x.Length, _weight.KernelSize, _weight.Stride);
        Signal y = Signal.Allocate(_weight.OutChannels, full - _trimLeft - _trimRight, spareRows, pooled);
        ConvTranspose1d.Forward(x.Span, x.Length, _weight, y.Span, _trimLeft, y.Length, maxThreads);
        return y;
    }
}

/// <summary><c>EncodecLSTM</c>: stacked LSTM layers over time with a skip connection, <c>y = lstm(x) + x</c>.</summary>
internal sealed class EncodecLstm
{
    private readonly LstmLayerWeight[] _layers;

    private EncodecLstm(LstmLayerWeight[] layers) => _layers = layers;

    /// <summary>Reads <c>{module}.lstm.{weight,bias}_{ih,hh}_l{k}</c>.</summary>
    public static EncodecLstm Load(EncodecWeightSource source, string module, int dimension, int layers)
    {
        var result = new LstmLayerWeight[layers];
        long[] matrix = [4 * dimension, dimension], vector = [4 * dimension];
        for (int k = 0; k < layers; k++)
        {
            string p = $"{module}.lstm.";
            result[k] = LstmLayerWeight.FromTorch(
                source.Tensor($"{p}weight_ih_l{k}", matrix, dimension),
                source.Tensor($"{p}weight_hh_l{k}", matrix, dimension),
                source.Tensor($"{p}bias_ih_l{k}", vector, dimension),
                source.Tensor($"{p}bias_hh_l{k}", vector, dimension),
                dimension, dimension);
        }
        return new EncodecLstm(result);
    }

    /// <summary><c>lstm(x) + x</c> in a new signal (from the pool when <paramref name="pooled"/>; intermediate layers' outputs go back to it).</summary>
    public Signal Forward(Signal x, int maxThreads, CancellationToken cancellationToken, bool pooled = false)
    {
        Signal h = x;
        foreach (LstmLayerWeight layer in _layers)
        {
            Signal next = Signal.Allocate(layer.HiddenSize, x.Length, pooled: pooled);  // [C, T]
            Lstm.Forward(h.Span, x.Length, layer, next.Span, maxThreads, cancellationToken);
            if (pooled && !ReferenceEquals(h.Data, x.Data)) h.Return();
            h = next;
        }
        if (ReferenceEquals(h.Data, x.Data))
        {
            h = Signal.Allocate(x.Channels, x.Length, pooled: pooled);
            x.Span.CopyTo(h.Span);
        }
        System.Numerics.Tensors.TensorPrimitives.Add(h.Span, x.Span, h.Span);       // skip connection
        return h;
    }
}

/// <summary>
/// <c>EncodecResnetBlock</c>: <c>shortcut(x) + conv₂(elu(conv₁(elu(x))))</c> with conv₁ dim → dim/compress (residual
/// kernel, dilation d), conv₂ back to dim (kernel 1), shortcut a 1×1 convolution (or the identity). With the
/// convolutional shortcut, the shortcut and conv₂ are one 1×1 convolution over <c>[x; elu(h)]</c> (dim + dim/compress
/// input channels, weights side by side, biases summed): conv₁ writes <c>elu(h)</c> into the rows below <c>x</c>
/// (spare rows of the input signal when the producer left room, see <see cref="SpareRows"/>), and the block's output
/// is written once, optionally with the ELU the next layer needs applied on the way.
/// </summary>
internal sealed class EncodecResnetBlock
{
    private readonly EncodecConv1d _conv1;
    private readonly EncodecConv1d? _conv2;
    private readonly Conv1dWeight? _fused;
    private readonly int _dim, _hidden;

    private EncodecResnetBlock(EncodecConv1d conv1, EncodecConv1d? conv2, Conv1dWeight? fused, int dim, int hidden)
    {
        _conv1 = conv1;
        _conv2 = conv2;
        _fused = fused;
        _dim = dim;
        _hidden = hidden;
    }

    /// <summary>Spare rows an input signal should carry so that the block needs no copy of it.</summary>
    public int SpareRows => _fused is null ? 0 : _hidden;

    /// <summary>Reads <c>{module}.block.1</c>, <c>{module}.block.3</c> and <c>{module}.shortcut</c> (ELUs sit at 0 and 2).</summary>
    public static EncodecResnetBlock Load(EncodecWeightSource source, string module, EncodecConfig config, int dim, int dilation)
    {
        int hidden = dim / config.Compress;
        var conv1 = EncodecConv1d.Load(source, module + ".block.1", config, dim, hidden, config.ResidualKernelSize, dilation: dilation);
        if (!config.UseConvShortcut)
            return new EncodecResnetBlock(conv1, EncodecConv1d.Load(source, module + ".block.3", config, hidden, dim, 1), null, dim, hidden);
        float[] w2 = source.ConvWeight(module + ".block.3.conv", [dim, hidden, 1], hidden);
        float[] b2 = source.Tensor(module + ".block.3.conv.bias", [dim], hidden);
        float[] ws = source.ConvWeight(module + ".shortcut.conv", [dim, dim, 1], dim);
        float[] bs = source.Tensor(module + ".shortcut.conv.bias", [dim], dim);
        int inputs = dim + hidden;
        var w = new float[dim * inputs];
        var b = new float[dim];
        for (int co = 0; co < dim; co++)
        {
            ws.AsSpan(co * dim, dim).CopyTo(w.AsSpan(co * inputs, dim));
            w2.AsSpan(co * hidden, hidden).CopyTo(w.AsSpan(co * inputs + dim, hidden));
            b[co] = bs[co] + b2[co];
        }
        return new EncodecResnetBlock(conv1, null, Conv1dWeight.FromTorch(w, dim, inputs, 1, b), dim, hidden);
    }

    /// <summary>
    /// The block's output <c>[dim, T]</c>, ELU'd when <paramref name="eluOutput"/>, with <paramref name="spareRows"/>
    /// spare rows, from the pool when <paramref name="pooled"/>.
    /// </summary>
    public Signal Forward(Signal x, int maxThreads, bool eluOutput = false, int spareRows = 0, bool pooled = false)
    {
        if (_fused is null)
        {
            Signal h = _conv1.Forward(x, elu: true, maxThreads, eluOutput: true);         // elu(conv₁(elu(x))) [dim/compress, T]
            var copy = Signal.Allocate(x.Channels, x.Length, spareRows, pooled);
            x.Span.CopyTo(copy.Span);
            _conv2!.ForwardInto(h, elu: false, copy.Span, accumulate: true, maxThreads);   // x + conv₂(…)
            if (eluOutput) Elu.ApplyInPlace(copy.Span);
            return copy;
        }
        int t = x.Length;
        Signal stacked = x;                                                               // [x; elu(h)] [dim + dim/compress, T]
        bool copied = x.SpareRows < _hidden;
        if (copied)
        {
            stacked = Signal.Allocate(x.Channels, t, _hidden, pooled: true);
            x.Span.CopyTo(stacked.Span);
        }
        _conv1.ForwardInto(x, elu: true, stacked.Data.AsSpan(_dim * t, _hidden * t), accumulate: false, maxThreads, eluOutput: true);
        Signal y = Signal.Allocate(_dim, t, spareRows, pooled);
        Conv1d.Forward(stacked.Data.AsSpan(0, (_dim + _hidden) * t), t, _fused, y.Span, maxThreads: maxThreads, elu: eluOutput);
        if (copied) stacked.Return();
        return y;
    }
}
