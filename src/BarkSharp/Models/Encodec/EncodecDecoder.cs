using BarkSharp.Configuration;
using BarkSharp.IO;
using BarkSharp.Tensors;

namespace BarkSharp.Models.Encodec;

/// <summary>
/// The EnCodec decoder Bark's last stage uses (<c>codec_model.*</c>): codes <c>[codebooks, frames]</c> → residual
/// vector quantizer decode → latent <c>[hidden, frames]</c> → SEANet decoder → waveform
/// <c>[audio_channels, frames·hop]</c> at <see cref="EncodecConfig.SampleRate"/>.
/// </summary>
/// <remarks>
/// Follows Transformers' <c>modeling_encodec.py</c> (<c>EncodecModel.decode</c> without chunking or scales, which
/// is what <c>BarkModel.codec_decode</c> calls) and computes the same numbers to float32 rounding. Differences by
/// design: weight norm is folded into plain weights at load; the encoder is not loaded; each sample of a batch is
/// decoded at its own length (Transformers does the same when given output lengths, because the LSTM would otherwise
/// run over the padding). Decoder layers, in checkpoint order:
/// <c>layers.0</c> conv k7 hidden → 16·F; <c>layers.1</c> LSTM (+ skip); per ratio r ∈ [8, 5, 4, 2]: ELU, transposed conv
/// (k 2r, stride r, channels halved), residual block(s); ELU; final conv k7 F → audio channels (F = num_filters).
/// <see cref="Decode"/> is thread-safe: all buffers are per call.
/// </remarks>
internal sealed class EncodecDecoder : IThreadedModel
{
    private readonly EncodecQuantizer _quantizer;
    private readonly EncodecConv1d _first;
    private readonly EncodecLstm _lstm;
    private readonly (EncodecConvTranspose1d Up, EncodecResnetBlock[] Blocks)[] _stages;
    private readonly EncodecConv1d _last;

    private EncodecDecoder(EncodecConfig config, EncodecWeightSource source)
    {
        if (config.NormType != "weight_norm")
            throw new BarkConfigException($"codec_config.norm_type '{config.NormType}' is not supported by the decoder (only weight_norm, which every Bark checkpoint uses).");
        if (config.CodebookDim != config.HiddenSize)
            throw new BarkConfigException($"codec_config.codebook_dim ({config.CodebookDim}) must equal hidden_size ({config.HiddenSize}): the decoder reads the quantized latent directly.");
        if (!config.UseCausalConv && config.TrimRightRatio != 1.0)
            throw new BarkConfigException("codec_config.trim_right_ratio other than 1.0 only makes sense for causal convolutions (use_causal_conv true).");
        if (config.TrimRightRatio is < 0 or > 1)
            throw new BarkConfigException($"codec_config.trim_right_ratio must be within [0, 1], found {config.TrimRightRatio}.");
        Config = config;
        _quantizer = EncodecQuantizer.Load(source, config);

        int f = config.NumFilters, scaling = 1 << config.UpsamplingRatios.Length, layer = 0;
        _first = EncodecConv1d.Load(source, $"decoder.layers.{layer++}", config, config.HiddenSize, scaling * f, config.KernelSize);
        _lstm = EncodecLstm.Load(source, $"decoder.layers.{layer++}", scaling * f, config.NumLstmLayers);
        _stages = new (EncodecConvTranspose1d, EncodecResnetBlock[])[config.UpsamplingRatios.Length];
        for (int s = 0; s < _stages.Length; s++)
        {
            int ratio = config.UpsamplingRatios[s], channels = scaling * f;
            layer++;                                                                      // ELU
            var up = EncodecConvTranspose1d.Load(source, $"decoder.layers.{layer++}", config, channels, channels / 2, 2 * ratio, ratio);
            var blocks = new EncodecResnetBlock[config.NumResidualLayers];
            for (int j = 0; j < blocks.Length; j++)
                blocks[j] = EncodecResnetBlock.Load(source, $"decoder.layers.{layer++}", config, channels / 2, Pow(config.DilationGrowthRate, j));
            _stages[s] = (up, blocks);
            scaling /= 2;
        }
        layer++;                                                                          // ELU
        _last = EncodecConv1d.Load(source, $"decoder.layers.{layer}", config, f, config.AudioChannels, config.LastKernelSize);
    }

    /// <summary>The codec configuration.</summary>
    public EncodecConfig Config { get; }

    /// <summary>Codebooks available for decoding (<see cref="EncodecConfig.NumQuantizers"/>; Bark uses the first 8).</summary>
    public int Codebooks => _quantizer.Codebooks;

    /// <summary>Codes per codebook; valid codes are 0 … CodebookSize − 1.</summary>
    public int CodebookSize => _quantizer.CodebookSize;

    /// <summary>Waveform samples per frame (per channel): 320 for the 24 kHz codec.</summary>
    public int HopLength => Config.HopLength;

    /// <summary>Threads the kernels may use. Default <see cref="Environment.ProcessorCount"/>; results do not depend on it.</summary>
    public int MaxThreads { get; set; } = Environment.ProcessorCount;

    /// <summary>
    /// Loads the decoder from a checkpoint reader whose prefix is the codec's (<c>codec_model.</c> in a Bark checkpoint).
    /// The encoder (<c>encoder.*</c>) and the quantizer's training buffers (<c>inited</c>, <c>cluster_size</c>,
    /// <c>embed_avg</c>) are marked as used without being read, so <see cref="WeightReader.EnsureAllUsed"/> passes.
    /// </summary>
    /// <exception cref="BarkWeightException">A tensor is missing or has the wrong shape for <paramref name="config"/>.</exception>
    /// <exception cref="BarkConfigException">The configuration asks for something the decoder does not support.</exception>
    public static EncodecDecoder Load(WeightReader codecWeights, EncodecConfig config)
    {
        ArgumentNullException.ThrowIfNull(codecWeights);
        ArgumentNullException.ThrowIfNull(config);
        var decoder = new EncodecDecoder(config, new CheckpointWeightSource(codecWeights));
        string prefix = codecWeights.Prefix;
        foreach (string key in codecWeights.Store.Keys)
        {
            if (!key.StartsWith(prefix, StringComparison.Ordinal)) continue;
            string local = key[prefix.Length..];
            if (local.StartsWith("encoder.", StringComparison.Ordinal) || IsQuantizerStatistic(local, config.NumQuantizers))
                codecWeights.Skip(local);
        }
        return decoder;
    }

    /// <summary>A decoder with seeded random weights of the shapes <paramref name="config"/> describes (tests, benchmarks).</summary>
    public static EncodecDecoder CreateRandom(EncodecConfig config, int seed)
    {
        ArgumentNullException.ThrowIfNull(config);
        return new EncodecDecoder(config, new RandomWeightSource(seed));
    }

    /// <summary>
    /// Residual vector quantizer decode: <paramref name="codes"/> <c>[codebooks, frames]</c> (row-major, 1 ≤ codebooks ≤
    /// <see cref="Codebooks"/>) → latent <c>[hidden_size, frames]</c>, the sum of each codebook's embedding.
    /// </summary>
    /// <exception cref="BarkInputException">A code is out of range, or the codes do not form whole codebooks of <paramref name="frames"/> frames.</exception>
    public float[] QuantizerDecode(ReadOnlySpan<int> codes, int frames)
    {
        int[] checkedCodes = Validate(codes, frames, out int codebooks);
        var latent = new float[_quantizer.Dim * frames];
        _quantizer.Decode(checkedCodes, codebooks, frames, latent);
        return latent;
    }

    /// <summary>
    /// Codes <c>[codebooks, frames]</c> (row-major) → waveform <c>[audio_channels, frames·HopLength]</c> (for Bark: mono,
    /// 24 kHz). Equivalent to Transformers' <c>BarkModel.codec_decode</c> of one sample.
    /// </summary>
    /// <exception cref="BarkInputException">A code is out of range, or the codes do not form whole codebooks of <paramref name="frames"/> frames.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public float[] Decode(ReadOnlySpan<int> codes, int frames, CancellationToken cancellationToken = default)
    {
        float[] latent = QuantizerDecode(codes, frames);
        return DecodeLatent(latent, frames, cancellationToken);
    }

    /// <summary>
    /// Decodes a batch <paramref name="codes"/> <c>[batch, codebooks, frames]</c> (row-major). Sample <c>b</c> is decoded
    /// alone on its first <c>lengths[b]</c> frames (all <paramref name="frames"/> when <paramref name="lengths"/> is empty),
    /// so its waveform has <c>lengths[b]·HopLength</c> samples per channel and never depends on the other samples'
    /// padding. Codes past a sample's length are ignored (not validated).
    /// </summary>
    /// <exception cref="BarkInputException">A code is out of range, the shape does not add up, or a length is outside 1 … frames.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public float[][] DecodeBatch(ReadOnlySpan<int> codes, int batch, int frames, ReadOnlySpan<int> lengths = default, CancellationToken cancellationToken = default)
    {
        if (batch <= 0) throw new BarkInputException($"batch must be at least 1, found {batch}.");
        if (frames <= 0) throw new BarkInputException($"frames must be at least 1, found {frames}.");
        if (codes.Length % ((long)batch * frames) != 0)
            throw new BarkInputException($"codes has {codes.Length} values, which is not batch {batch} × codebooks × frames {frames}.");
        if (!lengths.IsEmpty && lengths.Length != batch)
            throw new BarkInputException($"lengths has {lengths.Length} entries but the batch has {batch} samples.");
        int codebooks = codes.Length / (batch * frames);
        var result = new float[batch][];
        var sample = new int[codebooks * frames];
        for (int b = 0; b < batch; b++)
        {
            int length = lengths.IsEmpty ? frames : lengths[b];
            if (length < 1 || length > frames)
                throw new BarkInputException($"lengths[{b}] = {length} is outside 1 … {frames} (the frames in codes).");
            for (int i = 0; i < codebooks; i++)
                codes.Slice((b * codebooks + i) * frames, length).CopyTo(sample.AsSpan(i * length, length));
            try
            {
                result[b] = Decode(sample.AsSpan(0, codebooks * length), length, cancellationToken);
            }
            catch (BarkInputException e)
            {
                throw new BarkInputException($"batch sample {b}: {e.Message}");
            }
        }
        return result;
    }

    /// <summary>
    /// The SEANet decoder alone: latent <paramref name="latent"/> <c>[hidden_size, frames]</c> → waveform
    /// <c>[audio_channels, frames·HopLength]</c> (Transformers' <c>EncodecDecoder.forward</c> for one sample).
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public float[] DecodeLatent(ReadOnlySpan<float> latent, int frames, CancellationToken cancellationToken = default)
    {
        if (frames <= 0) throw new BarkInputException($"frames must be at least 1, found {frames}.");
        if (latent.Length != (long)Config.HiddenSize * frames)
            throw new BarkInputException($"latent has {latent.Length} values, expected hidden_size {Config.HiddenSize} × frames {frames}.");
        int threads = Math.Max(1, MaxThreads);
        cancellationToken.ThrowIfCancellationRequested();
        // Intermediate signals come from the array pool and go back as soon as they are consumed, so a decode touches
        // a few buffers' worth of memory instead of allocating every layer's output afresh.
        var x = Signal.Allocate(Config.HiddenSize, frames, pooled: true);                  // [hidden, T]
        latent.CopyTo(x.Span);
        Signal first = _first.Forward(x, elu: false, threads, pooled: true);           // [16F, T]
        x.Return();
        Signal h = _lstm.Forward(first, threads, cancellationToken, pooled: true);     // [16F, T]
        first.Return();
        Elu.ApplyInPlace(h.Span);
        // Every stage starts with an ELU, and so does the last convolution: each stage's last block stores its
        // output ELU'd, and each layer leaves the room the next residual block stacks its hidden rows in.
        for (int s = 0; s < _stages.Length; s++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            (EncodecConvTranspose1d up, EncodecResnetBlock[] blocks) = _stages[s];
            Signal next = up.Forward(h, threads, blocks.Length > 0 ? blocks[0].SpareRows : 0, pooled: true);   // [C/2, T·r]
            h.Return();
            for (int j = 0; j < blocks.Length; j++)
            {
                Signal y = blocks[j].Forward(next, threads, eluOutput: j == blocks.Length - 1, j + 1 < blocks.Length ? blocks[j + 1].SpareRows : 0, pooled: true);
                next.Return();
                next = y;
            }
            if (blocks.Length == 0) Elu.ApplyInPlace(next.Span);
            h = next;
        }
        cancellationToken.ThrowIfCancellationRequested();
        float[] audio = _last.Forward(h, elu: false, threads).Data;                     // [channels, T·hop]
        h.Return();
        return audio;
    }

    private int[] Validate(ReadOnlySpan<int> codes, int frames, out int codebooks)
    {
        if (frames <= 0) throw new BarkInputException($"frames must be at least 1, found {frames}.");
        if (codes.Length == 0 || codes.Length % frames != 0)
            throw new BarkInputException($"codes has {codes.Length} values, which is not a whole number of codebooks of {frames} frames.");
        codebooks = codes.Length / frames;
        if (codebooks > Codebooks)
            throw new BarkInputException($"codes has {codebooks} codebooks of {frames} frames but the codec has only {Codebooks} (Bark uses 8).");
        var result = new int[codes.Length];
        for (int i = 0; i < codes.Length; i++)
        {
            int code = codes[i];
            if (code < 0 || code >= CodebookSize)
                throw new BarkInputException($"code {code} at codebook {i / frames}, frame {i % frames} is outside 0 … {CodebookSize - 1}.");
            result[i] = code;
        }
        return result;
    }

    private static bool IsQuantizerStatistic(string local, int quantizers)
    {
        const string Prefix = "quantizer.layers.";
        if (!local.StartsWith(Prefix, StringComparison.Ordinal)) return false;
        int dot = local.IndexOf('.', Prefix.Length);
        if (dot < 0 || !int.TryParse(local.AsSpan(Prefix.Length, dot - Prefix.Length), out int index) || index >= quantizers) return false;
        return local.AsSpan(dot) is ".codebook.inited" or ".codebook.cluster_size" or ".codebook.embed_avg";
    }

    private static int Pow(int b, int e)
    {
        int r = 1;
        for (int i = 0; i < e; i++) r *= b;
        return r;
    }
}
