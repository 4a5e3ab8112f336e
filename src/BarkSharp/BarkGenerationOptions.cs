using BarkSharp.Configuration;
using BarkSharp.Generation;

namespace BarkSharp;

/// <summary>
/// Overrides of the checkpoint's <c>generation_config.json</c> for one generation, mirroring Transformers' keyword
/// arguments to <c>BarkModel.generate</c>: unprefixed values (<see cref="DoSample"/>, <see cref="Temperature"/>,
/// <see cref="TopK"/>, <see cref="TopP"/>) apply to every stage, stage values (<see cref="Semantic"/>,
/// <see cref="Coarse"/>, <see cref="Fine"/> — Transformers' <c>semantic_*</c>, <c>coarse_*</c>, <c>fine_*</c>)
/// win over them. A null leaves the checkpoint's value.
/// </summary>
public sealed record BarkGenerationOptions
{
    /// <summary>Sample (true) or decode greedily (false) in the semantic and coarse stages.</summary>
    public bool? DoSample { get; init; }

    /// <summary>Temperature for every stage.</summary>
    public double? Temperature { get; init; }

    /// <summary>Top-k for the semantic and coarse stages (0 = off).</summary>
    public int? TopK { get; init; }

    /// <summary>Top-p for the semantic and coarse stages (1 = off).</summary>
    public double? TopP { get; init; }

    /// <summary>
    /// Stop the semantic stage when the end token's probability exceeds this (Transformers' <c>min_eos_p</c>).
    /// As in <c>BarkModel.generate</c>, a value stored in generation_config.json is not used: only this option counts.
    /// </summary>
    public double? MinEosP { get; init; }

    /// <summary>Semantic-stage overrides (<c>semantic_*</c>).</summary>
    public StageOptions Semantic { get; init; } = new();

    /// <summary>Coarse-stage overrides (<c>coarse_*</c>).</summary>
    public StageOptions Coarse { get; init; } = new();

    /// <summary>Fine-stage overrides (<c>fine_*</c>); only the temperature is used.</summary>
    public FineStageOptions Fine { get; init; } = new();

    /// <summary>Seed of the random streams (one per sequence). The same seed gives the same tokens on every run and thread count.</summary>
    public ulong Seed { get; init; }

    /// <summary>
    /// Greedy decoding everywhere: <c>do_sample=False</c> and <c>fine_temperature=None</c> (argmax), the settings of
    /// Transformers' Bark tests and of the reference fixtures.
    /// </summary>
    public static BarkGenerationOptions Greedy => new() { DoSample = false, Fine = new FineStageOptions { Argmax = true } };

    internal ResolvedSampling ResolveSemantic(SemanticGenerationConfig c) => Resolve(c, Semantic, c.MaxNewTokens);

    internal ResolvedSampling ResolveCoarse(CoarseGenerationConfig c) => Resolve(c, Coarse, null);

    internal double? ResolveFineTemperature(FineGenerationConfig c) =>
        Fine.Argmax ? null : Fine.Temperature ?? Temperature ?? c.Temperature;

    private ResolvedSampling Resolve(SamplingGenerationConfig c, StageOptions stage, int? maxNewTokens) => new(
        stage.DoSample ?? DoSample ?? c.DoSample,
        stage.Temperature ?? Temperature ?? c.Temperature,
        stage.TopK ?? TopK ?? c.TopK,
        stage.TopP ?? TopP ?? c.TopP,
        c.RenormalizeLogits,
        stage.MaxNewTokens ?? maxNewTokens);
}

/// <summary>Overrides for one autoregressive stage.</summary>
public sealed record StageOptions
{
    /// <summary>Sample or decode greedily.</summary>
    public bool? DoSample { get; init; }

    /// <summary>Softmax temperature when sampling.</summary>
    public double? Temperature { get; init; }

    /// <summary>Top-k when sampling (0 = off).</summary>
    public int? TopK { get; init; }

    /// <summary>Top-p when sampling (1 = off).</summary>
    public double? TopP { get; init; }

    /// <summary>Maximum new tokens (semantic stage: Transformers' <c>semantic_max_new_tokens</c>).</summary>
    public int? MaxNewTokens { get; init; }
}

/// <summary>Overrides for the fine stage.</summary>
public sealed record FineStageOptions
{
    /// <summary>Sampling temperature; 1 means argmax, as in Transformers.</summary>
    public double? Temperature { get; init; }

    /// <summary>Take the argmax regardless of temperatures (Transformers' <c>fine_temperature=None</c>).</summary>
    public bool Argmax { get; init; }
}

internal readonly record struct ResolvedSampling(bool DoSample, double? Temperature, int? TopK, double? TopP, bool Renormalize, int? MaxNewTokens)
{
    /// <summary>Applies the warpers (temperature, top-k, top-p, renormalization) to processed scores before sampling.</summary>
    public void Warp(Span<float> scores, Span<float> floatScratch, Span<int> intScratch)
    {
        LogitsProcessing.Temperature(scores, Temperature);
        LogitsProcessing.TopK(scores, TopK, floatScratch);
        LogitsProcessing.TopP(scores, TopP, floatScratch, intScratch);
        if (Renormalize) LogitsProcessing.Normalize(scores);
    }

    /// <summary>Picks the next token from processed scores: argmax, or a draw after the warpers.</summary>
    public int Choose(Span<float> scores, BarkRandom random, Span<float> floatScratch, Span<int> intScratch)
    {
        if (!DoSample) return LogitsProcessing.ArgMax(scores);
        Warp(scores, floatScratch, intScratch);
        return LogitsProcessing.Sample(scores, random);
    }
}
