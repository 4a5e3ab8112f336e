using BarkSharp.Configuration;
using BarkSharp.Hub;
using BarkSharp.IO;
using BarkSharp.Models.Cloning;
using BarkSharp.Models.Encodec;
using BarkSharp.Tensors;
using Microsoft.Extensions.Logging;

namespace BarkSharp.Cloning;

/// <summary>
/// Turns a recording into a Bark <see cref="VoicePreset"/> with the community recipe (gitmylo/bark-voice-cloning-HuBERT-
/// quantizer): the semantic prompt from HuBERT features quantized into Bark's semantic tokens, the coarse and fine
/// prompts from the EnCodec encoder at 6 kbps.
/// </summary>
/// <remarks>
/// Semantic branch: a stereo recording is averaged to mono, resampled straight from its own rate to 16 kHz (torchaudio's
/// <c>functional.resample</c>: kernel in float32), not normalised; <see cref="HubertModel.Features"/> at
/// <see cref="HubertLayer"/>; <see cref="SemanticQuantizer.Tokens"/>. Acoustic branch: channels averaged, resampled to
/// 24 kHz (<c>transforms.Resample</c>: kernel in float64), <see cref="EncodecEncoder.Encode"/> at 6 kbps → codes
/// [8, T]; fine prompt = all 8 rows, coarse = the first 2. The prompts are not aligned or truncated (T_s ≈ 50/s,
/// T = 75/s), as in the recipe. An instance is thread-safe.
/// </remarks>
public sealed class VoiceCloner
{
    /// <summary>Bark's prompts use the codec at 6 kbps (8 codebooks).</summary>
    public const double CodecBandwidthKbps = 6.0;

    /// <summary>The rate HuBERT expects.</summary>
    public const int HubertSampleRate = 16_000;

    /// <summary>Builds a cloner from loaded models.</summary>
    /// <exception cref="ArgumentException"><paramref name="hubertLayer"/> is not a loaded layer, or the quantizer does not read HuBERT's width.</exception>
    internal VoiceCloner(HubertModel hubert, int hubertLayer, SemanticQuantizer quantizer, EncodecEncoder encoder)
    {
        ArgumentNullException.ThrowIfNull(hubert);
        ArgumentNullException.ThrowIfNull(quantizer);
        ArgumentNullException.ThrowIfNull(encoder);
        if (hubertLayer < 0 || hubertLayer > hubert.LoadedLayers)
            throw new ArgumentException($"HuBERT layer {hubertLayer} is not available: the model has {hubert.LoadedLayers} loaded layer(s).", nameof(hubertLayer));
        if (quantizer.Info.InputSize != hubert.Config.HiddenSize)
            throw new ArgumentException($"the quantizer reads {quantizer.Info.InputSize} features per frame but HuBERT produces {hubert.Config.HiddenSize}; they do not belong together.", nameof(quantizer));
        Hubert = hubert;
        HubertLayer = hubertLayer;
        Quantizer = quantizer;
        Encoder = encoder;
    }

    /// <summary>The HuBERT model.</summary>
    internal HubertModel Hubert { get; }

    /// <summary>The hidden state quantized (9 for the recipe's quantizers).</summary>
    public int HubertLayer { get; }

    /// <summary>The semantic quantizer.</summary>
    internal SemanticQuantizer Quantizer { get; }

    /// <summary>The EnCodec encoder.</summary>
    internal EncodecEncoder Encoder { get; }

    /// <summary>
    /// Loads (and on first use downloads) the three models <paramref name="options"/> names. HuBERT is loaded only up to
    /// <see cref="VoiceCloningOptions.HubertLayer"/>.
    /// </summary>
    /// <exception cref="BarkException">A model is missing, unreadable or does not match its configuration.</exception>
    /// <exception cref="BarkHubException">A repository cannot be downloaded (not found, offline and not cached, network).</exception>
    public static VoiceCloner FromPretrained(VoiceCloningOptions? options = null, ILoggerFactory? loggerFactory = null,
        IProgress<DownloadProgress>? downloadProgress = null, CancellationToken cancellationToken = default)
    {
        options ??= new VoiceCloningOptions();
        if (options.HubertLayer < 0)
            throw new BarkConfigException($"the HuBERT layer must be 0 or more, found {options.HubertLayer}.");
        var hubOptions = new BarkModelOptions { Hub = options.Hub };

        string hubertFolder = PretrainedSource.ModelFolder(options.Hubert, hubOptions, loggerFactory, downloadProgress, cancellationToken);
        HubertModel hubert = HubertModel.Load(hubertFolder, Math.Min(options.HubertLayer, HubertConfig.Load(Path.Combine(hubertFolder, "config.json")).NumHiddenLayers));
        if (options.HubertLayer > hubert.LoadedLayers)
            throw new BarkConfigException($"HuBERT layer {options.HubertLayer} does not exist: {options.Hubert} has {hubert.LoadedLayers} layers.");

        cancellationToken.ThrowIfCancellationRequested();
        SemanticQuantizer quantizer = SemanticQuantizer.Load(QuantizerPath(options, loggerFactory, downloadProgress, cancellationToken));

        cancellationToken.ThrowIfCancellationRequested();
        string barkFolder = PretrainedSource.ModelFolder(options.BarkModel, hubOptions, loggerFactory, downloadProgress, cancellationToken);
        BarkConfig config = BarkConfig.Load(Path.Combine(barkFolder, "config.json"));
        string? weights = new[] { "model.safetensors", "pytorch_model.bin" }.Select(f => Path.Combine(barkFolder, f)).FirstOrDefault(File.Exists)
            ?? throw new BarkFormatException(barkFolder, "the Bark model folder has neither model.safetensors nor pytorch_model.bin.");
        EncodecEncoder encoder;
        using (ITensorStore store = Checkpoint.OpenCheckpoint(weights))
            encoder = EncodecEncoder.Load(new WeightReader(store, "codec_model."), config.CodecConfig);

        if (options.MaxThreads is { } threads)
        {
            hubert.MaxThreads = threads;
            quantizer.MaxThreads = threads;
            encoder.MaxThreads = threads;
        }
        return new VoiceCloner(hubert, options.HubertLayer, quantizer, encoder);
    }

    /// <summary>Loads the models on a worker thread; see <see cref="FromPretrained"/>.</summary>
    public static Task<VoiceCloner> FromPretrainedAsync(VoiceCloningOptions? options = null, ILoggerFactory? loggerFactory = null,
        IProgress<DownloadProgress>? downloadProgress = null, CancellationToken cancellationToken = default) =>
        Task.Run(() => FromPretrained(options, loggerFactory, downloadProgress, cancellationToken), cancellationToken);

    /// <summary>Clones the voice of a decoded recording (mono or stereo, any rate).</summary>
    /// <exception cref="BarkInputException">The recording is too short for one HuBERT frame, or has more than two channels.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public VoicePreset Clone(WavAudio audio, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(audio);
        return VoicePreset.FromArrays(SemanticPrompt(audio, cancellationToken), CoarseFine(audio, cancellationToken, out long[][] fine), fine);
    }

    /// <summary>The semantic branch alone: semantic tokens, one per 20 ms.</summary>
    public long[] SemanticPrompt(WavAudio audio, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(audio);
        float[] mono = Mono(audio);
        float[] wav16 = SincResampler.Create(audio.SampleRate, HubertSampleRate, SincKernelPrecision.Float32).Process(mono);
        float[] features = Hubert.Features(wav16, HubertLayer, cancellationToken);         // [T_s, 768]
        return Quantizer.Tokens(features, cancellationToken);                               // [T_s]
    }

    /// <summary>The acoustic branch alone: EnCodec codes [8][T] at 6 kbps of the recording at the codec's rate.</summary>
    public long[][] CodecPrompt(WavAudio audio, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(audio);
        float[] mono = Mono(audio);
        float[] wav24 = SincResampler.Create(audio.SampleRate, Encoder.Config.SampleRate, SincKernelPrecision.Float64).Process(mono);
        long[] codes = Encoder.Encode(wav24, CodecBandwidthKbps, cancellationToken);      // [8, T]
        int frames = Encoder.FrameCount(wav24.Length), rows = codes.Length / frames;
        var result = new long[rows][];
        for (int i = 0; i < rows; i++) result[i] = codes.AsSpan(i * frames, frames).ToArray();
        return result;
    }

    private long[][] CoarseFine(WavAudio audio, CancellationToken cancellationToken, out long[][] fine)
    {
        fine = CodecPrompt(audio, cancellationToken);
        return fine[..VoicePreset.CoarseCodebooks];
    }

    /// <summary>Mono as the reference makes it: a stereo pair's mean (in float32), a mono channel as it is.</summary>
    private static float[] Mono(WavAudio audio)
    {
        float[][] c = audio.Channels;
        if (c.Length == 1) return c[0];
        if (c.Length != 2)
            throw new BarkInputException($"the recording has {c.Length} channels; voice cloning takes mono or stereo.");
        var mono = new float[audio.Frames];
        for (int i = 0; i < mono.Length; i++) mono[i] = (c[0][i] + c[1][i]) / 2;
        return mono;
    }

    private static string QuantizerPath(VoiceCloningOptions options, ILoggerFactory? loggerFactory, IProgress<DownloadProgress>? progress, CancellationToken cancellationToken)
    {
        string q = options.Quantizer;
        if (File.Exists(q)) return q;
        if (Directory.Exists(q))
        {
            string inFolder = Path.Combine(q, options.QuantizerFileName);
            return File.Exists(inFolder) ? inFolder
                : throw new BarkConfigException($"the quantizer folder '{q}' has no {options.QuantizerFileName}; pass the .pth file itself or set the file name.");
        }
        if (!HubClient.IsRepoId(q))
            throw new BarkConfigException($"'{q}' is neither a quantizer file, a folder holding one, nor a hub repository id (like '{VoiceCloningOptions.DefaultQuantizer}').");
        using var hub = new HubClient(options.Hub, loggerFactory);
        return hub.GetFileAsync(q, options.QuantizerFileName, progress, cancellationToken).GetAwaiter().GetResult();
    }
}
