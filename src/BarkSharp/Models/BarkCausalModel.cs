using BarkSharp.Configuration;
using BarkSharp.Generation;
using BarkSharp.IO;
using BarkSharp.Tensors;

namespace BarkSharp.Models;

/// <summary>
/// Bark's GPT-2-like causal model, used for the <c>semantic</c> and <c>coarse_acoustics</c> stages
/// (Transformers' <c>BarkCausalModel</c>, following <c>modeling_bark.py</c>): token + learned position embeddings,
/// pre-LayerNorm blocks with causal self-attention and a GELU MLP, a final LayerNorm and a bias-free LM head.
/// <para>
/// Differences from the reference, all numerically neutral: the causal mask buffers stored in checkpoints
/// (<c>layers.{i}.attn.bias</c>) are ignored and recomputed; keys/values are written into a preallocated
/// <see cref="KvCache"/> instead of concatenated; logits can be limited to the last position and to a vocabulary
/// range, since generation only samples from those.
/// </para>
/// </summary>
internal sealed class BarkCausalModel : IThreadedModel
{
    private readonly float[] _inputEmbeds;      // input_embeds_layer.weight [input_vocab, H]
    private readonly float[] _positionEmbeds;   // position_embeds_layer.weight [block, H]
    private readonly BarkBlock[] _layers;
    private readonly LayerNormWeights _layernormFinal;
    private readonly WeightMatrix _lmHead;      // lm_head.weight [output_vocab, H]
    private KvCacheType _kvCacheType;

    private BarkCausalModel(BarkSubModelConfig config, float[] inputEmbeds, float[] positionEmbeds, BarkBlock[] layers,
        LayerNormWeights layernormFinal, WeightMatrix lmHead)
    {
        Config = config;
        InputTableName = $"{config.ModelType} input";
        _inputEmbeds = inputEmbeds;
        _positionEmbeds = positionEmbeds;
        _layers = layers;
        _layernormFinal = layernormFinal;
        _lmHead = lmHead;
        _kvCacheType = KvCache.Resolve(KvCacheType.Auto, WeightType);
    }

    /// <summary>The sub-model's configuration.</summary>
    public BarkSubModelConfig Config { get; }

    /// <summary>Names the input embedding in out-of-range errors (built once: a decode step allocates nothing).</summary>
    private string InputTableName { get; }

    /// <summary>Storage type of the blocks' linear weights.</summary>
    public WeightType WeightType => _layers.Length == 0 ? WeightType.Float32 : _layers[0].AttProj.Type;

    /// <summary>Threads the kernels may use. Defaults to the processor count.</summary>
    public int MaxThreads { get; set; } = Environment.ProcessorCount;

    /// <summary>
    /// How the caches <see cref="CreateCache"/> makes store keys and values. Setting <see cref="KvCacheType.Auto"/>
    /// (the initial value) picks float32 for float32 weights and bfloat16 otherwise; reading gives the resolved type.
    /// </summary>
    public KvCacheType KvCacheType
    {
        get => _kvCacheType;
        set => _kvCacheType = KvCache.Resolve(value, WeightType);
    }

    /// <summary>
    /// Loads the model from checkpoint keys under <paramref name="weights"/>' prefix (e.g. <c>semantic.</c>):
    /// <c>input_embeds_layer</c>, <c>position_embeds_layer</c>, <c>layers.{i}.*</c>, <c>layernorm_final</c>, <c>lm_head</c>.
    /// </summary>
    /// <exception cref="BarkWeightException">A tensor is missing, unexpected or has the wrong shape.</exception>
    public static BarkCausalModel Load(WeightReader weights, BarkSubModelConfig config, bool checkUnused = true, WeightType weightType = WeightType.Float32)
    {
        config.Validate();
        int h = config.HiddenSize;
        float[] wte = weights.Float32("input_embeds_layer.weight", config.InputVocabSize, h);
        float[] wpe = weights.Float32("position_embeds_layer.weight", config.BlockSize, h);
        var layers = new BarkBlock[config.NumLayers];
        for (int i = 0; i < layers.Length; i++)
            layers[i] = BarkBlock.Load(weights.Sub($"layers.{i}"), config, causal: true, weightType);
        var lnf = LayerNormWeights.Load(weights, "layernorm_final", h, config.Bias);
        var head = WeightMatrix.FromFloat32(weights.Float32("lm_head.weight", config.OutputVocabSize, h), config.OutputVocabSize, h);
        if (checkUnused) weights.EnsureAllUsed();
        return new BarkCausalModel(config, wte, wpe, layers, lnf, head);
    }

    /// <summary>A model with random weights of the configured shape (no file needed; for tests and benchmarks).</summary>
    public static BarkCausalModel CreateRandom(BarkSubModelConfig config, int seed, WeightType weightType = WeightType.Float32)
    {
        config.Validate();
        var rng = new Random(seed);
        int h = config.HiddenSize;
        float[] wte = RandomWeights.Uniform(rng, config.InputVocabSize * h, 0f, 1f);
        float[] wpe = RandomWeights.Uniform(rng, config.BlockSize * h, 0f, 0.1f);
        var layers = new BarkBlock[config.NumLayers];
        for (int i = 0; i < layers.Length; i++) layers[i] = BarkBlock.CreateRandom(config, causal: true, rng, weightType);
        var lnf = new LayerNormWeights(RandomWeights.Uniform(rng, h, 1f, 0.1f), config.Bias ? RandomWeights.Uniform(rng, h, 0f, 0.1f) : null);
        var head = WeightMatrix.FromFloat32(RandomWeights.Uniform(rng, config.OutputVocabSize * h, 0f, 1f / MathF.Sqrt(h)), config.OutputVocabSize, h);
        return new BarkCausalModel(config, wte, wpe, layers, lnf, head);
    }

    /// <summary>Learned position embeddings <c>[block_size, H]</c>.</summary>
    internal ReadOnlySpan<float> PositionEmbeddings => _positionEmbeds;

    /// <summary>
    /// A KV cache for <paramref name="batch"/> sequences of up to <paramref name="capacity"/> positions (default: block
    /// size), storing <see cref="KvCacheType"/> elements.
    /// </summary>
    public KvCache CreateCache(int batch, int? capacity = null)
    {
        int cap = capacity ?? Config.BlockSize;
        if (cap > Config.BlockSize)
            throw new BarkInputException($"a cache of {cap} positions exceeds the {Config.ModelType} model's block size {Config.BlockSize}.");
        return new KvCache(batch, Config.NumLayers, Config.NumHeads, Config.HeadDim, cap, KvCacheType);
    }

    /// <summary>A workspace for forwards of this model.</summary>
    public ModelWorkspace CreateWorkspace() => new(Config.HiddenSize, Config.NumHeads);

    /// <summary>Token embeddings: <paramref name="destination"/> <c>[ids.Length, H]</c> = <c>input_embeds_layer[ids]</c>.</summary>
    public void Embed(ReadOnlySpan<int> ids, Span<float> destination) =>
        Embedding.Lookup(_inputEmbeds, Config.HiddenSize, ids, destination, InputTableName);

    /// <summary>
    /// Bark's "merge context" prompt of the semantic model: for each sequence, <c>E[text[t]] + E[history[t]]</c> for
    /// the <c>contextLength</c> prompt positions, followed by <c>E[tail[j]]</c> (the infer token).
    /// </summary>
    /// <param name="textIds">Text ids already offset and padded, <c>[batch, contextLength]</c>.</param>
    /// <param name="historyIds">Semantic history ids, <c>[contextLength]</c>, shared by the batch.</param>
    /// <param name="tailIds">Ids appended after the context (Bark: the single infer token).</param>
    /// <param name="batch">Number of sequences.</param>
    /// <param name="destination"><c>[batch, contextLength + tailIds.Length, H]</c>.</param>
    public void EmbedMergedContext(ReadOnlySpan<int> textIds, ReadOnlySpan<int> historyIds, ReadOnlySpan<int> tailIds, int batch, Span<float> destination)
    {
        int h = Config.HiddenSize, ctx = historyIds.Length, len = ctx + tailIds.Length;
        if (textIds.Length != batch * ctx)
            throw new BarkInputException($"text ids have {textIds.Length} elements; expected batch {batch} × context {ctx}.");
        for (int b = 0; b < batch; b++)
        {
            Span<float> seq = destination.Slice(b * len * h, len * h);
            Embed(textIds.Slice(b * ctx, ctx), seq[..(ctx * h)]);
            Embedding.Accumulate(_inputEmbeds, h, historyIds, seq[..(ctx * h)], InputTableName);
            Embed(tailIds, seq[(ctx * h)..]);
        }
    }

    /// <summary>Runs the model on token ids; see <see cref="ForwardEmbeddings"/>.</summary>
    public void Forward(ReadOnlySpan<int> ids, int batch, KvCache cache, ModelWorkspace workspace, Span<float> logits,
        ReadOnlySpan<int> attentionMask = default, bool lastPositionOnly = false, int vocabStart = 0, int vocabCount = -1)
    {
        if (batch <= 0 || ids.Length % batch != 0)
            throw new BarkInputException($"{ids.Length} ids cannot be split into {batch} sequences of equal length.");
        int seqLen = ids.Length / batch, h = Config.HiddenSize;
        workspace.Ensure(ids.Length, cache.Capacity, batch);
        Span<float> embeds = workspace.Input.AsSpan(0, ids.Length * h);
        Embed(ids, embeds);
        ForwardEmbeddings(embeds, batch, seqLen, cache, workspace, logits, attentionMask, lastPositionOnly, vocabStart, vocabCount);
    }

    /// <summary>
    /// Runs the model on input embeddings <c>[batch, seqLen, H]</c> at positions <c>[cache.Length, cache.Length + seqLen)</c>,
    /// appends the new keys/values to <paramref name="cache"/> and writes logits.
    /// </summary>
    /// <param name="inputEmbeds">Embeddings <c>[batch, seqLen, H]</c> (position embeddings are added here).</param>
    /// <param name="batch">Sequences; must equal <c>cache.Batch</c>.</param>
    /// <param name="seqLen">New positions per sequence.</param>
    /// <param name="cache">Keys/values of earlier positions; grows by <paramref name="seqLen"/>.</param>
    /// <param name="workspace">Activation buffers (from <see cref="CreateWorkspace"/>).</param>
    /// <param name="logits"><c>[batch, lastPositionOnly ? 1 : seqLen, vocabCount]</c>.</param>
    /// <param name="attentionMask">Optional 1/0 mask over all key positions so far, <c>[batch, cache.Length + seqLen]</c>, as Transformers' <c>attention_mask</c>.</param>
    /// <param name="lastPositionOnly">Compute logits for the last position of each sequence only.</param>
    /// <param name="vocabStart">First LM-head row to compute.</param>
    /// <param name="vocabCount">LM-head rows to compute (−1: all from <paramref name="vocabStart"/>).</param>
    public void ForwardEmbeddings(ReadOnlySpan<float> inputEmbeds, int batch, int seqLen, KvCache cache, ModelWorkspace workspace,
        Span<float> logits, ReadOnlySpan<int> attentionMask = default, bool lastPositionOnly = false, int vocabStart = 0, int vocabCount = -1)
    {
        int h = Config.HiddenSize;
        int past = cache.Length, total = past + seqLen, n = batch * seqLen;
        if (vocabCount < 0) vocabCount = Config.OutputVocabSize - vocabStart;
        if (batch != cache.Batch) throw new BarkInputException($"batch {batch} does not match the cache's batch {cache.Batch}.");
        if (seqLen <= 0) throw new BarkInputException("at least one position is needed.");
        if (inputEmbeds.Length != n * h) throw new BarkInputException($"input embeddings have {inputEmbeds.Length} values; expected {batch}×{seqLen}×{h}.");
        if (total > cache.Capacity)
            throw new BarkInputException($"{total} positions exceed the {Config.ModelType} model's limit of {cache.Capacity} (block_size {Config.BlockSize}); shorten the input or generate fewer tokens.");
        if (vocabStart < 0 || vocabStart + vocabCount > Config.OutputVocabSize) throw new ArgumentOutOfRangeException(nameof(vocabCount));
        int logitRows = lastPositionOnly ? batch : n;
        if (logits.Length < logitRows * vocabCount) throw new ArgumentException($"logits need {logitRows}×{vocabCount} values.", nameof(logits));
        if (!attentionMask.IsEmpty && attentionMask.Length != batch * total)
            throw new BarkInputException($"attention mask has {attentionMask.Length} values; expected batch {batch} × {total} positions.");

        workspace.Ensure(n, cache.Capacity, batch);
        Span<float> x = workspace.Hidden.AsSpan(0, n * h);
        for (int r = 0; r < n; r++)                                           // x = E + P     [n, H]
        {
            int position = past + r % seqLen;
            Simd.Add(inputEmbeds.Slice(r * h, h), _positionEmbeds.AsSpan(position * h, h), x.Slice(r * h, h));
        }

        ReadOnlySpan<float> keyMask = default;
        if (!attentionMask.IsEmpty)
        {
            Span<float> mask = workspace.KeyMask.AsSpan(0, batch * cache.Capacity);   // [batch, capacity] additive
            for (int b = 0; b < batch; b++)
                for (int j = 0; j < total; j++)
                    mask[b * cache.Capacity + j] = attentionMask[b * total + j] != 0 ? 0f : float.MinValue;
            keyMask = mask;
        }

        for (int i = 0; i < _layers.Length; i++)
            _layers[i].Forward(x, batch, seqLen, cache, i, past, keyMask, workspace, MaxThreads);
        cache.Length = total;

        Span<float> normed = workspace.Normed.AsSpan(0, n * h);
        _layernormFinal.Apply(x, n, normed);                                  // [n, H]
        if (lastPositionOnly)
        {
            for (int b = 0; b < batch; b++)                                   // gather last rows [batch, H]
                normed.Slice(((b + 1) * seqLen - 1) * h, h).CopyTo(workspace.Proj.AsSpan(b * h, h));
            MatMul.MultiplyRows(workspace.Proj, batch, _lmHead, vocabStart, vocabCount, logits, MaxThreads);
        }
        else
        {
            MatMul.MultiplyRows(normed, n, _lmHead, vocabStart, vocabCount, logits, MaxThreads);   // [n, vocabCount]
        }
    }
}
