using System.Numerics.Tensors;
using BarkSharp.IO;
using BarkSharp.Tensors;

namespace BarkSharp.Models.Cloning;

/// <summary>
/// HuBERT base (post-norm) as Transformers' <c>HubertModel</c> reads it from the hub (<c>facebook/hubert-base-ls960</c>:
/// <c>config.json</c> + <c>model.safetensors</c> or <c>pytorch_model.bin</c>), computing the hidden states the voice
/// cloning recipe quantizes: 16 kHz waveform → <see cref="Features"/> <c>[frames, hidden]</c>, one frame per 20 ms.
/// </summary>
/// <remarks>
/// Follows <c>modeling_hubert.py</c> (feature extractor with group norm, feature projection, weight-normed positional
/// convolution, post-norm encoder layers); <c>hidden_states[k]</c> there is <see cref="Features"/>(…, k) here: 0 is
/// <c>LayerNorm(proj + posconv(proj))</c>, k ≥ 1 the output of encoder layer k − 1. fairseq's <c>output_layer = L</c>
/// (1-based, what the recipe passes: 9) is the same tensor as <c>hidden_states[L]</c>. Only the layers asked for run,
/// and <see cref="Load"/> can skip loading the rest. Weight norm is folded at load; <c>masked_spec_embed</c> (training
/// only) is ignored. Thread-safe: buffers are per call.
/// </remarks>
internal sealed class HubertModel : IThreadedModel
{
    private readonly Conv1dWeight[] _conv;              // feature_extractor.conv_layers.{i}.conv
    private readonly float[] _groupNormWeight, _groupNormBias;
    private readonly float[]? _projNormWeight, _projNormBias;
    private readonly WeightMatrix _projection;           // [hidden, conv_dim[-1]]
    private readonly Conv1dWeight[] _posConv;            // per group [hidden/groups, hidden/groups, k]
    private readonly float[] _encoderNormWeight, _encoderNormBias;
    private readonly Layer[] _layers;

    private sealed record Layer(WeightMatrix Qkv, WeightMatrix Out, float[] NormWeight, float[] NormBias,
        WeightMatrix Up, WeightMatrix Down, float[] FinalNormWeight, float[] FinalNormBias);

    private HubertModel(HubertConfig config, Func<string, long[], float[]> tensor, Func<string, bool> has, int layers)
    {
        Config = config;
        int n = config.ConvDim.Length, d = config.HiddenSize;
        _conv = new Conv1dWeight[n];
        for (int i = 0; i < n; i++)
        {
            int cin = i == 0 ? 1 : config.ConvDim[i - 1], cout = config.ConvDim[i], k = config.ConvKernel[i];
            string p = $"feature_extractor.conv_layers.{i}.conv.";
            float[]? bias = config.ConvBias ? tensor(p + "bias", [cout]) : null;
            _conv[i] = Conv1dWeight.FromTorch(tensor(p + "weight", [cout, cin, k]), cout, cin, k, bias);
        }
        int c0 = config.ConvDim[0], cLast = config.ConvDim[^1];
        _groupNormWeight = tensor("feature_extractor.conv_layers.0.layer_norm.weight", [c0]);
        _groupNormBias = tensor("feature_extractor.conv_layers.0.layer_norm.bias", [c0]);
        if (config.FeatProjLayerNorm)
        {
            _projNormWeight = tensor("feature_projection.layer_norm.weight", [cLast]);
            _projNormBias = tensor("feature_projection.layer_norm.bias", [cLast]);
        }
        _projection = WeightMatrix.FromFloat32(tensor("feature_projection.projection.weight", [d, cLast]), d, cLast,
            tensor("feature_projection.projection.bias", [d]));

        int groups = config.NumConvPosEmbeddingGroups, kPos = config.NumConvPosEmbeddings, per = d / groups;
        float[] posWeight = PositionalWeight(tensor, has, d, per, kPos);                // [d, per, k]
        float[] posBias = tensor("encoder.pos_conv_embed.conv.bias", [d]);
        _posConv = new Conv1dWeight[groups];
        for (int g = 0; g < groups; g++)
            _posConv[g] = Conv1dWeight.FromTorch(posWeight.AsSpan(g * per * per * kPos, per * per * kPos), per, per, kPos, posBias[(g * per)..((g + 1) * per)]);
        _encoderNormWeight = tensor("encoder.layer_norm.weight", [d]);
        _encoderNormBias = tensor("encoder.layer_norm.bias", [d]);

        _layers = new Layer[layers];
        int f = config.IntermediateSize;
        for (int l = 0; l < layers; l++)
        {
            string p = $"encoder.layers.{l}.";
            var qkv = new float[3 * d * d];
            var qkvBias = new float[3 * d];
            string[] names = ["q_proj", "k_proj", "v_proj"];
            for (int j = 0; j < 3; j++)
            {
                tensor($"{p}attention.{names[j]}.weight", [d, d]).CopyTo(qkv, j * d * d);
                tensor($"{p}attention.{names[j]}.bias", [d]).CopyTo(qkvBias, j * d);
            }
            _layers[l] = new Layer(
                WeightMatrix.FromFloat32(qkv, 3 * d, d, qkvBias),
                WeightMatrix.FromFloat32(tensor(p + "attention.out_proj.weight", [d, d]), d, d, tensor(p + "attention.out_proj.bias", [d])),
                tensor(p + "layer_norm.weight", [d]), tensor(p + "layer_norm.bias", [d]),
                WeightMatrix.FromFloat32(tensor(p + "feed_forward.intermediate_dense.weight", [f, d]), f, d, tensor(p + "feed_forward.intermediate_dense.bias", [f])),
                WeightMatrix.FromFloat32(tensor(p + "feed_forward.output_dense.weight", [d, f]), d, f, tensor(p + "feed_forward.output_dense.bias", [d])),
                tensor(p + "final_layer_norm.weight", [d]), tensor(p + "final_layer_norm.bias", [d]));
        }
    }

    /// <summary>The configuration.</summary>
    public HubertConfig Config { get; }

    /// <summary>Encoder layers loaded: the highest layer <see cref="Features"/> can return.</summary>
    public int LoadedLayers => _layers.Length;

    /// <summary>Threads the kernels may use. Default <see cref="Environment.ProcessorCount"/>; results do not depend on it.</summary>
    public int MaxThreads { get; set; } = Environment.ProcessorCount;

    /// <summary>
    /// Loads a hub folder (<c>config.json</c> and <c>model.safetensors</c> or <c>pytorch_model.bin</c>). With
    /// <paramref name="layers"/> only the first that many encoder layers are read (enough for
    /// <see cref="Features"/> up to that layer); by default all of them.
    /// </summary>
    /// <exception cref="BarkConfigException">The folder has no config.json or it describes an unsupported variant, or <paramref name="layers"/> is out of range.</exception>
    /// <exception cref="BarkFormatException">The folder has no weights file or it is unreadable.</exception>
    /// <exception cref="BarkWeightException">A tensor is missing, has the wrong shape, or is not part of HuBERT.</exception>
    public static HubertModel Load(string folder, int? layers = null)
    {
        ArgumentNullException.ThrowIfNull(folder);
        string configPath = Path.Combine(folder, "config.json");
        if (!File.Exists(configPath))
            throw new BarkConfigException($"'{folder}' has no config.json, so it is not a HuBERT model folder (like a download of facebook/hubert-base-ls960).");
        HubertConfig config = HubertConfig.Load(configPath);
        int count = CheckLayers(config, layers ?? config.NumHiddenLayers);
        string? weights = new[] { "model.safetensors", "pytorch_model.bin" }.Select(f => Path.Combine(folder, f)).FirstOrDefault(File.Exists);
        if (weights is null)
            throw new BarkFormatException(folder, "the HuBERT folder has neither model.safetensors nor pytorch_model.bin.");
        using ITensorStore store = Checkpoint.OpenCheckpoint(weights);
        string prefix = store.Keys.Any(k => k.StartsWith("hubert.", StringComparison.Ordinal)) ? "hubert." : "";
        var reader = new WeightReader(store, prefix);
        var model = new HubertModel(config, (key, shape) => reader.Float32(key, shape), reader.Has, count);
        foreach (string key in store.Keys)
        {
            if (!key.StartsWith(prefix, StringComparison.Ordinal)) continue;
            string local = key[prefix.Length..];
            if (local == "masked_spec_embed" || IsLaterLayer(local, count)) reader.Skip(local);
        }
        reader.EnsureAllUsed();
        return model;
    }

    /// <summary>A model with seeded random weights of the shapes <paramref name="config"/> describes (benchmarks, tests).</summary>
    public static HubertModel CreateRandom(HubertConfig config, int seed, int? layers = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        var rng = new Random(seed);
        return new HubertModel(config, (key, shape) =>
        {
            int n = (int)shape.Aggregate(1L, (a, b) => a * b);
            bool norm = key.EndsWith("norm.weight", StringComparison.Ordinal);
            float std = norm ? 0.1f : key.EndsWith("bias", StringComparison.Ordinal) ? 0.02f : 1f / MathF.Sqrt(shape.Length > 1 ? shape[1] * (shape.Length > 2 ? shape[2] : 1) : 1);
            return RandomWeights.Uniform(rng, n, norm ? 1f : 0f, std);
        }, _ => false, CheckLayers(config, layers ?? config.NumHiddenLayers));
    }

    /// <summary>
    /// The hidden states after <paramref name="layer"/> encoder layers (Transformers' <c>hidden_states[layer]</c>; the
    /// recipe's layer 9 for HuBERT base) of a 16 kHz mono waveform: <c>[frames, hidden]</c>, row-major, with
    /// <see cref="HubertConfig.FrameCount"/> frames. The waveform is used as is (not normalised).
    /// </summary>
    /// <exception cref="BarkInputException">The audio is shorter than one frame (400 samples for base), or <paramref name="layer"/> is out of range.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public float[] Features(ReadOnlySpan<float> waveform16k, int layer, CancellationToken cancellationToken = default) =>
        Forward(waveform16k, layer, null, cancellationToken);

    /// <summary><see cref="Features"/> that also hands back the intermediate tensors (tests compare each with the reference).</summary>
    internal float[] Forward(ReadOnlySpan<float> waveform, int layer, Action<string, float[]>? observe, CancellationToken cancellationToken)
    {
        if (layer < 0 || layer > _layers.Length)
            throw new BarkInputException($"HuBERT layer {layer} is out of range: this model has {_layers.Length} loaded layer(s), so 0 … {_layers.Length}.");
        int frames = Config.FrameCount(waveform.Length);
        if (frames < 1)
            throw new BarkInputException($"the audio has {waveform.Length} samples at 16 kHz, too short for one HuBERT frame ({Config.MinSamples} samples, {Config.MinSamples / 16.0:0.#} ms, at least).");
        int threads = Math.Max(1, MaxThreads), d = Config.HiddenSize;

        // Feature extractor: conv0 → GroupNorm (one group per channel) → GELU, then conv1… → GELU.  [C, T]
        float[] h = waveform.ToArray();
        int length = waveform.Length;
        for (int i = 0; i < _conv.Length; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int outLength = Conv1d.OutputLength(length, _conv[i].KernelSize, Config.ConvStride[i]);
            var y = new float[_conv[i].OutChannels * outLength];                               // [C_i, T_i]
            Conv1d.Forward(h, length, _conv[i], y, Config.ConvStride[i], maxThreads: threads);
            if (i == 0) GroupNormPerChannel(y, _conv[0].OutChannels, outLength, _groupNormWeight, _groupNormBias, (float)Config.LayerNormEps);
            Gelu.Forward(y, y, threads);
            h = y;
            length = outLength;
        }
        observe?.Invoke("conv_features", h);

        // Feature projection: [C, T] → [T, C] → LayerNorm → Linear → [T, D].
        int c = Config.ConvDim[^1];
        float[] features = Transpose(h, c, frames);                                           // [T, C]
        if (_projNormWeight is not null)
            LayerNorm.Forward(features, frames, _projNormWeight, _projNormBias, features, (float)Config.LayerNormEps, threads);
        var x = new float[frames * d];                                                        // [T, D]
        MatMul.Multiply(features, frames, _projection, x, threads);
        observe?.Invoke("projected_features", x);

        // Positional convolution (grouped, pad k/2 both sides, last frame dropped for an even kernel), GELU, add, LayerNorm.
        float[] pos = PositionalEmbedding(x, frames, threads);                                // [T, D]
        TensorPrimitives.Add(x, pos, x);
        LayerNorm.Forward(x, frames, _encoderNormWeight, _encoderNormBias, x, (float)Config.LayerNormEps, threads);
        observe?.Invoke("hidden_states_0", x);

        var scratch = new LayerScratch(frames, d, Config.IntermediateSize);
        for (int l = 0; l < layer; l++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            RunLayer(_layers[l], x, frames, scratch, threads);
            observe?.Invoke($"hidden_states_{l + 1}", x);
        }
        return x;
    }

    private sealed class LayerScratch(int frames, int d, int f)
    {
        public readonly float[] Qkv = new float[frames * 3 * d];
        public readonly float[] Q = new float[frames * d];
        public readonly float[] Context = new float[frames * d];
        public readonly float[] Scores = new float[frames * frames];
        public readonly float[] Head = new float[frames * d];
        public readonly float[] Attn = new float[frames * d];
        public readonly float[] Up = new float[frames * f];
    }

    /// <summary>Post-norm layer: x = LN(x + MHA(x)); x = LN(x + W₂·GELU(W₁·x)).</summary>
    private void RunLayer(Layer w, float[] x, int frames, LayerScratch s, int threads)
    {
        int d = Config.HiddenSize, heads = Config.NumAttentionHeads, dh = d / heads;
        float eps = (float)Config.LayerNormEps, scale = 1f / MathF.Sqrt(dh);
        MatMul.Multiply(x, frames, w.Qkv, s.Qkv, threads);                                   // [T, 3D]
        var k = new float[frames * dh];
        var vt = new float[dh * frames];
        for (int hIdx = 0; hIdx < heads; hIdx++)
        {
            for (int t = 0; t < frames; t++)
            {
                ReadOnlySpan<float> row = s.Qkv.AsSpan(t * 3 * d, 3 * d);
                TensorPrimitives.Multiply(row.Slice(hIdx * dh, dh), scale, s.Q.AsSpan(t * dh, dh));   // q·dh^−½
                row.Slice(d + hIdx * dh, dh).CopyTo(k.AsSpan(t * dh, dh));
                for (int j = 0; j < dh; j++) vt[j * frames + t] = row[2 * d + hIdx * dh + j];
            }
            MatMul.Multiply(s.Q.AsSpan(0, frames * dh), frames, WeightMatrix.FromFloat32(k, frames, dh), s.Scores, threads);   // [T, T]
            for (int t = 0; t < frames; t++) Softmax.InPlace(s.Scores.AsSpan(t * frames, frames));
            MatMul.Multiply(s.Scores, frames, WeightMatrix.FromFloat32(vt, dh, frames), s.Head.AsSpan(0, frames * dh), threads); // [T, dh]
            for (int t = 0; t < frames; t++) s.Head.AsSpan(t * dh, dh).CopyTo(s.Context.AsSpan(t * d + hIdx * dh, dh));
        }
        MatMul.Multiply(s.Context, frames, w.Out, s.Attn, threads);                           // [T, D]
        TensorPrimitives.Add(x, s.Attn, x);
        LayerNorm.Forward(x, frames, w.NormWeight, w.NormBias, x, eps, threads);
        MatMul.Multiply(x, frames, w.Up, s.Up, threads);                                      // [T, F]
        Gelu.Forward(s.Up, s.Up, threads);
        MatMul.Multiply(s.Up, frames, w.Down, s.Attn, threads);                               // [T, D]
        TensorPrimitives.Add(x, s.Attn, x);
        LayerNorm.Forward(x, frames, w.FinalNormWeight, w.FinalNormBias, x, eps, threads);
    }

    private float[] PositionalEmbedding(float[] x, int frames, int threads)
    {
        int d = Config.HiddenSize, k = Config.NumConvPosEmbeddings, pad = k / 2, groups = _posConv.Length, per = d / groups;
        int padded = frames + 2 * pad, outLength = padded - k + 1;                            // T + 1 for an even kernel
        var input = new float[d * padded];                                                    // [D, T + 2·pad], zero padded
        for (int t = 0; t < frames; t++)
            for (int ch = 0; ch < d; ch++)
                input[ch * padded + pad + t] = x[t * d + ch];
        var y = new float[d * outLength];                                                     // [D, T + 1]
        for (int g = 0; g < groups; g++)
            Conv1d.Forward(input.AsSpan(g * per * padded, per * padded), padded, _posConv[g], y.AsSpan(g * per * outLength, per * outLength), maxThreads: threads);
        Gelu.Forward(y, y, threads);
        var result = new float[frames * d];                                                   // [T, D], the last frame dropped
        for (int ch = 0; ch < d; ch++)
            for (int t = 0; t < frames; t++)
                result[t * d + ch] = y[ch * outLength + t];
        return result;
    }

    /// <summary>
    /// <c>pos_conv_embed.conv</c> with weight norm over dim 2: <c>w[:, :, j] = g[j]·v[:, :, j] / ‖v[:, :, j]‖</c>
    /// (<c>weight_g</c>/<c>weight_v</c>, or <c>parametrizations.weight.original0/1</c> from newer torch, or a plain weight).
    /// </summary>
    private static float[] PositionalWeight(Func<string, long[], float[]> tensor, Func<string, bool> has, int d, int per, int k)
    {
        const string P = "encoder.pos_conv_embed.conv.";
        float[] g, v;
        if (has(P + "weight_g") || has(P + "weight_v"))
        {
            g = tensor(P + "weight_g", [1, 1, k]);
            v = tensor(P + "weight_v", [d, per, k]);
        }
        else if (has(P + "parametrizations.weight.original0"))
        {
            g = tensor(P + "parametrizations.weight.original0", [1, 1, k]);
            v = tensor(P + "parametrizations.weight.original1", [d, per, k]);
        }
        else if (has(P + "weight"))
            return tensor(P + "weight", [d, per, k]);
        else
        {
            g = tensor(P + "weight_g", [1, 1, k]);                                              // random weights, or a clear error
            v = tensor(P + "weight_v", [d, per, k]);
        }
        var w = new float[v.Length];
        for (int j = 0; j < k; j++)
        {
            double sum = 0;
            for (int i = j; i < v.Length; i += k) sum += (double)v[i] * v[i];
            float s = g[j] / (float)Math.Sqrt(sum);
            for (int i = j; i < v.Length; i += k) w[i] = v[i] * s;
        }
        return w;
    }

    private static void GroupNormPerChannel(float[] y, int channels, int length, float[] weight, float[] bias, float eps)
    {
        for (int ch = 0; ch < channels; ch++)
        {
            Span<float> row = y.AsSpan(ch * length, length);
            double sum = 0;
            foreach (float v in row) sum += v;
            double mean = sum / length, sq = 0;
            foreach (float v in row) sq += (v - mean) * (v - mean);
            float inv = (float)(1 / Math.Sqrt(sq / length + eps)), m = (float)mean;
            for (int t = 0; t < length; t++) row[t] = (row[t] - m) * inv * weight[ch] + bias[ch];
        }
    }

    private static float[] Transpose(float[] x, int rows, int cols)
    {
        var y = new float[x.Length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                y[c * rows + r] = x[r * cols + c];
        return y;
    }

    private static int CheckLayers(HubertConfig config, int layers) =>
        layers >= 0 && layers <= config.NumHiddenLayers ? layers
            : throw new BarkConfigException($"HuBERT has {config.NumHiddenLayers} layers; cannot load {layers}.");

    private static bool IsLaterLayer(string local, int count)
    {
        const string P = "encoder.layers.";
        if (!local.StartsWith(P, StringComparison.Ordinal)) return false;
        int dot = local.IndexOf('.', P.Length);
        return dot > 0 && int.TryParse(local.AsSpan(P.Length, dot - P.Length), out int i) && i >= count;
    }
}
