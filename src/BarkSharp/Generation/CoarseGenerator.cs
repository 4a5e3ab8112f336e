using System.Diagnostics;
using BarkSharp.Configuration;
using BarkSharp.Models;

namespace BarkSharp.Generation;

/// <summary>
/// Semantic tokens → the first two EnCodec codebooks, interleaved, as Transformers' <c>BarkCoarseModel.generate</c>:
/// a sliding window of at most 60 new tokens per model call, each call prompted with ≤ 256 semantic tokens around the
/// current position (right-padded with 12048), the infer token 12050 and the last ≤ 630 coarse tokens; token parity
/// selects which codebook's 1024 tokens may follow.
/// </summary>
internal static class CoarseGenerator
{
    /// <summary>Semantic→coarse token ratio: coarse_rate / semantic_rate · codebooks (≈ 3.006).</summary>
    public static double Ratio(SemanticGenerationConfig s, CoarseGenerationConfig c) => c.CoarseRateHz / s.SemanticRateHz * c.NCoarseCodebooks;

    /// <summary>
    /// Coarse tokens each sequence needs: <c>round(floor(n · ratio / codebooks) · codebooks)</c> for its n non-pad
    /// semantic tokens, computed in float32 as PyTorch does.
    /// </summary>
    public static int OutputLength(int semanticTokens, double ratio, int codebooks)
    {
        float scaled = semanticTokens * (float)ratio / codebooks;
        return (int)MathF.Round(MathF.Floor(scaled) * codebooks, MidpointRounding.ToEven);
    }

    /// <summary>
    /// Generates the coarse codes: <see cref="GenerateTokens"/>, with the vocabulary offsets removed here, once, so
    /// every later stage reads plain codes <c>[sample][codebook][frame]</c>.
    /// </summary>
    public static AudioCodes Generate(
        BarkCausalModel model, SemanticGenerationConfig semanticConfig, CoarseGenerationConfig config, int codebookSize,
        ResolvedSampling sampling, IReadOnlyList<int[]> semanticTokens, PerRow<long[]?> semanticHistory, PerRow<long[][]?> coarseHistory,
        RandomStreams streams, IProgress<BarkProgress>? progress, CancellationToken cancellationToken) =>
        GenerateTokens(model, semanticConfig, config, codebookSize, sampling, semanticTokens, semanticHistory, coarseHistory, streams, progress, cancellationToken)
            .ToCodes(semanticConfig.SemanticVocabSize, codebookSize, config.NCoarseCodebooks);

    /// <summary>The coarse model's own output: interleaved tokens in its vocabulary, as Transformers returns them.</summary>
    public static CoarseTokens GenerateTokens(
        BarkCausalModel model, SemanticGenerationConfig semanticConfig, CoarseGenerationConfig config, int codebookSize,
        ResolvedSampling sampling, IReadOnlyList<int[]> semanticTokens, PerRow<long[]?> semanticHistory, PerRow<long[][]?> coarseHistory,
        RandomStreams streams, IProgress<BarkProgress>? progress, CancellationToken cancellationToken)
    {
        IGenerationListener? listener = progress as IGenerationListener;
        int batch = semanticTokens.Count;
        int codebooks = config.NCoarseCodebooks;
        int semanticVocab = semanticConfig.SemanticVocabSize;
        double ratio = Ratio(semanticConfig, config);
        int maxSemanticHistory = (int)Math.Floor(config.MaxCoarseHistory / ratio);

        // Semantic pads (the end token) become the coarse model's semantic pad.
        var semantic = semanticTokens.Select(s => s.Select(t => t == semanticConfig.SemanticPadToken ? config.CoarseSemanticPadToken : t).ToArray()).ToArray();
        int[] lengths = semantic.Select(s => OutputLength(s.Count(t => t != config.CoarseSemanticPadToken), ratio, codebooks)).ToArray();
        if (listener?.CoarseLength is { } forced) Array.Fill(lengths, forced);
        int maxLength = lengths.Length == 0 ? 0 : lengths.Max();

        // Every row continues its own voice; the windows advance in step, so the trimmed histories must be equally long.
        var histories = new (int[] Semantic, int[] Coarse)[batch];
        for (int b = 0; b < batch; b++)
        {
            histories[b] = PrepareHistory(semanticHistory[b], coarseHistory[b], config, semanticVocab, codebookSize, ratio, maxSemanticHistory);
            if (histories[b].Semantic.Length != histories[0].Semantic.Length || histories[b].Coarse.Length != histories[0].Coarse.Length)
                throw new ArgumentException($"row {b}'s voice history trims to {histories[b].Semantic.Length}/{histories[b].Coarse.Length} tokens, row 0's to " +
                                            $"{histories[0].Semantic.Length}/{histories[0].Coarse.Length}; rows of one coarse batch need histories of one length.");
        }
        int baseSemanticIndex = batch == 0 ? 0 : histories[0].Semantic.Length;
        int historyLength = batch == 0 ? 0 : histories[0].Coarse.Length;
        int[][] fullSemantic = semantic.Select((s, b) => histories[b].Semantic.Concat(s).ToArray()).ToArray();
        var coarse = new List<int>[batch];
        for (int b = 0; b < batch; b++)
        {
            coarse[b] = new List<int>(historyLength + maxLength);
            coarse[b].AddRange(histories[b].Coarse);
        }

        int windows = (int)Math.Ceiling(maxLength / (double)config.SlidingWindowLen);
        int window = config.SlidingWindowLen, generated = 0;
        BarkRandom[] randoms = streams.ForRows(batch);
        ModelWorkspace ws = model.CreateWorkspace();
        int vocabSize = model.Config.OutputVocabSize;
        int widest = Math.Max(codebookSize, vocabSize - semanticVocab - codebookSize);
        var logits = new float[batch * widest];
        var scratchF = new float[widest];
        var scratchI = new int[widest];
        var next = new int[batch];
        var clock = Stopwatch.StartNew();
        // One cache for every window: the longest window is the full semantic prompt, the infer token, the longest
        // history and a full window of new tokens (the last one is never fed back).
        int longestWindow = config.MaxCoarseInputLength + 1 + config.MaxCoarseHistory + window - 1;
        KvCache cache = model.CreateCache(batch, Math.Min(model.Config.BlockSize, longestWindow));

        for (int w = 0; w < windows; w++)
        {
            int semanticIndex = baseSemanticIndex + (int)Math.Round(generated / ratio, MidpointRounding.ToEven);
            int start = Math.Max(0, semanticIndex - maxSemanticHistory);
            int coarseContext = Math.Min(config.MaxCoarseHistory, coarse.Length == 0 ? 0 : coarse[0].Count);
            int newTokens = Math.Min(window, maxLength - generated);

            int[] input = WindowInput(fullSemantic, coarse, start, coarseContext, config);

            cache.Reset();
            for (int i = 0; i < newTokens; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                (int vocabStart, int vocabCount) = AllowedRows(i, semanticVocab, codebookSize, vocabSize);
                long started = Stopwatch.GetTimestamp();
                if (i == 0) model.Forward(input, batch, cache, ws, logits, lastPositionOnly: true, vocabStart: vocabStart, vocabCount: vocabCount);
                else model.Forward(next, batch, cache, ws, logits, lastPositionOnly: true, vocabStart: vocabStart, vocabCount: vocabCount);
                if (listener is not null)
                {
                    double seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
                    if (i == 0) listener.Prefilled(input.Length / batch, seconds);
                    else listener.Decoded(cache.Length - 1, seconds);
                }
                for (int b = 0; b < batch; b++)
                {
                    // Rows outside the allowed range are −∞ after the alternating processor and drop out of the
                    // log-softmax, so the computed rows are the whole distribution.
                    Span<float> scores = logits.AsSpan(b * vocabCount, vocabCount);
                    LogitsProcessing.Normalize(scores);
                    int token = vocabStart + sampling.Choose(scores, randoms[b], scratchF, scratchI);
                    coarse[b].Add(token);
                    next[b] = token;
                }
                progress?.Report(new BarkProgress(BarkStage.Coarse, generated + i + 1, maxLength, (generated + i + 1) / clock.Elapsed.TotalSeconds));
            }
            generated += newTokens;
        }

        int[][] tokens = coarse.Select(c => c.Skip(historyLength).ToArray()).ToArray();
        return new CoarseTokens(tokens, lengths);
    }

    /// <summary>
    /// One window's prompt per sequence: 256 semantic tokens from <paramref name="start"/> (right-padded with the
    /// coarse semantic pad), the coarse infer token, then the last <paramref name="coarseContext"/> coarse tokens.
    /// </summary>
    internal static int[] WindowInput(int[][] semantic, IReadOnlyList<List<int>> coarse, int start, int coarseContext, CoarseGenerationConfig config)
    {
        int batch = semantic.Length, length = config.MaxCoarseInputLength + 1 + coarseContext;
        var input = new int[batch * length];
        for (int b = 0; b < batch; b++)
        {
            Span<int> row = input.AsSpan(b * length, length);
            for (int t = 0; t < config.MaxCoarseInputLength; t++)
                row[t] = start + t < semantic[b].Length ? semantic[b][start + t] : config.CoarseSemanticPadToken;
            row[config.MaxCoarseInputLength] = config.CoarseInferToken;
            for (int t = 0; t < coarseContext; t++) row[config.MaxCoarseInputLength + 1 + t] = coarse[b][coarse[b].Count - coarseContext + t];
        }
        return input;
    }

    /// <summary>
    /// The rows Transformers' <c>AlternatingCodebooksLogitsProcessor</c> leaves finite for the <paramref name="generated"/>-th
    /// token of a window: codebook 0's <c>[vocab, vocab + 1024)</c> after an even count; after an odd count everything
    /// from <c>vocab + 1024</c> to the end of the output vocabulary — codebook 1 plus the 48 special rows above it,
    /// which Transformers does not suppress (Suno's original code did). Kept for token parity; with real weights those
    /// rows essentially never win, and a winner maps to code <c>(token − vocab) mod 1024</c> downstream.
    /// </summary>
    internal static (int Start, int Count) AllowedRows(int generated, int semanticVocab, int codebookSize, int outputVocab) =>
        generated % 2 == 0
            ? (semanticVocab, codebookSize)
            : (semanticVocab + codebookSize, outputVocab - semanticVocab - codebookSize);

    /// <summary>
    /// The voice's histories trimmed as Bark does: at most 209 semantic tokens (an even count) and the matching
    /// round(n · ratio) coarse tokens (codebook-offset, interleaved, + semantic vocab), minus the last two.
    /// </summary>
    internal static (int[] Semantic, int[] Coarse) PrepareHistory(long[]? semanticHistory, long[][]? coarseHistory,
        CoarseGenerationConfig config, int semanticVocab, int codebookSize, double ratio, int maxSemanticHistory)
    {
        if (semanticHistory is null || coarseHistory is null) return ([], []);
        int frames = coarseHistory[0].Length;
        var flat = new int[frames * coarseHistory.Length];
        for (int t = 0; t < frames; t++)
            for (int c = 0; c < coarseHistory.Length; c++)
                flat[t * coarseHistory.Length + c] = checked((int)coarseHistory[c][t]) + codebookSize * c + semanticVocab;

        int nSemantic = Math.Min(maxSemanticHistory, Math.Min(semanticHistory.Length - semanticHistory.Length % 2, (int)Math.Floor(flat.Length / ratio)));
        int nCoarse = (int)Math.Round(nSemantic * ratio, MidpointRounding.ToEven);
        if (nSemantic <= 0) return ([], []);
        int[] sem = semanticHistory[^nSemantic..].Select(v => checked((int)v)).ToArray();
        int[] coarse = flat[^nCoarse..];
        return (sem, coarse[..Math.Max(0, coarse.Length - 2)]);
    }
}

/// <summary>Interleaved coarse tokens (values semantic_vocab + codebook·1024 + code) per sequence, all of the batch's longest length, and each sequence's own length.</summary>
/// <param name="Tokens">Per sequence, all of the batch's longest length.</param>
/// <param name="Lengths">Coarse tokens each sequence needs.</param>
internal sealed record CoarseTokens(int[][] Tokens, int[] Lengths)
{
    /// <summary>
    /// The tokens as codes <c>[sample][codebook][frame]</c>: <c>(token − semantic_vocab) mod 1024</c>, which also maps
    /// the special rows above codebook 1 that <see cref="CoarseGenerator.AllowedRows"/> leaves open, as Transformers'
    /// fine stage does; each sample's frames are its length over the codebooks.
    /// </summary>
    public AudioCodes ToCodes(int semanticVocab, int codebookSize, int codebooks)
    {
        var codes = new int[Tokens.Length][][];
        for (int b = 0; b < Tokens.Length; b++)
        {
            int width = Tokens[b].Length / codebooks;
            codes[b] = new int[codebooks][];
            for (int c = 0; c < codebooks; c++)
            {
                int[] row = codes[b][c] = new int[width];
                for (int t = 0; t < width; t++) row[t] = Mod(Tokens[b][t * codebooks + c] - semanticVocab, codebookSize);
            }
        }
        return new AudioCodes(codes, [.. Lengths.Select(l => l / codebooks)]);
    }

    private static int Mod(int value, int modulus) => ((value % modulus) + modulus) % modulus;
}
