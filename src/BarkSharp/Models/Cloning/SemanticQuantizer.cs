using System.Text.Json;
using BarkSharp.IO;
using BarkSharp.Tensors;

namespace BarkSharp.Models.Cloning;

/// <summary>
/// Sizes of a <see cref="SemanticQuantizer"/>, as stored in the checkpoint's <c>.info</c> zip entry
/// (<c>{"input_size": 768, "hidden_size": 1024, "output_size": 10000, "version": 0}</c>).
/// </summary>
/// <param name="InputSize">Features per HuBERT frame (768 for HuBERT base).</param>
/// <param name="HiddenSize">LSTM width (1024).</param>
/// <param name="OutputSize">Classes: Bark's semantic vocabulary (10000).</param>
/// <param name="Version">0: LSTM → fc; 1: LSTM → a 4096-wide linear layer → fc.</param>
internal sealed record SemanticQuantizerInfo(int InputSize, int HiddenSize, int OutputSize, int Version)
{
    /// <summary>What the original loader assumes for a file without <c>.info</c>: v0, 768 → 1024 → 10000.</summary>
    public static SemanticQuantizerInfo Default { get; } = new(768, 1024, 10_000, 0);

    /// <summary>Width of the version-1 intermediate layer (fixed in the original code).</summary>
    public const int IntermediateSize = 4096;
}

/// <summary>
/// The HuBERT-feature quantizer of the community voice-cloning recipe (gitmylo/bark-voice-cloning-HuBERT-quantizer,
/// <c>CustomTokenizer</c>): HuBERT features <c>[T, input]</c> → 2-layer LSTM (zero initial state) → [v1: linear
/// hidden → 4096, no activation] → linear → log-softmax over the classes → argmax = Bark semantic tokens, one per
/// 20 ms frame. Reads the <c>.pth</c> the original <c>save()</c> writes (a torch.save state dict plus a <c>.info</c>
/// entry) through the restricted unpickler; tensors saved from a GPU are read the same.
/// </summary>
internal sealed class SemanticQuantizer : IThreadedModel
{
    private readonly LstmLayerWeight[] _lstm;
    private readonly WeightMatrix? _intermediate;
    private readonly WeightMatrix _fc;

    private SemanticQuantizer(SemanticQuantizerInfo info, LstmLayerWeight[] lstm, WeightMatrix? intermediate, WeightMatrix fc)
    {
        Info = info;
        _lstm = lstm;
        _intermediate = intermediate;
        _fc = fc;
    }

    /// <summary>The sizes and version.</summary>
    public SemanticQuantizerInfo Info { get; }

    /// <summary>Threads the kernels may use. Default <see cref="Environment.ProcessorCount"/>; results do not depend on it.</summary>
    public int MaxThreads { get; set; } = Environment.ProcessorCount;

    /// <summary>
    /// Loads a quantizer checkpoint (<c>quantifier_hubert_base_ls960_14.pth</c> and the like). The sizes come from the
    /// <c>.info</c> entry (found by its name ending in <c>/.info</c>, whatever the archive folder is called); without
    /// one, v0 768/1024/10000 as the original loader assumes.
    /// </summary>
    /// <exception cref="BarkFormatException">The file is missing, not a torch checkpoint, or its <c>.info</c> is unreadable.</exception>
    /// <exception cref="BarkWeightException">A tensor is missing or its shape does not match the sizes.</exception>
    public static SemanticQuantizer Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using ITensorStore store = Checkpoint.OpenCheckpoint(path);
        SemanticQuantizerInfo info = store is TorchCheckpoint ? ReadInfo(path) ?? SemanticQuantizerInfo.Default : SemanticQuantizerInfo.Default;
        if (info.Version is not (0 or 1))
            throw new BarkFormatException(path, $"the quantizer's .info says version {info.Version}; only versions 0 and 1 exist.");
        if (info.InputSize <= 0 || info.HiddenSize <= 0 || info.OutputSize <= 0)
            throw new BarkFormatException(path, $"the quantizer's .info has impossible sizes (input {info.InputSize}, hidden {info.HiddenSize}, output {info.OutputSize}).");
        var reader = new WeightReader(store);
        int h = info.HiddenSize;
        var lstm = new LstmLayerWeight[2];
        for (int k = 0; k < 2; k++)
        {
            int input = k == 0 ? info.InputSize : h;
            lstm[k] = LstmLayerWeight.FromTorch(
                reader.Float32($"lstm.weight_ih_l{k}", 4 * h, input), reader.Float32($"lstm.weight_hh_l{k}", 4 * h, h),
                reader.Float32($"lstm.bias_ih_l{k}", 4 * h), reader.Float32($"lstm.bias_hh_l{k}", 4 * h), input, h);
        }
        WeightMatrix? intermediate = null;
        int fcIn = h;
        if (info.Version == 1)
        {
            const int I = SemanticQuantizerInfo.IntermediateSize;
            intermediate = WeightMatrix.FromFloat32(reader.Float32("intermediate.weight", I, h), I, h, reader.Float32("intermediate.bias", I));
            fcIn = I;
        }
        var fc = WeightMatrix.FromFloat32(reader.Float32("fc.weight", info.OutputSize, fcIn), info.OutputSize, fcIn, reader.Float32("fc.bias", info.OutputSize));
        reader.EnsureAllUsed();
        return new SemanticQuantizer(info, lstm, intermediate, fc);
    }

    /// <summary>A quantizer with seeded random weights of the sizes <paramref name="info"/> gives (benchmarks at the real shapes).</summary>
    public static SemanticQuantizer CreateRandom(SemanticQuantizerInfo info, int seed)
    {
        ArgumentNullException.ThrowIfNull(info);
        var rng = new Random(seed);
        int h = info.HiddenSize;
        float[] U(int n, int fanIn) => RandomWeights.Uniform(rng, n, 0f, 1f / MathF.Sqrt(fanIn));
        var lstm = new LstmLayerWeight[2];
        for (int k = 0; k < 2; k++)
        {
            int input = k == 0 ? info.InputSize : h;
            lstm[k] = LstmLayerWeight.FromTorch(U(4 * h * input, h), U(4 * h * h, h), U(4 * h, h), U(4 * h, h), input, h);
        }
        WeightMatrix? intermediate = null;
        int fcIn = h;
        if (info.Version == 1)
        {
            const int I = SemanticQuantizerInfo.IntermediateSize;
            intermediate = WeightMatrix.FromFloat32(U(I * h, h), I, h, U(I, h));
            fcIn = I;
        }
        return new SemanticQuantizer(info, lstm, intermediate, WeightMatrix.FromFloat32(U(info.OutputSize * fcIn, fcIn), info.OutputSize, fcIn, U(info.OutputSize, fcIn)));
    }

    /// <summary>
    /// Log-probabilities <c>[frames, OutputSize]</c> of <paramref name="features"/> <c>[frames, InputSize]</c> (row-major)
    /// — the original <c>forward</c> on a 2-D input, one unbatched sequence.
    /// </summary>
    /// <exception cref="BarkInputException">The features are empty or not whole frames of <see cref="SemanticQuantizerInfo.InputSize"/>.</exception>
    public float[] LogProbabilities(ReadOnlySpan<float> features, CancellationToken cancellationToken = default)
    {
        int input = Info.InputSize, frames = features.Length / input;
        if (features.IsEmpty || features.Length % input != 0)
            throw new BarkInputException($"the quantizer needs whole frames of {input} features, found {features.Length} values.");
        int threads = Math.Max(1, MaxThreads);
        float[] h = Transpose(features, frames, input);                                  // [In, T]
        foreach (LstmLayerWeight layer in _lstm)
        {
            var next = new float[layer.HiddenSize * frames];                              // [H, T]
            Lstm.Forward(h, frames, layer, next, threads, cancellationToken);
            h = next;
        }
        float[] x = Transpose(h, Info.HiddenSize, frames);                              // [T, H]
        if (_intermediate is not null)
        {
            var mid = new float[frames * _intermediate.Rows];                             // [T, 4096]
            MatMul.Multiply(x, frames, _intermediate, mid, threads);
            x = mid;
        }
        var logits = new float[frames * Info.OutputSize];                                 // [T, classes]
        MatMul.Multiply(x, frames, _fc, logits, threads);
        for (int t = 0; t < frames; t++) Softmax.LogInPlace(logits.AsSpan(t * Info.OutputSize, Info.OutputSize));
        return logits;
    }

    /// <summary>Semantic tokens: the most likely class of each frame (the first on a tie), like the original <c>get_token</c>.</summary>
    /// <exception cref="BarkInputException">The features are empty or not whole frames of <see cref="SemanticQuantizerInfo.InputSize"/>.</exception>
    public long[] Tokens(ReadOnlySpan<float> features, CancellationToken cancellationToken = default)
    {
        float[] logProbs = LogProbabilities(features, cancellationToken);
        int classes = Info.OutputSize;
        var tokens = new long[logProbs.Length / classes];
        for (int t = 0; t < tokens.Length; t++)
        {
            ReadOnlySpan<float> row = logProbs.AsSpan(t * classes, classes);
            int best = 0;
            for (int k = 1; k < classes; k++)
                if (row[k] > row[best]) best = k;
            tokens[t] = best;
        }
        return tokens;
    }

    private static float[] Transpose(ReadOnlySpan<float> x, int rows, int cols)
    {
        var y = new float[x.Length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                y[c * rows + r] = x[r * cols + c];
        return y;
    }

    /// <summary>The JSON of the archive's <c>…/.info</c> entry, or null when there is none.</summary>
    private static SemanticQuantizerInfo? ReadInfo(string path)
    {
        using var file = new MappedFile(path);
        ZipDirectory zip = ZipDirectory.Read(file);
        foreach (ZipEntry entry in zip.Entries)
        {
            if (!entry.Name.EndsWith("/.info", StringComparison.Ordinal)) continue;
            if (entry.Method != ZipEntry.Stored)
                throw new BarkFormatException(path, $"the quantizer's '{entry.Name}' entry is compressed; the original code stores it uncompressed. Re-save the quantizer.");
            try
            {
                using JsonDocument json = JsonDocument.Parse(zip.Read(entry).ToArray());
                JsonElement root = json.RootElement;
                return new SemanticQuantizerInfo(
                    root.GetProperty("input_size").GetInt32(), root.GetProperty("hidden_size").GetInt32(),
                    root.GetProperty("output_size").GetInt32(), root.TryGetProperty("version", out JsonElement v) ? v.GetInt32() : 0);
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
            {
                throw new BarkFormatException(path, $"the quantizer's '{entry.Name}' entry is not the JSON object of sizes it should be (input_size, hidden_size, output_size, version).", e);
            }
        }
        return null;
    }
}
