using BarkSharp.Configuration;
using BarkSharp.Generation;
using BarkSharp.IO;
using BarkSharp.Tensors;

namespace BarkSharp.Models;

/// <summary>
/// One pre-LayerNorm transformer block shared by Bark's three GPTs (Transformers' <c>BarkBlock</c>):
/// <c>x += out_proj(attn(layernorm_1(x)))</c>; <c>x += mlp.out_proj(gelu(mlp.in_proj(layernorm_2(x))))</c>.
/// Checkpoint names under <c>layers.{i}.</c>: <c>layernorm_1</c>, <c>attn.att_proj</c> (q, k, v stacked),
/// <c>attn.out_proj</c>, <c>layernorm_2</c>, <c>mlp.in_proj</c>, <c>mlp.out_proj</c>.
/// </summary>
internal sealed class BarkBlock
{
    private readonly BarkSubModelConfig _config;
    private readonly bool _causal;

    private BarkBlock(BarkSubModelConfig config, bool causal, LayerNormWeights ln1, WeightMatrix attProj, WeightMatrix attOut,
        LayerNormWeights ln2, WeightMatrix mlpIn, WeightMatrix mlpOut)
    {
        _config = config;
        _causal = causal;
        Layernorm1 = ln1;
        AttProj = attProj;
        AttOutProj = attOut;
        Layernorm2 = ln2;
        MlpInProj = mlpIn;
        MlpOutProj = mlpOut;
    }

    public LayerNormWeights Layernorm1 { get; }

    public WeightMatrix AttProj { get; }

    public WeightMatrix AttOutProj { get; }

    public LayerNormWeights Layernorm2 { get; }

    public WeightMatrix MlpInProj { get; }

    public WeightMatrix MlpOutProj { get; }

    /// <summary>
    /// Reads a block. Causal blocks have LayerNorm biases only when <c>config.bias</c>; the fine model's blocks always
    /// have them (plain <c>nn.LayerNorm</c>). Linear biases follow <c>config.bias</c>. The causal mask buffer
    /// <c>attn.bias</c> that checkpoints carry is recomputed, so it is skipped.
    /// </summary>
    public static BarkBlock Load(WeightReader r, BarkSubModelConfig c, bool causal, WeightType type = WeightType.Float32)
    {
        int h = c.HiddenSize;
        bool lnBias = !causal || c.Bias;
        if (causal && r.Has("attn.bias")) r.Skip("attn.bias");
        return new BarkBlock(c, causal,
            LayerNormWeights.Load(r, "layernorm_1", h, lnBias),
            Linear(r, "attn.att_proj", 3 * h, h, c.Bias, type),
            Linear(r, "attn.out_proj", h, h, c.Bias, type),
            LayerNormWeights.Load(r, "layernorm_2", h, lnBias),
            Linear(r, "mlp.in_proj", 4 * h, h, c.Bias, type),
            Linear(r, "mlp.out_proj", h, 4 * h, c.Bias, type));
    }

    /// <summary>A block with random weights of the configured shape (for tests and benchmarks).</summary>
    public static BarkBlock CreateRandom(BarkSubModelConfig c, bool causal, Random rng, WeightType type = WeightType.Float32)
    {
        int h = c.HiddenSize;
        bool lnBias = !causal || c.Bias;
        LayerNormWeights Ln() => new(RandomWeights.Uniform(rng, h, 1f, 0.1f), lnBias ? RandomWeights.Uniform(rng, h, 0f, 0.1f) : null);
        WeightMatrix Lin(int rows, int cols) => WeightMatrix.FromFloat32(RandomWeights.Uniform(rng, rows * cols, 0f, 1f / MathF.Sqrt(cols)), rows, cols,
            c.Bias ? RandomWeights.Uniform(rng, rows, 0f, 0.02f) : null, type);
        return new BarkBlock(c, causal, Ln(), Lin(3 * h, h), Lin(h, h), Ln(), Lin(4 * h, h), Lin(h, 4 * h));
    }

    /// <summary>Reads a linear layer through a pooled buffer, so loading leaves no full-size float32 copy behind.</summary>
    internal static WeightMatrix Linear(WeightReader r, string name, int rows, int cols, bool bias, WeightType type)
    {
        float[] buffer = System.Buffers.ArrayPool<float>.Shared.Rent(rows * cols);
        try
        {
            Span<float> data = buffer.AsSpan(0, rows * cols);
            r.Float32Into(name + ".weight", data, rows, cols);
            return WeightMatrix.FromFloat32(data, rows, cols, bias ? r.Float32(name + ".bias", rows) : null, type);
        }
        finally
        {
            System.Buffers.ArrayPool<float>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Runs the block on <c>batch · T</c> rows of <paramref name="x"/> (in place). New keys/values are appended to
    /// <paramref name="cache"/> at positions <c>[past, past + T)</c> of layer <paramref name="layer"/>.
    /// </summary>
    public void Forward(Span<float> x, int batch, int seqLen, KvCache cache, int layer, int past,
        ReadOnlySpan<float> keyMask, ModelWorkspace ws, int threads)
    {
        int h = _config.HiddenSize;
        int n = batch * seqLen;
        Span<float> normed = ws.Normed.AsSpan(0, n * h);
        Span<float> qkv = ws.Qkv.AsSpan(0, n * 3 * h);
        Span<float> attn = ws.AttnOut.AsSpan(0, n * h);
        Span<float> proj = ws.Proj.AsSpan(0, n * h);
        Span<float> mlp = ws.Mlp.AsSpan(0, n * 4 * h);

        Layernorm1.Apply(x, n, normed, threads);                                    // [n, H]
        MatMul.Multiply(normed, n, AttProj, qkv, threads);                 // [n, 3H]: q | k | v
        if (cache.Type == KvCacheType.Float32)                             // attn = softmax(q·kᵀ/√d)·v   [n, H]
            Attend<float, KvFloat32>(qkv, batch, seqLen, cache, layer, past, keyMask, attn, ws.Scores, threads);
        else
            Attend<ushort, KvBFloat16>(qkv, batch, seqLen, cache, layer, past, keyMask, attn, ws.Scores, threads);
        MatMul.Multiply(attn, n, AttOutProj, proj, threads);               // [n, H]
        Simd.Add(x[..(n * h)], proj, x);

        Layernorm2.Apply(x, n, normed, threads);                                    // [n, H]
        MatMul.Multiply(normed, n, MlpInProj, mlp, threads);               // [n, 4H]
        Gelu.Forward(mlp, mlp, threads);
        MatMul.Multiply(mlp, n, MlpOutProj, proj, threads);                // [n, H]
        Simd.Add(x[..(n * h)], proj, x);
    }

    /// <summary>
    /// Whether attention runs in bf16 arithmetic (<see cref="Attention.ForwardBf16"/>): bf16 weights, a
    /// <paramref name="cache"/> of bfloat16 and a CPU with AVX512-BF16 and generated kernels on.
    /// </summary>
    public bool AttendsInBf16(KvCacheType cache) =>
        cache == KvCacheType.BFloat16 && AttProj.Type == WeightType.BFloat16 && Attention.Bf16Supported(_config.HeadDim);

    /// <summary>
    /// Appends each sequence's new keys and values (columns <c>[H, 3H)</c> of <paramref name="qkv"/>) to the cache as
    /// <typeparamref name="TElement"/>, then attends its queries over positions <c>[0, past + T)</c>.
    /// </summary>
    private void Attend<T, TElement>(ReadOnlySpan<float> qkv, int batch, int seqLen, KvCache cache, int layer, int past,
        ReadOnlySpan<float> keyMask, Span<float> attn, Span<float> scores, int threads)
        where T : unmanaged
        where TElement : struct, IKvElement<T>
    {
        int h = _config.HiddenSize, total = past + seqLen;
        bool bf16 = AttendsInBf16(cache.Type);
        for (int b = 0; b < batch; b++)
        {
            ReadOnlySpan<float> rows = qkv.Slice(b * seqLen * 3 * h, seqLen * 3 * h);              // [T, 3H]: q | k | v
            cache.Write<T, TElement>(b, layer, past, rows[h..], rows[(2 * h)..], 3 * h, seqLen);
            if (bf16)
            {
                Attention.ForwardBf16(rows, 3 * h, cache.Keys<ushort>(b, layer), cache.Values<ushort>(b, layer), cache.Stride,
                    _config.NumHeads, _config.HeadDim, past, seqLen, _causal,
                    keyMask.IsEmpty ? default : keyMask.Slice(b * cache.Capacity, total),
                    attn.Slice(b * seqLen * h, seqLen * h), threads);                              // [T, H]
                continue;
            }
            Attention.Forward<T, TElement>(rows, 3 * h, cache.Keys<T>(b, layer), cache.Values<T>(b, layer), cache.Stride,
                _config.NumHeads, _config.HeadDim, past, seqLen, _causal,
                keyMask.IsEmpty ? default : keyMask.Slice(b * cache.Capacity, total),
                attn.Slice(b * seqLen * h, seqLen * h), scores, threads);                          // [T, H]
        }
    }
}
