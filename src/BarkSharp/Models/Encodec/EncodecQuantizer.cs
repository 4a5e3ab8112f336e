using System.Numerics.Tensors;
using BarkSharp.Configuration;

namespace BarkSharp.Models.Encodec;

/// <summary>
/// The decoding half of <c>EncodecResidualVectorQuantizer</c>: the latent at frame t is the sum over codebooks
/// i = 0, 1, … of <c>embed_i[code_i,t]</c> (the checkpoint's <c>quantizer.layers.{i}.codebook.embed</c>, used as is —
/// <c>embed_avg</c>, <c>cluster_size</c> and <c>inited</c> are training statistics that decoding never reads).
/// </summary>
internal sealed class EncodecQuantizer
{
    private readonly float[][] _embed;   // per codebook [CodebookSize, Dim]
    private readonly float[][] _norms;   // per codebook [CodebookSize]: |e|²

    private EncodecQuantizer(float[][] embed, int codebookSize, int dim)
    {
        _embed = embed;
        _norms = new float[embed.Length][];
        for (int i = 0; i < embed.Length; i++)
        {
            _norms[i] = new float[codebookSize];
            for (int k = 0; k < codebookSize; k++)
            {
                ReadOnlySpan<float> e = embed[i].AsSpan(k * dim, dim);
                _norms[i][k] = TensorPrimitives.Dot(e, e);
            }
        }
        CodebookSize = codebookSize;
        Dim = dim;
    }

    public int Codebooks => _embed.Length;

    public int CodebookSize { get; }

    public int Dim { get; }

    /// <summary>Reads <c>quantizer.layers.{i}.codebook.embed</c> for the config's <c>num_quantizers</c> codebooks.</summary>
    public static EncodecQuantizer Load(EncodecWeightSource source, EncodecConfig config)
    {
        var embed = new float[config.NumQuantizers][];
        for (int i = 0; i < embed.Length; i++)
            embed[i] = source.Tensor($"quantizer.layers.{i}.codebook.embed", [config.CodebookSize, config.CodebookDim], 1);
        return new EncodecQuantizer(embed, config.CodebookSize, config.CodebookDim);
    }

    /// <summary>
    /// Sums the embeddings of validated <paramref name="codes"/> <c>[codebooks, frames]</c> into
    /// <paramref name="latent"/> <c>[Dim, frames]</c>, adding codebook by codebook in order as Transformers does.
    /// </summary>
    public void Decode(ReadOnlySpan<int> codes, int codebooks, int frames, Span<float> latent)
    {
        latent[..(Dim * frames)].Clear();
        for (int i = 0; i < codebooks; i++)
        {
            float[] table = _embed[i];
            for (int t = 0; t < frames; t++)
            {
                ReadOnlySpan<float> e = table.AsSpan(codes[i * frames + t] * Dim, Dim);
                for (int d = 0; d < e.Length; d++) latent[d * frames + t] += e[d];
            }
        }
    }

    /// <summary>
    /// Residual vector quantizer encode (Transformers' <c>EncodecResidualVectorQuantizer.encode</c>): for codebook
    /// i = 0 … <paramref name="codebooks"/> − 1, each frame's residual picks its nearest codeword,
    /// <c>argmax −(|r|² − 2·r·e + |e|²)</c> (the first on a tie), which is then subtracted from the residual.
    /// <paramref name="latent"/> is <c>[Dim, frames]</c>; <paramref name="codes"/> receives <c>[codebooks, frames]</c>.
    /// </summary>
    public void Encode(ReadOnlySpan<float> latent, int frames, int codebooks, Span<long> codes)
    {
        var residual = new float[Dim];
        for (int t = 0; t < frames; t++)
        {
            for (int d = 0; d < Dim; d++) residual[d] = latent[d * frames + t];
            for (int i = 0; i < codebooks; i++)
            {
                float[] table = _embed[i];
                float rr = TensorPrimitives.Dot(residual, residual);
                int best = 0;
                float bestScore = float.NegativeInfinity;
                for (int k = 0; k < CodebookSize; k++)
                {
                    ReadOnlySpan<float> e = table.AsSpan(k * Dim, Dim);
                    float score = -(rr - 2 * TensorPrimitives.Dot(residual, e) + _norms[i][k]);
                    if (score > bestScore)
                    {
                        bestScore = score;
                        best = k;
                    }
                }
                codes[i * frames + t] = best;
                TensorPrimitives.Subtract(residual, table.AsSpan(best * Dim, Dim), residual);
            }
        }
    }
}
