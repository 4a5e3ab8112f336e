using System.Diagnostics;
using BarkSharp.Configuration;
using BarkSharp.Models;

namespace BarkSharp.Generation;

/// <summary>
/// Coarse codes → all eight codebooks, as Transformers' <c>BarkFineModel.generate</c>: the voice's fine prompt
/// (≤ 512 frames) is prepended, the sequence right-padded with code 1024 to at least 1024 frames, and windows of 1024
/// frames advancing by 512 fill codebooks 2..7 one after the other. Predictions are written back into the shared
/// buffer at once, so later codebooks and later windows see them.
/// </summary>
internal static class FineGenerator
{
    /// <summary>Fills codebooks 2..7 of <paramref name="coarse"/>'s frames; the result keeps each sample's frame count.</summary>
    public static AudioCodes Generate(
        BarkFineModel model, CoarseGenerationConfig coarseConfig, FineGenerationConfig config, int codebookSize,
        double? temperature, AudioCodes coarse, long[][]? fineHistory, RandomStreams streams,
        IProgress<BarkProgress>? progress, CancellationToken cancellationToken)
    {
        int batch = coarse.BatchSize;
        int nCoarse = coarseConfig.NCoarseCodebooks, nFine = config.NFineCodebooks;
        int window = config.MaxFineInputLength, hop = config.MaxFineHistoryLength;
        if (nFine != model.Config.NCodesTotal)
            throw new BarkConfigException($"n_fine_codebooks {nFine} differs from the fine model's n_codes_total {model.Config.NCodesTotal}.");
        if (batch > 0 && coarse.Codebooks != nCoarse)
            throw new BarkInputException($"the coarse codes have {coarse.Codebooks} codebooks; the fine stage continues n_coarse_codebooks {nCoarse}.");
        int frames = batch == 0 ? 0 : coarse.Codes[0][0].Length;

        int nHistory = fineHistory is null ? 0 : Math.Min(hop, fineHistory[0].Length);
        int total = Math.Max(nHistory + frames, window);

        // buffer[b, t, c] in Transformers' (batch, time, codebook) layout.
        var buffer = new int[batch * total * nFine];
        Array.Fill(buffer, codebookSize);
        for (int b = 0; b < batch; b++)
        {
            if (fineHistory is not null)
                for (int t = 0; t < nHistory; t++)
                    for (int c = 0; c < nFine; c++)
                        buffer[(b * total + t) * nFine + c] = checked((int)fineHistory[c][fineHistory[c].Length - nHistory + t]);
            for (int c = 0; c < nCoarse; c++)
                if (coarse.Codes[b][c].Length != frames)
                    throw new BarkInputException($"coarse codes of sample {b}, codebook {c} have {coarse.Codes[b][c].Length} frames; every row of a batch needs {frames}.");
            for (int t = 0; t < frames; t++)
                for (int c = 0; c < nCoarse; c++)
                    buffer[(b * total + nHistory + t) * nFine + c] = coarse.Codes[b][c][t];
        }

        int loops = Math.Max(0, (int)Math.Ceiling((frames - (window - nHistory)) / (double)hop)) + 1;
        var windowIds = new int[batch * window * nFine];
        var logits = new float[batch * window * codebookSize];
        ModelWorkspace ws = model.CreateWorkspace();
        BarkRandom[] randoms = streams.ForRows(batch);
        var clock = Stopwatch.StartNew();
        int calls = 0, totalCalls = loops * (nFine - nCoarse);
        bool argmax = temperature is null || temperature == 1.0;

        for (int loop = 0; loop < loops; loop++)
        {
            int start = Math.Min(loop * hop, total - window);
            int fillStart = Math.Min(nHistory + loop * hop, total - hop);
            int relative = fillStart - start;
            for (int cb = nCoarse; cb < nFine; cb++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                for (int b = 0; b < batch; b++)
                    buffer.AsSpan((b * total + start) * nFine, window * nFine).CopyTo(windowIds.AsSpan(b * window * nFine));
                model.Forward(cb, windowIds, batch, ws, logits, vocabCount: codebookSize);
                for (int b = 0; b < batch; b++)
                    for (int t = relative; t < window; t++)
                    {
                        Span<float> scores = logits.AsSpan((b * window + t) * codebookSize, codebookSize);
                        int code;
                        if (argmax)
                        {
                            code = LogitsProcessing.ArgMax(scores);
                        }
                        else
                        {
                            LogitsProcessing.Temperature(scores, temperature);
                            code = LogitsProcessing.Sample(scores, randoms[b]);
                        }
                        buffer[(b * total + start + t) * nFine + cb] = code;
                    }
                calls++;
                progress?.Report(new BarkProgress(BarkStage.Fine, calls, totalCalls, calls * window * batch / clock.Elapsed.TotalSeconds));
            }
        }

        var result = new int[batch][][];
        for (int b = 0; b < batch; b++)
        {
            result[b] = new int[nFine][];
            for (int c = 0; c < nFine; c++)
            {
                result[b][c] = new int[frames];
                for (int t = 0; t < frames; t++) result[b][c][t] = buffer[(b * total + nHistory + t) * nFine + c];
            }
        }
        return new AudioCodes(result, coarse.Frames);
    }
}
