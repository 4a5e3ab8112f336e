using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using BarkSharp.Configuration;
using BarkSharp.Generation;
using BarkSharp.Models;

namespace BarkSharp.Diagnostics;

/// <summary>What <see cref="BarkBenchmark.Run"/> measures.</summary>
internal sealed record BenchmarkOptions
{
    /// <summary><c>bark-small</c> (default) or <c>bark</c>: the real shapes, random weights.</summary>
    public string Shape { get; init; } = "bark-small";

    /// <summary>Threads for the kernels (default: processor count).</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>Sequences generated together.</summary>
    public int Batch { get; init; } = 1;

    /// <summary>Storage type of the blocks' weights (<c>f32</c>, <c>bf16</c>, <c>f16</c>, <c>int8</c>).</summary>
    public Tensors.WeightType Weights { get; init; } = Tensors.WeightType.Float32;

    /// <summary>Storage of the KV caches (default <see cref="KvCacheType.Auto"/>: float32 for f32 weights, bfloat16 otherwise).</summary>
    public KvCacheType KvCache { get; init; } = KvCacheType.Auto;

    /// <summary>Shapes to use instead of <see cref="Shape"/> (tests run the workload on a small model).</summary>
    internal BarkConfig? ConfigOverride { get; init; }

    /// <summary>Skip the machine probe (FMA peak and read bandwidth) and report no fractions.</summary>
    public bool SkipProbe { get; init; }

    /// <summary>
    /// Run the generated int8/bf16 kernels where the CPU supports them (default true); false switches them off for
    /// the process, as <see cref="BarkModelOptions.UseJitKernels"/> does.
    /// </summary>
    public bool UseJitKernels { get; init; } = true;
}

/// <summary>
/// The fixed Bark workload on random weights of the real shapes, timed per stage: semantic prefill of 257 positions
/// (256 text positions summed with 256 history positions, then the infer token, as <see cref="SemanticGenerator"/>
/// builds the prompt) and 256 cached decode steps; coarse generation of 770 tokens from 256 semantic tokens with the real 60-token
/// windows and 630-token history (a fresh prefill per window); one fine window of 1024 frames (385 real) through 6
/// codebook passes; the codec decoding 385 frames (5.13 s of audio).
/// </summary>
internal static class BarkBenchmark
{
    /// <summary>Frames the fine and codec stages process (5.13 s of audio).</summary>
    public const int Frames = 385;

    /// <summary>Runs the workload and returns the report.</summary>
    public static BenchmarkReport Run(BenchmarkOptions options, IProgress<string>? log = null, CancellationToken cancellationToken = default)
    {
        BarkConfig config = options.ConfigOverride ?? ShapeConfig(options.Shape);
        int threads = Math.Max(1, options.Threads), batch = Math.Max(1, options.Batch);
        KvCacheType kvCache = KvCache.Resolve(options.KvCache, options.Weights);
        if (!options.UseJitKernels) Tensors.Jit.JitKernels.Enabled = false;
        var machine = new MachineReport(MachineProbe.CpuName(), 0, 0);
        if (!options.SkipProbe)
        {
            log?.Report("probing FMA peak and memory bandwidth…");
            machine = machine with { FmaGflops = MachineProbe.FmaGflops(threads), ReadGBs = MachineProbe.ReadGBs(threads) };
            if (options.Weights == Tensors.WeightType.Int8 && MachineProbe.Int8Gops(threads) is > 0 and double gops)
                machine = machine with { Int8Gops = gops };
        }
        var stages = new Dictionary<string, StageReport>();
        var total = Stopwatch.StartNew();
        TimeSpan excluded = TimeSpan.Zero;

        // Semantic: the generator's 257-position prefill (text + history summed, then the infer token), 256 decode steps.
        var loading = Stopwatch.StartNew();
        BarkCausalModel semantic = BarkCausalModel.CreateRandom(config.SemanticConfig, 1, options.Weights);
        semantic.MaxThreads = threads;
        semantic.KvCacheType = kvCache;
        excluded += loading.Elapsed;
        {
            log?.Report("semantic…");
            SemanticConfig c = config.SemanticConfig;
            SemanticGenerationConfig g = new BarkGenerationConfig().SemanticConfig;
            int context = g.MaxInputSemanticLength, prefill = context + 1;
            const int steps = 256, vocab = 10_001;
            var rng = new Random(7);
            var embeds = new float[batch * prefill * c.HiddenSize];
            for (int b = 0; b < batch; b++)
            {
                int[] text = Enumerable.Range(0, context).Select(_ => g.TextEncodingOffset + rng.Next(c.InputVocabSize - g.TextEncodingOffset)).ToArray();
                int[] history = Enumerable.Range(0, context).Select(_ => rng.Next(g.SemanticVocabSize)).ToArray();
                semantic.EmbedMergedContext(text, history, [g.SemanticInferToken], 1, embeds.AsSpan(b * prefill * c.HiddenSize, prefill * c.HiddenSize));
            }
            KvCache cache = semantic.CreateCache(batch, prefill + steps);
            ModelWorkspace ws = semantic.CreateWorkspace();
            var logits = new float[batch * vocab];
            // Warm-up: let the JIT compile the forward path before anything is timed.
            semantic.ForwardEmbeddings(embeds.AsSpan(0, batch * 20 * c.HiddenSize), batch, 20, cache, ws, logits, lastPositionOnly: true, vocabCount: vocab);
            semantic.Forward(new int[batch], batch, cache, ws, logits, lastPositionOnly: true, vocabCount: vocab);
            cache.Reset();
            var clock = Stopwatch.StartNew();
            semantic.ForwardEmbeddings(embeds, batch, prefill, cache, ws, logits, lastPositionOnly: true, vocabCount: vocab);
            double prefillSeconds = clock.Elapsed.TotalSeconds;
            stages["semantic_prefill"] = Compute(prefill * batch, prefillSeconds, CausalFlops(c, batch, 0, prefill, vocab, lastOnly: true),
                LinearFlops(c, batch, prefill), machine);
            var next = new int[batch];
            clock.Restart();
            for (int s = 0; s < steps; s++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                for (int b = 0; b < batch; b++) next[b] = LogitsProcessing.ArgMax(logits.AsSpan(b * vocab, vocab));
                semantic.Forward(next, batch, cache, ws, logits, lastPositionOnly: true, vocabCount: vocab);
            }
            stages["semantic_decode"] = Memory(steps, clock.Elapsed.TotalSeconds, Enumerable.Range(prefill, steps).Sum(p => DecodeBytes(c, batch, p, vocab, options.Weights, kvCache)), machine);
        }
        semantic = null!;
        GC.Collect();

        // Coarse: 770 tokens from 256 semantic tokens, real windows.
        loading.Restart();
        BarkCausalModel coarse = BarkCausalModel.CreateRandom(config.CoarseAcousticsConfig, 2, options.Weights);
        coarse.MaxThreads = threads;
        coarse.KvCacheType = kvCache;
        excluded += loading.Elapsed;
        AudioCodes coarseCodes;
        {
            log?.Report("coarse…");
            var rng = new Random(8);
            int[][] semanticTokens = Enumerable.Range(0, batch).Select(_ => Enumerable.Range(0, 256).Select(_ => rng.Next(10_000)).ToArray()).ToArray();
            var generation = new BarkGenerationConfig();
            var stats = new GenerationStatistics(coarseLength: 770);
            coarseCodes = CoarseGenerator.Generate(coarse, generation.SemanticConfig, generation.CoarseAcousticsConfig, generation.CodebookSize,
                BarkGenerationOptions.Greedy.ResolveCoarse(generation.CoarseAcousticsConfig), semanticTokens, null, null, 0, stats, cancellationToken);
            CoarseAcousticsConfig c = config.CoarseAcousticsConfig;
            double prefillFlops = stats.Prefills.Sum(p => CausalFlops(c, batch, 0, p, 1024, lastOnly: true));
            stages["coarse_prefill"] = Compute(stats.Prefills.Sum() * batch, stats.PrefillSeconds, prefillFlops,
                stats.Prefills.Sum(p => LinearFlops(c, batch, p)), machine);
            double decodeBytes = stats.DecodePositions.Sum(p => DecodeBytes(c, batch, p, 1024, options.Weights, kvCache));
            stages["coarse_decode"] = Memory(stats.DecodePositions.Count, stats.DecodeSeconds, decodeBytes, machine);
        }
        coarse = null!;
        GC.Collect();

        // Fine: one window, 6 passes.
        loading.Restart();
        BarkFineModel fine = BarkFineModel.CreateRandom(config.FineAcousticsConfig, 3, options.Weights);
        fine.MaxThreads = threads;
        excluded += loading.Elapsed;
        AudioCodes fineCodes;
        {
            log?.Report("fine…");
            var generation = new BarkGenerationConfig();
            var clock = Stopwatch.StartNew();
            fineCodes = FineGenerator.Generate(fine, generation.CoarseAcousticsConfig, generation.FineAcousticsConfig, generation.CodebookSize,
                null, coarseCodes, null, 0, null, cancellationToken);
            FineAcousticsConfig c = config.FineAcousticsConfig;
            double flops = 6 * FineFlops(c, batch, 1024, 1024);
            stages["fine"] = Compute(6 * 1024 * batch, clock.Elapsed.TotalSeconds, flops, 6 * LinearFlops(c, batch, 1024), machine);
        }
        fine = null!;
        GC.Collect();

        // Codec: 385 frames.
        loading.Restart();
        var codec = Models.Encodec.EncodecDecoder.CreateRandom(config.CodecConfig, 4);
        codec.MaxThreads = threads;
        excluded += loading.Elapsed;
        {
            log?.Report("codec…");
            var codes = new int[8 * Frames];
            for (int cb = 0; cb < 8; cb++) fineCodes.Codes[0][cb].AsSpan(0, Frames).CopyTo(codes.AsSpan(cb * Frames));
            var warmUp = new int[8 * 4];
            for (int cb = 0; cb < 8; cb++) codes.AsSpan(cb * Frames, 4).CopyTo(warmUp.AsSpan(cb * 4));
            codec.Decode(warmUp, 4, cancellationToken);                                // let the JIT compile the decoder first
            var clock = Stopwatch.StartNew();
            for (int b = 0; b < batch; b++) codec.Decode(codes, Frames, cancellationToken);
            stages["codec"] = Compute(Frames * batch, clock.Elapsed.TotalSeconds, batch * CodecFlops(config.CodecConfig, Frames), 0, machine);
        }

        double totalSeconds = (total.Elapsed - excluded).TotalSeconds;
        double audioSeconds = Frames * config.CodecConfig.HopLength / (double)config.CodecConfig.SampleRate;
        return new BenchmarkReport(machine, ShortName(options.Weights), ShortName(kvCache), threads, batch, options.Shape, stages, totalSeconds, Math.Round(audioSeconds, 2),
            totalSeconds / (audioSeconds * batch), Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024.0));
    }

    /// <summary>
    /// A compute-bound stage: its limit is the time its operations take at the FMA peak, except the
    /// <paramref name="linearFlops"/> of the transformer blocks' weights, which int8 weights run at the int8 dot-product
    /// peak when the machine has one.
    /// </summary>
    private static StageReport Compute(int tokens, double seconds, double flops, double linearFlops, MachineReport m)
    {
        double gflops = flops / seconds / 1e9;
        double? fraction = null;
        if (m.FmaGflops > 0)
        {
            double int8 = m.Int8Gops is > 0 ? linearFlops : 0;
            double limitSeconds = (flops - int8) / (m.FmaGflops * 1e9) + (int8 > 0 ? int8 / (m.Int8Gops!.Value * 1e9) : 0);
            fraction = limitSeconds / seconds;
        }
        return new StageReport(seconds, tokens, seconds * 1000 / tokens, gflops, null, fraction);
    }

    /// <summary>FLOPs of the transformer blocks' linear layers over <paramref name="n"/> positions (the part int8 weights run as integer dot products).</summary>
    internal static double LinearFlops(BarkSubModelConfig c, int batch, int n) => batch * 2.0 * n * 12 * c.HiddenSize * (double)c.HiddenSize * c.NumLayers;

    private static StageReport Memory(int steps, double seconds, double bytes, MachineReport m)
    {
        double gbs = bytes / seconds / 1e9;
        return new StageReport(seconds, steps, seconds * 1000 / steps, null, gbs, m.ReadGBs > 0 ? gbs / m.ReadGBs : null);
    }

    /// <summary>FLOPs of a causal forward of <paramref name="n"/> new positions after <paramref name="past"/> cached ones.</summary>
    internal static double CausalFlops(BarkSubModelConfig c, int batch, int past, int n, int vocab, bool lastOnly)
    {
        double h = c.HiddenSize;
        double linear = LinearFlops(c, 1, n);
        double attention = 0;
        for (int t = 0; t < n; t++) attention += 4.0 * h * (past + t + 1) * c.NumLayers;
        double head = 2.0 * (lastOnly ? 1 : n) * vocab * h;
        return batch * (linear + attention + head);
    }

    /// <summary>FLOPs of one fine forward over <paramref name="n"/> frames (non-causal).</summary>
    internal static double FineFlops(BarkSubModelConfig c, int batch, int n, int vocab)
    {
        double h = c.HiddenSize;
        return batch * (LinearFlops(c, 1, n) + 4.0 * h * n * n * c.NumLayers + 2.0 * n * vocab * h);
    }

    /// <summary>Bytes one decode step reads: the weights (once for the batch), the head rows and each sequence's cached keys and values.</summary>
    internal static double DecodeBytes(BarkSubModelConfig c, int batch, int position, int vocab, Tensors.WeightType type, KvCacheType kvCache)
    {
        double h = c.HiddenSize;
        double bytesPerWeight = type switch { Tensors.WeightType.Int8 => 1, Tensors.WeightType.BFloat16 or Tensors.WeightType.Float16 => 2, _ => 4 };
        double blocks = 12 * h * h * c.NumLayers * bytesPerWeight;
        double head = 4.0 * vocab * h;
        double bytesPerCached = kvCache == KvCacheType.Float32 ? 4 : 2;
        double cache = bytesPerCached * batch * 2.0 * c.NumLayers * (position + 1) * h;
        return blocks + head + cache;
    }

    /// <summary>The short name of a weight type used in reports (<c>f32</c>, <c>bf16</c>, <c>f16</c>, <c>int8</c>).</summary>
    public static string ShortName(Tensors.WeightType type) => type switch
    {
        Tensors.WeightType.BFloat16 => "bf16",
        Tensors.WeightType.Float16 => "f16",
        Tensors.WeightType.Int8 => "int8",
        _ => "f32",
    };

    /// <summary>The short name of a KV cache type used in reports (<c>f32</c>, <c>bf16</c>; <c>auto</c> unresolved).</summary>
    public static string ShortName(KvCacheType type) => type switch
    {
        KvCacheType.Float32 => "f32",
        KvCacheType.BFloat16 => "bf16",
        _ => "auto",
    };

    /// <summary>The real shapes named <c>bark-small</c> or <c>bark</c> (random weights are built on them).</summary>
    internal static BarkConfig ShapeConfig(string shape) => shape switch
    {
        "bark-small" => BarkConfig.BarkSmall,
        "bark" or "bark-large" => BarkConfig.BarkLarge,
        _ => throw new BarkInputException($"unknown shape '{shape}': use bark-small or bark."),
    };

    /// <summary>Parses <c>auto</c>, <c>f32</c> or <c>bf16</c>.</summary>
    public static KvCacheType ParseKvCacheType(string name) => name.ToLowerInvariant() switch
    {
        "auto" => KvCacheType.Auto,
        "f32" or "float32" or "fp32" => KvCacheType.Float32,
        "bf16" or "bfloat16" => KvCacheType.BFloat16,
        _ => throw new BarkInputException($"unknown KV cache type '{name}': use auto, f32 or bf16."),
    };

    /// <summary>Parses <c>f32</c>, <c>bf16</c>, <c>f16</c> or <c>int8</c>.</summary>
    public static Tensors.WeightType ParseWeightType(string name) => name.ToLowerInvariant() switch
    {
        "f32" or "float32" or "fp32" => Tensors.WeightType.Float32,
        "bf16" or "bfloat16" => Tensors.WeightType.BFloat16,
        "f16" or "float16" or "fp16" => Tensors.WeightType.Float16,
        "int8" or "q8" => Tensors.WeightType.Int8,
        _ => throw new BarkInputException($"unknown weight type '{name}': use f32, bf16, f16 or int8."),
    };

    /// <summary>Approximate FLOPs of the EnCodec decoder for <paramref name="frames"/> frames (convolutions and LSTM).</summary>
    internal static double CodecFlops(EncodecConfig c, int frames)
    {
        int f = c.NumFilters, channels = f << c.UpsamplingRatios.Length;
        double t = frames;
        double flops = 2.0 * c.HiddenSize * channels * c.KernelSize * t;                    // first conv
        flops += c.NumLstmLayers * 2.0 * 4 * channels * 2 * channels * t;                  // LSTM
        foreach (int r in c.UpsamplingRatios)
        {
            flops += 2.0 * channels * (channels / 2) * (2 * r) * t;                        // transposed conv (per input frame)
            t *= r;
            channels /= 2;
            int hidden = channels / c.Compress;
            flops += c.NumResidualLayers * (2.0 * channels * hidden * c.ResidualKernelSize * t + 2.0 * hidden * channels * t + 2.0 * channels * channels * t);
        }
        flops += 2.0 * channels * c.AudioChannels * c.LastKernelSize * t;
        return flops;
    }
}

/// <summary>
/// The benchmark's result; <see cref="ToJson"/> gives the documented JSON shape. <c>rtf</c> is total seconds over the
/// audio of the whole batch (<c>audio_seconds</c> × batch).
/// </summary>
internal sealed record BenchmarkReport(
    [property: JsonPropertyName("machine")] MachineReport Machine,
    [property: JsonPropertyName("weights")] string Weights,
    [property: JsonPropertyName("kv_cache")] string KvCache,
    [property: JsonPropertyName("threads")] int Threads,
    [property: JsonPropertyName("batch")] int Batch,
    [property: JsonPropertyName("shape")] string Shape,
    [property: JsonPropertyName("stages")] IReadOnlyDictionary<string, StageReport> Stages,
    [property: JsonPropertyName("total_seconds")] double TotalSeconds,
    [property: JsonPropertyName("audio_seconds")] double AudioSeconds,
    [property: JsonPropertyName("rtf")] double Rtf,
    [property: JsonPropertyName("peak_rss_mb")] double PeakRssMb)
{
    /// <summary>
    /// Seconds the stages would take at their machine limits (each stage's time × its fraction, capped at 1); the
    /// ratio <see cref="TotalSeconds"/> / this says how far the whole run is from the hardware. Null without a probe.
    /// </summary>
    [JsonPropertyName("limit_seconds")]
    public double? LimitSeconds => Stages.Values.All(s => s.Fraction is not null)
        ? Stages.Values.Sum(s => s.Seconds * Math.Min(1.0, s.Fraction!.Value))
        : null;

    /// <summary>The report as indented JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, new JsonSerializerOptions { WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull });
}

/// <summary>The machine the benchmark ran on and its measured limits.</summary>
internal sealed record MachineReport(
    [property: JsonPropertyName("cpu")] string Cpu,
    [property: JsonPropertyName("fma_gflops")] double FmaGflops,
    [property: JsonPropertyName("read_gbs")] double ReadGBs)
{
    /// <summary>Int8 dot-product peak in GOP/s (AVX-VNNI), probed for int8 runs on machines that have it; else null.</summary>
    [JsonPropertyName("int8_gops")]
    public double? Int8Gops { get; init; }

    /// <summary>The vector path the kernels ran (<c>AVX-512</c>, <c>AVX2</c> or <c>Vector128</c>); the FMA peak is probed on the same path.</summary>
    [JsonPropertyName("vector_path")]
    public string VectorPath { get; init; } = MachineProbe.VectorPath;

    /// <summary>The generated kernels that ran for int8 and bf16 weights (<see cref="MachineProbe.GeneratedKernels"/>).</summary>
    [JsonPropertyName("generated_kernels")]
    public string GeneratedKernels { get; init; } = MachineProbe.GeneratedKernels;
}

/// <summary>One stage's timing; <see cref="Gflops"/> for compute-bound stages, <see cref="Gbs"/> for decode steps.</summary>
internal sealed record StageReport(
    [property: JsonPropertyName("seconds")] double Seconds,
    [property: JsonPropertyName("tokens")] int Tokens,
    [property: JsonPropertyName("ms_per_token")] double MsPerToken,
    [property: JsonPropertyName("gflops")] double? Gflops,
    [property: JsonPropertyName("gbs")] double? Gbs,
    [property: JsonPropertyName("fraction")] double? Fraction);
