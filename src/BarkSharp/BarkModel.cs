using System.Diagnostics;
using BarkSharp.Configuration;
using BarkSharp.Generation;
using BarkSharp.Hub;
using BarkSharp.IO;
using BarkSharp.Models;
using BarkSharp.Models.Encodec;
using BarkSharp.Speech;
using BarkSharp.Tensors;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace BarkSharp;

/// <summary>
/// The whole Bark model (Transformers' <c>BarkModel</c>): the semantic and coarse GPTs, the fine model and the
/// EnCodec decoder, loaded from a Hugging Face model folder, and generation from processed text to audio.
/// </summary>
/// <example>
/// <code>
/// using var model = BarkModel.FromPretrained("/models/bark-small");
/// var processor = BarkProcessor.FromPretrained("/models/bark-small");
/// BarkGeneration g = model.Generate(processor.Process("Hello!", "v2/en_speaker_6"), new BarkGenerationOptions { Seed = 1 });
/// WavWriter.Write("hello.wav", g.Audio[0], g.SampleRate);
/// </code>
/// </example>
public sealed class BarkModel : IDisposable
{
    private readonly ILogger _logger;
    private readonly StageSlot<BarkCausalModel> _semantic;
    private readonly StageSlot<BarkCausalModel> _coarse;
    private readonly StageSlot<BarkFineModel> _fine;
    private readonly StageSlot<EncodecDecoder> _codec;
    private int _threads = Environment.ProcessorCount;

    private BarkModel(BarkConfig config, BarkGenerationConfig generationConfig, Func<BarkCausalModel> semantic, Func<BarkCausalModel> coarse,
        Func<BarkFineModel> fine, Func<EncodecDecoder> codec, string? folder, bool lowMemory, ILogger logger)
    {
        Config = config;
        GenerationConfig = generationConfig;
        ModelFolder = folder;
        LowMemory = lowMemory;
        _logger = logger;
        _semantic = new StageSlot<BarkCausalModel>(semantic, () => _threads);
        _coarse = new StageSlot<BarkCausalModel>(coarse, () => _threads);
        _fine = new StageSlot<BarkFineModel>(fine, () => _threads);
        _codec = new StageSlot<EncodecDecoder>(codec, () => _threads);
        if (!lowMemory)
        {
            _ = _semantic.Value;
            _ = _coarse.Value;
            _ = _fine.Value;
            _ = _codec.Value;
        }
    }

    /// <summary>The model configuration (config.json).</summary>
    public BarkConfig Config { get; }

    /// <summary>The generation defaults (generation_config.json).</summary>
    public BarkGenerationConfig GenerationConfig { get; }

    /// <summary>The semantic GPT (in <see cref="LowMemory"/> mode loaded on first use and released after each generation stage).</summary>
    internal BarkCausalModel Semantic => _semantic.Value;

    /// <summary>The coarse acoustics GPT.</summary>
    internal BarkCausalModel CoarseAcoustics => _coarse.Value;

    /// <summary>The fine acoustics model.</summary>
    internal BarkFineModel FineAcoustics => _fine.Value;

    /// <summary>The EnCodec decoder.</summary>
    internal EncodecDecoder Codec => _codec.Value;

    /// <summary>The folder the model was loaded from (null for random models).</summary>
    public string? ModelFolder { get; }

    /// <summary>
    /// True when only the running stage's weights are kept in memory (<see cref="BarkModelOptions.LowMemory"/>, the
    /// analogue of Transformers' <c>enable_cpu_offload</c>): each stage loads its sub-model from the checkpoint and
    /// releases it when done.
    /// </summary>
    public bool LowMemory { get; }

    /// <summary>Output sample rate in Hz.</summary>
    public int SampleRate => GenerationConfig.SampleRate;

    /// <summary>
    /// The most semantic tokens one generation can produce: the semantic model's block size less the text context
    /// (<c>block_size − max_input_semantic_length</c>; 768 for Suno's models). A larger
    /// <see cref="StageOptions.MaxNewTokens"/> of the semantic stage is capped to this.
    /// </summary>
    public int MaxSemanticTokens => SemanticGenerator.TokenLimit(Config.SemanticConfig.BlockSize, GenerationConfig.SemanticConfig.MaxInputSemanticLength);

    /// <summary>Threads every stage may use. Results do not depend on it.</summary>
    public int MaxThreads
    {
        get => _threads;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            _threads = value;
            _semantic.ApplyThreads(value);
            _coarse.ApplyThreads(value);
            _fine.ApplyThreads(value);
            _codec.ApplyThreads(value);
        }
    }

    /// <summary>Which sub-models are in memory now (semantic, coarse, fine, codec).</summary>
    internal (bool Semantic, bool Coarse, bool Fine, bool Codec) Resident => (_semantic.Resident, _coarse.Resident, _fine.Resident, _codec.Resident);

    /// <summary>
    /// Loads a model from a Hugging Face model folder, or from a hub repository such as <c>suno/bark-small</c>:
    /// <c>config.json</c>, <c>generation_config.json</c> (optional; class defaults otherwise) and
    /// <c>model.safetensors</c> or <c>pytorch_model.bin</c>.
    /// </summary>
    /// <param name="modelIdOrFolder">
    /// A folder (used when it exists), or a repository id whose files are downloaded into huggingface_hub's cache on
    /// first use and read from there afterwards (see <see cref="Hub.HubClient"/> and <see cref="BarkModelOptions.Hub"/>).
    /// </param>
    /// <param name="options">Weights, threads and hub settings.</param>
    /// <param name="loggerFactory">Receives load and download messages.</param>
    /// <exception cref="BarkException">The folder or a file is missing, or the checkpoint does not match the config.</exception>
    /// <exception cref="BarkHubException">The repository cannot be downloaded (not found, offline and not cached, network, corrupt download).</exception>
    public static BarkModel FromPretrained(string modelIdOrFolder, BarkModelOptions? options = null, ILoggerFactory? loggerFactory = null) =>
        Load(modelIdOrFolder, options, loggerFactory, downloadProgress: null, CancellationToken.None);

    /// <summary>Loads a model on a worker thread, reporting download progress; see <see cref="FromPretrained"/>.</summary>
    /// <param name="modelIdOrFolder">A model folder or a hub repository id.</param>
    /// <param name="options">Weights, threads and hub settings.</param>
    /// <param name="loggerFactory">Receives load and download messages.</param>
    /// <param name="downloadProgress">Receives bytes and speed of each file downloaded from the hub.</param>
    /// <param name="cancellationToken">Stops a download (resumed next time) or the load.</param>
    public static Task<BarkModel> FromPretrainedAsync(string modelIdOrFolder, BarkModelOptions? options = null, ILoggerFactory? loggerFactory = null,
        IProgress<DownloadProgress>? downloadProgress = null, CancellationToken cancellationToken = default) =>
        Task.Run(() => Load(modelIdOrFolder, options, loggerFactory, downloadProgress, cancellationToken), cancellationToken);

    private static BarkModel Load(string modelIdOrFolder, BarkModelOptions? options, ILoggerFactory? loggerFactory,
        IProgress<DownloadProgress>? downloadProgress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(modelIdOrFolder);
        options ??= new BarkModelOptions();
        ILogger logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<BarkModel>();
        string modelFolder = PretrainedSource.ModelFolder(modelIdOrFolder, options, loggerFactory, downloadProgress, cancellationToken);
        BarkConfig config = BarkConfig.Load(Path.Combine(modelFolder, "config.json"));
        BarkGenerationConfig generation = BarkGenerationConfig.Load(Path.Combine(modelFolder, "generation_config.json"), optional: true);
        string weights = FindWeights(modelFolder, options.WeightsFileName);
        cancellationToken.ThrowIfCancellationRequested();
        var clock = Stopwatch.StartNew();
        if (!options.UseJitKernels) Tensors.Jit.JitKernels.Enabled = false;
        WeightType type;
        using (ITensorStore store = Checkpoint.OpenCheckpoint(weights))
        {
            type = ResolveWeightType(options.WeightType, store);
            string[] prefixes = ["semantic.", "coarse_acoustics.", "fine_acoustics.", "codec_model."];
            foreach (string key in store.Keys)
                if (!prefixes.Any(p => key.StartsWith(p, StringComparison.Ordinal)))
                    throw new BarkWeightException(key, $"{weights}: unexpected tensor '{key}' outside the semantic, coarse_acoustics, fine_acoustics and codec_model sub-models; is this a Bark checkpoint?");
        }

        // Each sub-model opens the checkpoint on its own, so the mapped file pages of one stage are released before
        // the next is read (lower peak memory), and LowMemory mode can reload a stage later.
        T Stage<T>(string prefix, Func<WeightReader, T> read)
        {
            using ITensorStore store = Checkpoint.OpenCheckpoint(weights);
            var reader = new WeightReader(store, prefix + ".");
            T model = read(reader);
            reader.EnsureAllUsed();
            return model;
        }
        BarkCausalModel Causal(WeightReader r, BarkSubModelConfig c)
        {
            BarkCausalModel m = BarkCausalModel.Load(r, c, checkUnused: false, type);
            m.KvCacheType = options.KvCacheType;
            return m;
        }
        var model = new BarkModel(config, generation,
            () => Stage("semantic", r => Causal(r, config.SemanticConfig)),
            () => Stage("coarse_acoustics", r => Causal(r, config.CoarseAcousticsConfig)),
            () => Stage("fine_acoustics", r => BarkFineModel.Load(r, config.FineAcousticsConfig, checkUnused: false, type)),
            () => Stage("codec_model", r => EncodecDecoder.Load(r, config.CodecConfig)),
            Path.GetFullPath(modelFolder), options.LowMemory, logger);
        if (options.MaxThreads is { } threads) model.MaxThreads = threads;
        logger.LogInformation("Loaded Bark from {Weights} ({Type}, {KvCache} KV cache{Mode}) in {Seconds:F2} s", weights, type,
            KvCache.Resolve(options.KvCacheType, type), options.LowMemory ? ", low-memory: stages load on use" : "", clock.Elapsed.TotalSeconds);
        logger.LogInformation("Generated kernels: {Kernels}", Tensors.Jit.JitKernels.Describe());
        return model;
    }

    /// <summary>A model with random weights of the shapes <paramref name="config"/> describes (tests and benchmarks; no file).</summary>
    internal static BarkModel CreateRandom(BarkConfig config, int seed, BarkGenerationConfig? generationConfig = null, WeightType weightType = WeightType.Float32) => new(
        config, generationConfig ?? new BarkGenerationConfig(),
        () => BarkCausalModel.CreateRandom(config.SemanticConfig, seed, weightType),
        () => BarkCausalModel.CreateRandom(config.CoarseAcousticsConfig, seed + 1, weightType),
        () => BarkFineModel.CreateRandom(config.FineAcousticsConfig, seed + 2, weightType),
        () => EncodecDecoder.CreateRandom(config.CodecConfig, seed + 3),
        null, lowMemory: false, NullLogger.Instance);

    /// <summary>
    /// Generates audio for a processed batch: semantic tokens, coarse codes, fine codes, waveform. Each sample's audio
    /// is decoded at its own length. Options override the checkpoint's generation config.
    /// </summary>
    /// <exception cref="BarkInputException">A sample has no text, or an option is invalid.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; stops within one decode step.</exception>
    public BarkGeneration Generate(BarkInputs inputs, BarkGenerationOptions? options = null, IProgress<BarkProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        options ??= new BarkGenerationOptions();
        VoicePreset? voice = inputs.HistoryPrompt;

        var clock = Stopwatch.StartNew();
        SemanticResult semantic = GenerateSemantic(inputs, options, progress, cancellationToken);
        TimeSpan tSemantic = clock.Elapsed;

        clock.Restart();
        AudioCodes coarse = GenerateCoarse(semantic, voice, options, progress, cancellationToken);
        TimeSpan tCoarse = clock.Elapsed;

        clock.Restart();
        AudioCodes fine = GenerateFine(coarse, voice, options, progress, cancellationToken);
        TimeSpan tFine = clock.Elapsed;

        clock.Restart();
        float[][] audio = DecodeCodec(fine, cancellationToken);
        TimeSpan tCodec = clock.Elapsed;
        progress?.Report(new BarkProgress(BarkStage.Codec, 1, 1, fine.Frames.Sum() / Math.Max(tCodec.TotalSeconds, 1e-9)));

        double audioSeconds = audio.Length == 0 ? 0 : audio.Max(a => a.Length) / (double)SampleRate;
        int width = fine.BatchSize == 0 ? 0 : fine.Codes[0][0].Length;
        var timings = new BarkTimings(tSemantic, semantic.Tokens.Length == 0 ? 0 : semantic.Tokens[0].Length, tCoarse,
            width * coarse.Codebooks, tFine, width, tCodec, audioSeconds);
        _logger.LogInformation("Generated {Seconds:F2} s of audio in {Total:F2} s (RTF {Rtf:F2})", audioSeconds, timings.Total.TotalSeconds, timings.RealTimeFactor);
        return new BarkGeneration(audio, SampleRate, semantic, coarse, fine, timings);
    }

    /// <summary>
    /// Generates a batch of segments, each with its own text, voice and random stream, and returns each segment's
    /// audio and tokens at its own length. A segment's result depends only on its text ids, voice, seed, stream and
    /// <paramref name="options"/> (whose <see cref="BarkGenerationOptions.Seed"/> is not used): it is bit-identical
    /// whether the segment runs alone or with others, and equals <see cref="Generate"/> on that text and voice with
    /// the same seed when the stream is 0.
    /// </summary>
    /// <remarks>
    /// The semantic stage runs all rows as one batch (their voices summed into their own prompts). The coarse stage
    /// batches rows whose trimmed voice histories are equally long (all of suno's presets trim to the same length;
    /// no voice is another group). The fine stage and the codec run each segment on its own frames, as a lone
    /// generation would: the fine model looks at a whole window, so a batch's longer rows would change a short one.
    /// </remarks>
    /// <exception cref="BarkInputException">A segment has no text ids, or an option is invalid.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; stops within one decode step.</exception>
    public SegmentOutput[] GenerateSegments(IReadOnlyList<SegmentRequest> segments, BarkGenerationOptions? options = null,
        IProgress<BarkProgress>? progress = null, CancellationToken cancellationToken = default) =>
        GenerateWithdrawableSegments(segments, options, progress, cancellationToken, withdrawn: null)!;

    /// <summary>
    /// <see cref="GenerateSegments(IReadOnlyList{SegmentRequest}, BarkGenerationOptions?, IProgress{BarkProgress}?, CancellationToken)"/>
    /// where rows can be withdrawn while the batch runs (their callers went away): a withdrawn row is dropped at the next
    /// stage boundary (before the coarse stage, before its fine stage and codec) and its output is null. The other rows
    /// are unaffected.
    /// </summary>
    internal SegmentOutput?[] GenerateWithdrawableSegments(IReadOnlyList<SegmentRequest> segments, BarkGenerationOptions? options,
        IProgress<BarkProgress>? progress, CancellationToken cancellationToken, Func<int, bool>? withdrawn)
    {
        ArgumentNullException.ThrowIfNull(segments);
        options ??= new BarkGenerationOptions();
        int batch = segments.Count;
        if (batch == 0) return [];
        for (int b = 0; b < batch; b++)
            if (segments[b] is null || segments[b].TextIds.Count == 0)
                throw new BarkInputException($"segment {b} has no text ids; Bark needs some text to speak.");
        var streams = RandomStreams.PerRow(segments.Select(s => s.StreamSeed).ToArray());

        var clock = Stopwatch.StartNew();
        SemanticResult semantic;
        try
        {
            SemanticGenerationConfig config = GenerationConfig.SemanticConfig;
            semantic = SemanticGenerator.Generate(Semantic, config, options.ResolveSemantic(config), options.MinEosP,
                segments.Select(s => s.TextIds.ToArray()).ToArray(), null,
                new PerRow<long[]?>(segments.Select(s => s.Voice?.SemanticPrompt).ToArray()), streams, progress, cancellationToken);
        }
        finally
        {
            ReleaseIfLowMemory(_semantic);
        }
        TimeSpan tSemantic = clock.Elapsed;

        clock.Restart();
        var coarse = new int[batch][][];     // [codebook][frame] on the row's own frames; null: withdrawn
        try
        {
            CoarseGenerationConfig config = GenerationConfig.CoarseAcousticsConfig;
            int[] live = Enumerable.Range(0, batch).Where(b => withdrawn?.Invoke(b) != true).ToArray();
            foreach (int[] rows in CoarseGroups(segments, live))
            {
                AudioCodes result = CoarseGenerator.Generate(CoarseAcoustics, GenerationConfig.SemanticConfig, config, GenerationConfig.CodebookSize,
                    options.ResolveCoarse(config), rows.Select(b => semantic.Tokens[b]).ToArray(),
                    new PerRow<long[]?>(rows.Select(b => segments[b].Voice?.SemanticPrompt).ToArray()),
                    new PerRow<long[][]?>(rows.Select(b => segments[b].Voice?.CoarsePrompt).ToArray()),
                    RandomStreams.PerRow(rows.Select(b => segments[b].StreamSeed).ToArray()), progress, cancellationToken);
                for (int i = 0; i < rows.Length; i++) coarse[rows[i]] = result.Sample(i);
            }
        }
        finally
        {
            ReleaseIfLowMemory(_coarse);
        }
        TimeSpan tCoarse = clock.Elapsed;

        clock.Restart();
        var fine = new int[batch][][];
        try
        {
            FineGenerationConfig config = GenerationConfig.FineAcousticsConfig;
            for (int b = 0; b < batch; b++)
                if (coarse[b] is not null && withdrawn?.Invoke(b) != true)
                    fine[b] = FineGenerator.Generate(FineAcoustics, GenerationConfig.CoarseAcousticsConfig, config, GenerationConfig.CodebookSize,
                    options.ResolveFineTemperature(config), new AudioCodes([coarse[b]], [coarse[b][0].Length]), segments[b].Voice?.FinePrompt,
                    RandomStreams.PerRow([segments[b].StreamSeed]), progress, cancellationToken).Codes[0];
        }
        finally
        {
            ReleaseIfLowMemory(_fine);
        }
        TimeSpan tFine = clock.Elapsed;

        clock.Restart();
        int[] done = Enumerable.Range(0, batch).Where(b => fine[b] is not null).ToArray();
        float[][] decoded = DecodeCodec(new AudioCodes([.. done.Select(b => fine[b])], [.. done.Select(b => fine[b][0].Length)]), cancellationToken);
        var audio = new float[batch][];
        for (int i = 0; i < done.Length; i++) audio[done[i]] = decoded[i];
        TimeSpan tCodec = clock.Elapsed;

        double audioSeconds = decoded.Length == 0 ? 0 : decoded.Max(a => a.Length) / (double)SampleRate;
        var timings = new BarkTimings(tSemantic, semantic.Tokens[0].Length, tCoarse, coarse.Max(c => c is null ? 0 : c.Length * c[0].Length), tFine,
            fine.Max(f => f is null || f.Length == 0 ? 0 : f[0].Length), tCodec, audioSeconds);
        return Enumerable.Range(0, batch)
            .Select(b => audio[b] is null ? null : new SegmentOutput(audio[b], SampleRate, semantic.Tokens[b][..semantic.Lengths[b]], fine[b], timings, batch))
            .ToArray();
    }

    /// <summary>Rows whose voice histories trim to the same lengths, which the coarse stage can run as one batch.</summary>
    private IEnumerable<int[]> CoarseGroups(IReadOnlyList<SegmentRequest> segments, IEnumerable<int> rows)
    {
        SemanticGenerationConfig s = GenerationConfig.SemanticConfig;
        CoarseGenerationConfig c = GenerationConfig.CoarseAcousticsConfig;
        double ratio = CoarseGenerator.Ratio(s, c);
        int maxSemanticHistory = (int)Math.Floor(c.MaxCoarseHistory / ratio);
        return rows
            .GroupBy(b =>
            {
                (int[] sem, int[] coarse) = CoarseGenerator.PrepareHistory(segments[b].Voice?.SemanticPrompt, segments[b].Voice?.CoarsePrompt, c,
                    s.SemanticVocabSize, GenerationConfig.CodebookSize, ratio, maxSemanticHistory);
                return (sem.Length, coarse.Length);
            })
            .Select(g => g.ToArray());
    }

    /// <summary>Runs <see cref="Generate"/> on a worker thread.</summary>
    public Task<BarkGeneration> GenerateAsync(BarkInputs inputs, BarkGenerationOptions? options = null, IProgress<BarkProgress>? progress = null,
        CancellationToken cancellationToken = default) =>
        Task.Run(() => Generate(inputs, options, progress, cancellationToken), cancellationToken);

    /// <summary>The semantic stage alone (Transformers' <c>BarkSemanticModel.generate</c>).</summary>
    public SemanticResult GenerateSemantic(BarkInputs inputs, BarkGenerationOptions? options = null, IProgress<BarkProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        options ??= new BarkGenerationOptions();
        if (inputs.BatchSize == 0) throw new BarkInputException("the batch is empty: give at least one text.");
        int[][] ids = inputs.InputIds.Select(r => r.Select(v => checked((int)v)).ToArray()).ToArray();
        int[][] mask = inputs.AttentionMask.Select(r => r.Select(v => checked((int)v)).ToArray()).ToArray();
        for (int b = 0; b < ids.Length; b++)
            if (ids[b].Length == 0 || mask[b].All(m => m == 0))
                throw new BarkInputException($"text {b} of the batch has no tokens; Bark needs some text to speak.");
        SemanticGenerationConfig config = GenerationConfig.SemanticConfig;
        try
        {
            return SemanticGenerator.Generate(Semantic, config, options.ResolveSemantic(config), options.MinEosP, ids, mask,
                inputs.HistoryPrompt?.SemanticPrompt, options.Seed, progress, cancellationToken);
        }
        finally
        {
            ReleaseIfLowMemory(_semantic);
        }
    }

    /// <summary>
    /// The coarse stage alone (Transformers' <c>BarkCoarseModel.generate</c>), from <see cref="GenerateSemantic"/>'s
    /// result: codes of the first two codebooks <c>[sample][codebook][frame]</c> (the model's vocabulary offsets
    /// removed), each sample with its own frame count.
    /// </summary>
    public AudioCodes GenerateCoarse(SemanticResult semantic, VoicePreset? voice = null, BarkGenerationOptions? options = null,
        IProgress<BarkProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(semantic);
        options ??= new BarkGenerationOptions();
        CoarseGenerationConfig config = GenerationConfig.CoarseAcousticsConfig;
        try
        {
            return CoarseGenerator.Generate(CoarseAcoustics, GenerationConfig.SemanticConfig, config, GenerationConfig.CodebookSize,
                options.ResolveCoarse(config), semantic.Tokens, voice?.SemanticPrompt, voice?.CoarsePrompt, options.Seed, progress, cancellationToken);
        }
        finally
        {
            ReleaseIfLowMemory(_coarse);
        }
    }

    /// <summary>
    /// The fine stage alone (Transformers' <c>BarkFineModel.generate</c>): <see cref="GenerateCoarse"/>'s codes with
    /// all eight codebooks filled, <c>[sample][codebook][frame]</c>, each sample keeping its frame count.
    /// </summary>
    /// <exception cref="BarkInputException">The codes do not have the coarse stage's two codebooks.</exception>
    public AudioCodes GenerateFine(AudioCodes coarse, VoicePreset? voice = null, BarkGenerationOptions? options = null,
        IProgress<BarkProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(coarse);
        options ??= new BarkGenerationOptions();
        FineGenerationConfig config = GenerationConfig.FineAcousticsConfig;
        try
        {
            return FineGenerator.Generate(FineAcoustics, GenerationConfig.CoarseAcousticsConfig, config, GenerationConfig.CodebookSize,
                options.ResolveFineTemperature(config), coarse, voice?.FinePrompt,
                options.Seed, progress, cancellationToken);
        }
        finally
        {
            ReleaseIfLowMemory(_fine);
        }
    }

    /// <summary>
    /// Codes <c>[sample][codebook][frame]</c> → waveform per sample, each decoded alone on its own
    /// <see cref="AudioCodes.Frames"/>. A sample of 0 frames gives empty audio.
    /// </summary>
    /// <exception cref="BarkInputException">A code is outside 0 … 1023, or a sample's frame count exceeds its codes.</exception>
    public float[][] DecodeCodec(AudioCodes codes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(codes);
        try
        {
            return DecodeEach(codes, cancellationToken);
        }
        finally
        {
            ReleaseIfLowMemory(_codec);
        }
    }

    private float[][] DecodeEach(AudioCodes codes, CancellationToken cancellationToken)
    {
        int[][][] fineTokens = codes.Codes;
        if (codes.Frames.Length != fineTokens.Length)
            throw new BarkInputException($"the codes have {fineTokens.Length} samples but {codes.Frames.Length} frame counts.");
        var audio = new float[fineTokens.Length][];
        for (int b = 0; b < fineTokens.Length; b++)
        {
            int total = fineTokens[b].Length == 0 ? 0 : fineTokens[b][0].Length;
            int length = codes.Frames[b];
            if (length < 0 || length > total)
                throw new BarkInputException($"sample {b}: {length} frames requested but its codes have {total}.");
            if (length == 0)
            {
                audio[b] = [];
                continue;
            }
            var sample = new int[fineTokens[b].Length * length];              // [codebook, frame] row-major
            for (int c = 0; c < fineTokens[b].Length; c++) fineTokens[b][c].AsSpan(0, length).CopyTo(sample.AsSpan(c * length));
            audio[b] = Codec.Decode(sample, length, cancellationToken);
        }
        return audio;
    }

    /// <summary>Drops the weights. Any later use of the model throws <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        // Weights live in managed arrays (the checkpoint is mapped only while a sub-model is read); drop them.
        _semantic.Close();
        _coarse.Close();
        _fine.Close();
        _codec.Close();
    }

    private void ReleaseIfLowMemory<T>(StageSlot<T> slot) where T : class, IThreadedModel
    {
        if (!LowMemory || !slot.Resident) return;
        slot.Release();
        // Return the stage's weights to the operating system before the next stage loads its own.
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
    }

    /// <summary>A sub-model that is loaded on first use (with the model's thread count) and can be dropped again.</summary>
    private sealed class StageSlot<T>(Func<T> load, Func<int> threads) where T : class, IThreadedModel
    {
        private T? _value;
        private bool _closed;

        public T Value => _value ?? (_closed ? throw new ObjectDisposedException(nameof(BarkModel), "the model was disposed; load it again to generate.") : _value = Loaded());

        public bool Resident => _value is not null;

        public void Release() => _value = null;

        public void Close()
        {
            _closed = true;
            _value = null;
        }

        public void ApplyThreads(int count)
        {
            if (_value is not null) _value.MaxThreads = count;
        }

        private T Loaded()
        {
            T model = load();
            model.MaxThreads = threads();
            return model;
        }
    }

    /// <summary>
    /// <see cref="WeightType.Auto"/> keeps the checkpoint's type for the transformer blocks (float16 and bfloat16
    /// checkpoints stay 16-bit; everything else is float32). Embeddings, LM heads and the codec are always float32.
    /// </summary>
    private static WeightType ResolveWeightType(WeightType requested, ITensorStore store)
    {
        if (requested != WeightType.Auto) return requested;
        return store.TryGetInfo("semantic.layers.0.attn.att_proj.weight", out var info)
            ? info.DType switch { DType.Float16 => WeightType.Float16, DType.BFloat16 => WeightType.BFloat16, _ => WeightType.Float32 }
            : WeightType.Float32;
    }

    private static string FindWeights(string folder, string? requested)
    {
        if (requested is not null)
        {
            string path = Path.Combine(folder, requested);
            return File.Exists(path) ? path : throw new BarkException($"'{path}' does not exist.");
        }
        foreach (string name in new[] { "model.safetensors", "pytorch_model.bin" })
        {
            string path = Path.Combine(folder, name);
            if (File.Exists(path)) return path;
        }
        string present = string.Join(", ", Directory.EnumerateFiles(folder).Select(Path.GetFileName).Take(20));
        throw new BarkException($"'{folder}' has neither model.safetensors nor pytorch_model.bin (found: {(present.Length == 0 ? "nothing" : present)}). Download the model's weights into that folder.");
    }
}
