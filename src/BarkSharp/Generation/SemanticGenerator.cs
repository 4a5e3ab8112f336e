using System.Diagnostics;
using BarkSharp.Configuration;
using BarkSharp.Models;

namespace BarkSharp.Generation;

/// <summary>
/// Text → semantic tokens, as Transformers' <c>BarkSemanticModel.generate</c>: text ids + 10048 (padding → 129595),
/// the first 256 positions summed with the voice's semantic history (or 256 pads), then the infer token; KV-cached
/// decoding where tokens 10001..10047 are suppressed, the end token may be forced by <c>min_eos_p</c>, and a finished
/// sequence is padded with the end token while the others go on.
/// </summary>
internal static class SemanticGenerator
{
    public static SemanticResult Generate(
        BarkCausalModel model, SemanticGenerationConfig config, ResolvedSampling sampling, double? minEosP,
        IReadOnlyList<int[]> inputIds, IReadOnlyList<int[]>? attentionMask, PerRow<long[]?> semanticHistory, RandomStreams streams,
        IProgress<BarkProgress>? progress, CancellationToken cancellationToken)
    {
        int batch = inputIds.Count;
        int context = config.MaxInputSemanticLength;
        int eos = config.EosTokenId;
        int vocab = model.Config.OutputVocabSize;
        int promptLength = context + 1;

        // Rows the processors leave finite: [0, semantic_vocab_size) and the pad/end token.
        int allowedRows = Math.Min(vocab, Math.Max(config.SemanticVocabSize, config.SemanticPadToken + 1));
        int maxNew = sampling.MaxNewTokens ?? 768;
        if (maxNew <= 0) throw new BarkInputException($"semantic max_new_tokens must be positive, got {maxNew}.");
        maxNew = Math.Min(maxNew, TokenLimit(model.Config.BlockSize, context));

        var text = new int[batch * context];
        for (int b = 0; b < batch; b++)
        {
            int[] ids = inputIds[b];
            int[]? mask = attentionMask?[b];
            for (int t = 0; t < context; t++)
            {
                bool present = t < ids.Length && (mask is null || (t < mask.Length && mask[t] != 0));
                text[b * context + t] = present ? ids[t] + config.TextEncodingOffset : config.TextPadToken;
            }
        }

        // Each row's voice history (its last 256 tokens, right-padded) is summed into its text positions.
        int h = model.Config.HiddenSize;
        var embeds = new float[batch * promptLength * h];
        var history = new int[context];
        for (int b = 0; b < batch; b++)
        {
            Array.Fill(history, config.SemanticPadToken);
            if (semanticHistory[b] is { } voice)
            {
                int take = Math.Min(context, voice.Length);
                for (int i = 0; i < take; i++)
                    history[i] = checked((int)voice[voice.Length - take + i]);
            }
            model.EmbedMergedContext(text.AsSpan(b * context, context), history, [config.SemanticInferToken], 1,
                embeds.AsSpan(b * promptLength * h, promptLength * h));
        }

        KvCache cache = model.CreateCache(batch, promptLength + maxNew - 1);
        ModelWorkspace ws = model.CreateWorkspace();
        var logits = new float[batch * allowedRows];
        var scratchF = new float[allowedRows];
        var scratchI = new int[allowedRows];
        BarkRandom[] randoms = streams.ForRows(batch);
        var tokens = new List<int>[batch];
        for (int b = 0; b < batch; b++) tokens[b] = new List<int>(maxNew);
        var finished = new bool[batch];
        var next = new int[batch];
        var clock = Stopwatch.StartNew();

        model.ForwardEmbeddings(embeds, batch, promptLength, cache, ws, logits, lastPositionOnly: true, vocabCount: allowedRows);
        for (int step = 0; step < maxNew; step++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            for (int b = 0; b < batch; b++)
            {
                Span<float> scores = logits.AsSpan(b * allowedRows, allowedRows);
                ProcessScores(scores, config, minEosP);
                int token = sampling.Choose(scores, randoms[b], scratchF, scratchI);
                if (finished[b]) token = config.SemanticPadToken;
                tokens[b].Add(token);
                next[b] = token;
                if (token == eos) finished[b] = true;
            }
            progress?.Report(new BarkProgress(BarkStage.Semantic, step + 1, maxNew, (step + 1) / clock.Elapsed.TotalSeconds));
            if (Array.IndexOf(finished, false) < 0 || step == maxNew - 1) break;
            model.Forward(next, batch, cache, ws, logits, lastPositionOnly: true, vocabCount: allowedRows);
        }

        int[][] result = tokens.Select(t => t.ToArray()).ToArray();
        int[] lengths = result.Select(r =>
        {
            int end = Array.IndexOf(r, eos);
            return end < 0 ? r.Length : end;
        }).ToArray();
        return new SemanticResult(result, lengths);
    }

    /// <summary>
    /// The most tokens one semantic generation can produce: the prompt takes <paramref name="context"/> + 1 positions and
    /// the last token is never fed back, so <c>block_size − context</c> tokens fit (768 for Suno's models).
    /// </summary>
    internal static int TokenLimit(int blockSize, int context) => Math.Max(1, blockSize - context);

    /// <summary>Transformers' semantic processors on the computed rows: suppression, EOS prioritizer, log-softmax.</summary>
    internal static void ProcessScores(Span<float> scores, SemanticGenerationConfig config, double? minEosP)
    {
        LogitsProcessing.Suppress(scores, config.SemanticVocabSize, config.SemanticPadToken);
        LogitsProcessing.Suppress(scores, config.SemanticPadToken + 1, scores.Length);
        LogitsProcessing.PrioritizeEos(scores, config.EosTokenId, minEosP);
        LogitsProcessing.Normalize(scores);
    }
}

/// <summary>Semantic tokens per sequence (end token and padding included) and the count before the end token.</summary>
/// <param name="Tokens">Per sequence, as Transformers returns them.</param>
/// <param name="Lengths">Tokens before the end token.</param>
public sealed record SemanticResult(int[][] Tokens, int[] Lengths);
