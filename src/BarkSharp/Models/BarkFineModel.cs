using BarkSharp.Configuration;
using BarkSharp.Generation;
using BarkSharp.IO;
using BarkSharp.Tensors;

namespace BarkSharp.Models;

/// <summary>
/// Bark's non-causal fine acoustics model (Transformers' <c>BarkFineModel</c>): to predict codebook <c>c</c>, the
/// embeddings of codebooks <c>0..c</c> are summed per frame, position embeddings added, bidirectional blocks applied
/// and head <c>lm_heads[c − n_codes_given]</c> produces the logits.
/// <para>
/// Heads are tied to <c>input_embeds_layers[i + 1]</c> when <c>tie_word_embeddings</c> (the default): a checkpoint
/// may then store <c>lm_heads.*</c> (pytorch_model.bin) or omit them (model.safetensors written by
/// <c>save_pretrained</c>); either way the embedding table is used, as Transformers intends. (Transformers 4.3x–4.4x
/// leaves the heads randomly initialised when loading such a safetensors file; BarkSharp ties them.)
/// </para>
/// </summary>
internal sealed class BarkFineModel : IThreadedModel
{
    private readonly float[][] _inputEmbeds;    // input_embeds_layers.{i}.weight [input_vocab, H], i < n_codes_total
    private readonly float[] _positionEmbeds;   // position_embeds_layer.weight [block, H]
    private readonly BarkBlock[] _layers;
    private readonly LayerNormWeights _layernormFinal;
    private readonly WeightMatrix[] _lmHeads;   // lm_heads.{i}.weight [output_vocab, H], i < n_codes_total − n_codes_given

    private BarkFineModel(FineAcousticsConfig config, float[][] inputEmbeds, float[] positionEmbeds, BarkBlock[] layers,
        LayerNormWeights layernormFinal, WeightMatrix[] lmHeads)
    {
        Config = config;
        _inputEmbeds = inputEmbeds;
        _positionEmbeds = positionEmbeds;
        _layers = layers;
        _layernormFinal = layernormFinal;
        _lmHeads = lmHeads;
    }

    /// <summary>The sub-model's configuration.</summary>
    public FineAcousticsConfig Config { get; }

    /// <summary>Threads the kernels may use. Defaults to the processor count.</summary>
    public int MaxThreads { get; set; } = Environment.ProcessorCount;

    /// <summary>Loads the model from checkpoint keys under <paramref name="weights"/>' prefix (e.g. <c>fine_acoustics.</c>).</summary>
    /// <exception cref="BarkWeightException">A tensor is missing, unexpected or has the wrong shape.</exception>
    public static BarkFineModel Load(WeightReader weights, FineAcousticsConfig config, bool checkUnused = true, WeightType weightType = WeightType.Float32)
    {
        config.Validate();
        int h = config.HiddenSize;
        var embeds = new float[config.NCodesTotal][];
        for (int i = 0; i < embeds.Length; i++)
            embeds[i] = weights.Float32($"input_embeds_layers.{i}.weight", config.InputVocabSize, h);
        float[] wpe = weights.Float32("position_embeds_layer.weight", config.BlockSize, h);
        var layers = new BarkBlock[config.NumLayers];
        for (int i = 0; i < layers.Length; i++)
            layers[i] = BarkBlock.Load(weights.Sub($"layers.{i}"), config, causal: false, weightType);
        var lnf = LayerNormWeights.Load(weights, "layernorm_final", h, hasBias: true);

        var heads = new WeightMatrix[config.NCodesTotal - config.NCodesGiven];
        for (int i = 0; i < heads.Length; i++)
        {
            string name = $"lm_heads.{i}.weight";
            if (config.TieWordEmbeddings)
            {
                if (weights.Has(name))
                {
                    TensorStoreExtensions.CheckShape(weights.Store, weights.Store.GetInfo(weights.Key(name)), [config.OutputVocabSize, h]);
                    weights.Skip(name);
                }
                heads[i] = WeightMatrix.FromFloat32(embeds[i + 1], config.OutputVocabSize, h);
            }
            else
            {
                heads[i] = WeightMatrix.FromFloat32(weights.Float32(name, config.OutputVocabSize, h), config.OutputVocabSize, h);
            }
        }
        if (checkUnused) weights.EnsureAllUsed();
        return new BarkFineModel(config, embeds, wpe, layers, lnf, heads);
    }

    /// <summary>A model with random weights of the configured shape (no file needed; for tests and benchmarks).</summary>
    public static BarkFineModel CreateRandom(FineAcousticsConfig config, int seed, WeightType weightType = WeightType.Float32)
    {
        config.Validate();
        var rng = new Random(seed);
        int h = config.HiddenSize;
        var embeds = new float[config.NCodesTotal][];
        for (int i = 0; i < embeds.Length; i++) embeds[i] = RandomWeights.Uniform(rng, config.InputVocabSize * h, 0f, 1f);
        float[] wpe = RandomWeights.Uniform(rng, config.BlockSize * h, 0f, 0.1f);
        var layers = new BarkBlock[config.NumLayers];
        for (int i = 0; i < layers.Length; i++) layers[i] = BarkBlock.CreateRandom(config, causal: false, rng, weightType);
        var lnf = new LayerNormWeights(RandomWeights.Uniform(rng, h, 1f, 0.1f), RandomWeights.Uniform(rng, h, 0f, 0.1f));
        var heads = new WeightMatrix[config.NCodesTotal - config.NCodesGiven];
        for (int i = 0; i < heads.Length; i++)
            heads[i] = WeightMatrix.FromFloat32(config.TieWordEmbeddings ? embeds[i + 1] : RandomWeights.Uniform(rng, config.OutputVocabSize * h, 0f, 1f / MathF.Sqrt(h)), config.OutputVocabSize, h);
        return new BarkFineModel(config, embeds, wpe, layers, lnf, heads);
    }

    /// <summary>A workspace for forwards of this model.</summary>
    public ModelWorkspace CreateWorkspace() => new(Config.HiddenSize, Config.NumHeads);

    /// <summary>
    /// Predicts codebook <paramref name="codebookIdx"/> for every frame.
    /// </summary>
    /// <param name="codebookIdx">Codebook to predict, in <c>[n_codes_given, n_codes_total)</c>.</param>
    /// <param name="ids">Codes <c>[batch, seqLen, n_codes_total]</c> (Transformers' layout); only codebooks <c>0..codebookIdx</c> are read.</param>
    /// <param name="batch">Sequences.</param>
    /// <param name="workspace">Activation buffers (from <see cref="CreateWorkspace"/>).</param>
    /// <param name="logits"><c>[batch, seqLen, vocabCount]</c>.</param>
    /// <param name="vocabCount">Head rows to compute from row 0 (−1: all; Bark samples only the first 1024 codes).</param>
    public void Forward(int codebookIdx, ReadOnlySpan<int> ids, int batch, ModelWorkspace workspace, Span<float> logits, int vocabCount = -1)
    {
        int codes = Config.NCodesTotal, h = Config.HiddenSize;
        if (codebookIdx < Config.NCodesGiven || codebookIdx >= codes)
            throw new BarkInputException($"codebook_idx {codebookIdx} is outside [{Config.NCodesGiven}, {codes}); codebook 0 comes from the coarse model.");
        if (batch <= 0 || ids.Length % (batch * codes) != 0)
            throw new BarkInputException($"{ids.Length} codes cannot be shaped [batch {batch}, T, {codes}].");
        int seqLen = ids.Length / (batch * codes), n = batch * seqLen;
        if (seqLen > Config.BlockSize)
            throw new BarkInputException($"{seqLen} frames exceed the fine model's block size {Config.BlockSize}.");
        if (vocabCount < 0) vocabCount = Config.OutputVocabSize;
        if (vocabCount > Config.OutputVocabSize) throw new ArgumentOutOfRangeException(nameof(vocabCount));
        if (logits.Length < n * vocabCount) throw new ArgumentException($"logits need {n}×{vocabCount} values.", nameof(logits));

        workspace.Ensure(n, seqLen, 1);
        Span<float> x = workspace.Hidden.AsSpan(0, n * h);
        for (int r = 0; r < n; r++)                                            // x = Σ_{c ≤ idx} E_c[ids] + P   [n, H]
        {
            Span<float> xr = x.Slice(r * h, h);
            _positionEmbeds.AsSpan((r % seqLen) * h, h).CopyTo(xr);
            for (int c = 0; c <= codebookIdx; c++)
            {
                int id = ids[r * codes + c];
                if ((uint)id >= (uint)Config.InputVocabSize)
                    throw new BarkInputException($"fine code {id} (frame {r % seqLen}, codebook {c}) is outside [0, {Config.InputVocabSize}).");
                Simd.Add(xr, _inputEmbeds[c].AsSpan(id * h, h), xr);
            }
        }

        // Non-causal: each layer attends over this call's frames only, so one layer's worth of keys/values is reused
        // (float32; bfloat16 where bf16 weights attend in bf16 arithmetic).
        KvCacheType cacheType = _layers[0].AttendsInBf16(KvCacheType.BFloat16) ? KvCacheType.BFloat16 : KvCacheType.Float32;
        KvCache cache = workspace.LayerScratchCache(batch, Config.NumHeads, Config.HeadDim, seqLen, cacheType);
        for (int i = 0; i < _layers.Length; i++)
            _layers[i].Forward(x, batch, seqLen, cache, 0, 0, default, workspace, MaxThreads);

        Span<float> normed = workspace.Normed.AsSpan(0, n * h);
        _layernormFinal.Apply(x, n, normed);                                   // [n, H]
        MatMul.MultiplyRows(normed, n, _lmHeads[codebookIdx - Config.NCodesGiven], 0, vocabCount, logits, MaxThreads);
    }
}
