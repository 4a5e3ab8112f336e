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

    private EncodecQuantizer(float[][] embed, int codebookSize, int dim)
    {
        _embed = embed;
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
}
