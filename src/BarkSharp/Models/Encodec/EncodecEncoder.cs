using BarkSharp.Configuration;
using BarkSharp.IO;
using BarkSharp.Tensors;

namespace BarkSharp.Models.Encodec;

/// <summary>
/// The EnCodec encoder (<c>codec_model.encoder.*</c> and <c>codec_model.quantizer.*</c> of a Bark checkpoint): waveform
/// <c>[audio_channels, N]</c> at <see cref="EncodecConfig.SampleRate"/> → SEANet encoder → embeddings
/// <c>[hidden, ⌈N/hop⌉]</c> → residual vector quantizer encode → codes <c>[codebooks, frames]</c>. It turns a voice
/// recording into Bark's coarse and fine prompts.
/// </summary>
/// <remarks>
/// Follows Transformers' <c>modeling_encodec.py</c> (<c>EncodecEncoder.forward</c>, <c>EncodecModel.encode</c> without
/// chunking or normalisation, which is what the 24 kHz model does) with the decoder's layers
/// (<see cref="EncodecDecoder"/>): weight norm folded at load, causal convolutions reflect-padded on the left and
/// extended on the right to whole strides. Encoder layers, in checkpoint order: <c>layers.0</c> conv k7 channels → F;
/// per ratio r ∈ [2, 4, 5, 8] (the decoder's, reversed): residual block(s), ELU, conv (k 2r, stride r, channels
/// doubled); LSTM (+ skip); ELU; final conv k7 16·F → hidden. <see cref="Encode"/> is thread-safe.
/// </remarks>
internal sealed class EncodecEncoder : IThreadedModel
{
    private readonly EncodecQuantizer _quantizer;
    private readonly EncodecConv1d _first;
    private readonly (EncodecResnetBlock[] Blocks, EncodecConv1d Down)[] _stages;
    private readonly EncodecLstm _lstm;
    private readonly EncodecConv1d _last;

    private EncodecEncoder(EncodecConfig config, EncodecWeightSource source)
    {
        if (config.NormType != "weight_norm")
            throw new BarkConfigException($"codec_config.norm_type '{config.NormType}' is not supported by the encoder (only weight_norm, which every Bark checkpoint uses).");
        if (config.CodebookDim != config.HiddenSize)
            throw new BarkConfigException($"codec_config.codebook_dim ({config.CodebookDim}) must equal hidden_size ({config.HiddenSize}): the quantizer reads the embeddings directly.");
        Config = config;
        _quantizer = EncodecQuantizer.Load(source, config);
        int f = config.NumFilters, scaling = 1, layer = 0;
        _first = EncodecConv1d.Load(source, $"encoder.layers.{layer++}", config, config.AudioChannels, f, config.KernelSize);
        int[] ratios = [.. config.UpsamplingRatios.Reverse()];
        _stages = new (EncodecResnetBlock[], EncodecConv1d)[ratios.Length];
        for (int s = 0; s < ratios.Length; s++)
        {
            int channels = scaling * f;
            var blocks = new EncodecResnetBlock[config.NumResidualLayers];
            for (int j = 0; j < blocks.Length; j++)
                blocks[j] = EncodecResnetBlock.Load(source, $"encoder.layers.{layer++}", config, channels, Pow(config.DilationGrowthRate, j));
            layer++;                                                                      // ELU
            var down = EncodecConv1d.Load(source, $"encoder.layers.{layer++}", config, channels, 2 * channels, 2 * ratios[s], ratios[s]);
            _stages[s] = (blocks, down);
            scaling *= 2;
        }
        _lstm = EncodecLstm.Load(source, $"encoder.layers.{layer++}", scaling * f, config.NumLstmLayers);
        layer++;                                                                          // ELU
        _last = EncodecConv1d.Load(source, $"encoder.layers.{layer}", config, scaling * f, config.HiddenSize, config.LastKernelSize);
    }

    /// <summary>The codec configuration.</summary>
    public EncodecConfig Config { get; }

    /// <summary>Waveform samples per frame (per channel): 320 for the 24 kHz codec.</summary>
    public int HopLength => Config.HopLength;

    /// <summary>Threads the kernels may use. Default <see cref="Environment.ProcessorCount"/>; results do not depend on it.</summary>
    public int MaxThreads { get; set; } = Environment.ProcessorCount;

    /// <summary>Loads the encoder and the quantizer's codebooks from a reader whose prefix is the codec's (<c>codec_model.</c>).</summary>
    /// <exception cref="BarkWeightException">A tensor is missing or has the wrong shape for <paramref name="config"/>.</exception>
    /// <exception cref="BarkConfigException">The configuration asks for something the encoder does not support.</exception>
    public static EncodecEncoder Load(WeightReader codecWeights, EncodecConfig config)
    {
        ArgumentNullException.ThrowIfNull(codecWeights);
        ArgumentNullException.ThrowIfNull(config);
        return new EncodecEncoder(config, new CheckpointWeightSource(codecWeights));
    }

    /// <summary>An encoder with seeded random weights of the shapes <paramref name="config"/> describes (tests, benchmarks).</summary>
    public static EncodecEncoder CreateRandom(EncodecConfig config, int seed)
    {
        ArgumentNullException.ThrowIfNull(config);
        return new EncodecEncoder(config, new RandomWeightSource(seed));
    }

    /// <summary>Frames for <paramref name="samples"/> samples per channel: ⌈samples / hop⌉.</summary>
    public int FrameCount(int samples) => (samples + HopLength - 1) / HopLength;

    /// <summary>
    /// Codebooks used at <paramref name="bandwidthKbps"/>: ⌊bandwidth·1000 / (frame rate · log2(codebook size))⌋, at
    /// least 1 (Transformers' <c>get_num_quantizers_for_bandwidth</c>); 8 at 6 kbps for the 24 kHz codec.
    /// </summary>
    public int CodebooksFor(double bandwidthKbps)
    {
        double perCodebook = Math.Log2(Config.CodebookSize) * Config.FrameRate;
        return Math.Min(_quantizer.Codebooks, Math.Max(1, (int)Math.Floor(bandwidthKbps * 1000 / perCodebook)));
    }

    /// <summary>
    /// The SEANet encoder: <paramref name="audio"/> <c>[audio_channels, N]</c> → embeddings <c>[hidden_size, ⌈N/hop⌉]</c>
    /// (Transformers' <c>codec_model.encoder(x)</c> for one sample).
    /// </summary>
    /// <exception cref="BarkInputException">The audio is empty or not a whole number of channels.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public float[] Embed(ReadOnlySpan<float> audio, CancellationToken cancellationToken = default) =>
        EmbedSignal(audio, cancellationToken).Data;

    /// <summary>
    /// Encodes <paramref name="audio"/> <c>[audio_channels, N]</c> into codes <c>[codebooks, ⌈N/hop⌉]</c> (row-major), with
    /// <see cref="CodebooksFor"/>(<paramref name="bandwidthKbps"/>) codebooks — Transformers'
    /// <c>codec_model.encode(x, bandwidth)</c>; Bark's prompts use 6 kbps (8 codebooks).
    /// </summary>
    /// <exception cref="BarkInputException">The audio is empty or not a whole number of channels.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public long[] Encode(ReadOnlySpan<float> audio, double bandwidthKbps = 6.0, CancellationToken cancellationToken = default)
    {
        Signal embeddings = EmbedSignal(audio, cancellationToken);
        int codebooks = CodebooksFor(bandwidthKbps);
        var codes = new long[codebooks * embeddings.Length];
        cancellationToken.ThrowIfCancellationRequested();
        _quantizer.Encode(embeddings.Span, embeddings.Length, codebooks, codes);
        return codes;
    }

    private Signal EmbedSignal(ReadOnlySpan<float> audio, CancellationToken cancellationToken)
    {
        int channels = Config.AudioChannels;
        if (audio.IsEmpty || audio.Length % channels != 0)
            throw new BarkInputException($"the codec needs a non-empty waveform of {channels} channel(s), found {audio.Length} samples.");
        int threads = Math.Max(1, MaxThreads);
        var x = new Signal(audio.ToArray(), channels, audio.Length / channels);         // [channels, N]
        Signal h = _first.Forward(x, elu: false, threads);                              // [F, N]
        foreach ((EncodecResnetBlock[] blocks, EncodecConv1d down) in _stages)
        {
            cancellationToken.ThrowIfCancellationRequested();
            foreach (EncodecResnetBlock block in blocks) h = block.Forward(h, threads);
            h = down.Forward(h, elu: true, threads);                                     // [2C, ⌈T/r⌉]
        }
        cancellationToken.ThrowIfCancellationRequested();
        h = _lstm.Forward(h, threads, cancellationToken);                              // [16F, frames]
        return _last.Forward(h, elu: true, threads);                                    // [hidden, frames]
    }

    private static int Pow(int b, int e)
    {
        int r = 1;
        for (int i = 0; i < e; i++) r *= b;
        return r;
    }
}
