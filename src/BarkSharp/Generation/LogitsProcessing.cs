using BarkSharp.Tensors;

namespace BarkSharp.Generation;

/// <summary>
/// The score transformations Transformers applies when Bark generates, one function per logits processor, each in
/// place on one row of scores. Sampling order (Transformers 4.43): Bark's processors, <c>LogitNormalization</c>, then
/// the warpers <c>Temperature</c> → <c>TopK</c> → <c>TopP</c> → <c>LogitNormalization</c>; greedy decoding uses the
/// processors only and takes the argmax.
/// </summary>
internal static class LogitsProcessing
{
    /// <summary><c>SuppressTokensLogitsProcessor</c>: scores of tokens in <c>[start, end)</c> become −∞.</summary>
    public static void Suppress(Span<float> scores, int start, int end)
    {
        start = Math.Clamp(start, 0, scores.Length);
        end = Math.Clamp(end, start, scores.Length);
        scores[start..end].Fill(float.NegativeInfinity);
    }

    /// <summary>
    /// <c>BarkEosPrioritizerLogitsProcessor</c>: when <c>softmax(scores)[eos] &gt; minEosP</c>, every other token
    /// becomes −∞ so the sequence ends. A null or zero <paramref name="minEosP"/> disables it (as in Transformers).
    /// </summary>
    /// <returns>True when the end token was forced.</returns>
    public static bool PrioritizeEos(Span<float> scores, int eosTokenId, double? minEosP)
    {
        if (minEosP is not { } threshold || threshold == 0) return false;
        float max = float.NegativeInfinity;
        foreach (float s in scores) max = Math.Max(max, s);
        float sum = 0;
        foreach (float s in scores) sum += MathF.Exp(s - max);
        float eosProbability = MathF.Exp(scores[eosTokenId] - max) / sum;
        if (!(eosProbability > threshold)) return false;
        float eos = scores[eosTokenId];
        scores.Fill(float.NegativeInfinity);
        scores[eosTokenId] = eos;
        return true;
    }

    /// <summary>
    /// <c>AlternatingCodebooksLogitsProcessor</c>: after an even number of generated tokens only codebook 0's tokens
    /// <c>[semanticVocab, semanticVocab + codebookSize)</c> stay; after an odd number every token below
    /// <c>semanticVocab + codebookSize</c> is removed, which leaves codebook 1 and — as in Transformers — the special
    /// rows above it.
    /// </summary>
    public static void AlternateCodebooks(Span<float> scores, int generatedSoFar, int semanticVocabSize, int codebookSize)
    {
        if (generatedSoFar % 2 == 0)
        {
            Suppress(scores, 0, semanticVocabSize);
            Suppress(scores, semanticVocabSize + codebookSize, scores.Length);
        }
        else
        {
            Suppress(scores, 0, semanticVocabSize + codebookSize);
        }
    }

    /// <summary><c>LogitNormalization</c>: log-softmax.</summary>
    public static void Normalize(Span<float> scores) => Softmax.LogInPlace(scores);

    /// <summary><c>TemperatureLogitsWarper</c>: divides by the temperature (skipped for null or 1).</summary>
    public static void Temperature(Span<float> scores, double? temperature)
    {
        if (temperature is not { } t || t == 1.0) return;
        if (!(t > 0)) throw new BarkInputException($"temperature must be positive, got {t}.");
        float tf = (float)t;
        for (int i = 0; i < scores.Length; i++) scores[i] /= tf;
    }

    /// <summary>
    /// <c>TopKLogitsWarper</c>: keeps the tokens scoring at least the k-th highest score (ties at the boundary are
    /// kept), −∞ elsewhere. Null or 0 disables it.
    /// </summary>
    public static void TopK(Span<float> scores, int? k, Span<float> scratch)
    {
        if (k is not { } topK || topK == 0) return;
        if (topK < 0) throw new BarkInputException($"top_k must be non-negative, got {topK}.");
        topK = Math.Min(topK, scores.Length);
        Span<float> sorted = scratch[..scores.Length];
        scores.CopyTo(sorted);
        sorted.Sort();
        float threshold = sorted[scores.Length - topK];
        for (int i = 0; i < scores.Length; i++)
            if (scores[i] < threshold) scores[i] = float.NegativeInfinity;
    }

    /// <summary>
    /// <c>TopPLogitsWarper</c>: sorting ascending, drops tokens while the cumulative probability stays ≤ 1 − p,
    /// always keeping the most likely token. Null or ≥ 1 disables it.
    /// </summary>
    public static void TopP(Span<float> scores, double? p, Span<float> sortedScratch, Span<int> indexScratch)
    {
        if (p is not { } topP || topP >= 1.0) return;
        if (!(topP >= 0)) throw new BarkInputException($"top_p must be in [0, 1], got {topP}.");
        int n = scores.Length;
        Span<float> sorted = sortedScratch[..n];
        Span<int> order = indexScratch[..n];
        scores.CopyTo(sorted);
        for (int i = 0; i < n; i++) order[i] = i;
        sorted.Sort(order);                      // ascending
        float max = sorted[n - 1];
        float sum = 0;
        for (int i = 0; i < n; i++) sum += MathF.Exp(sorted[i] - max);
        float cumulative = 0;
        float limit = (float)(1.0 - topP);
        for (int i = 0; i < n - 1; i++)
        {
            cumulative += MathF.Exp(sorted[i] - max) / sum;
            if (cumulative <= limit) scores[order[i]] = float.NegativeInfinity;
        }
    }

    /// <summary>Index of the highest score (the first one on ties, like <c>torch.argmax</c>).</summary>
    public static int ArgMax(ReadOnlySpan<float> scores)
    {
        int best = 0;
        for (int i = 1; i < scores.Length; i++)
            if (scores[i] > scores[best]) best = i;
        return best;
    }

    /// <summary>Draws an index with probability <c>softmax(scores)</c> (−∞ never drawn).</summary>
    public static int Sample(ReadOnlySpan<float> scores, BarkRandom random)
    {
        float max = float.NegativeInfinity;
        foreach (float s in scores) max = Math.Max(max, s);
        double total = 0;
        foreach (float s in scores) total += Math.Exp(s - max);
        double target = random.NextDouble() * total;
        double cumulative = 0;
        int last = -1;
        for (int i = 0; i < scores.Length; i++)
        {
            if (float.IsNegativeInfinity(scores[i])) continue;
            cumulative += Math.Exp(scores[i] - max);
            last = i;
            if (cumulative > target) return i;
        }
        return last;
    }
}
