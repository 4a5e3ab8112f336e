using System.Text.Json;
using BarkSharp.Configuration;
using BarkSharp.Generation;
using BarkSharp.IO;
using BarkSharp.Models;
using BarkSharp.Tensors;
using BarkSharp.Tests.Infrastructure;
using Xunit.Abstractions;

namespace BarkSharp.Tests.Generation;

/// <summary>The score vectors Bark samples from (logits processors + warpers) against Transformers' output_scores.</summary>
public class SamplingParityTests(ITestOutputHelper output)
{
    private static readonly BarkGenerationConfig HubGeneration = BarkGenerationConfig.Load(Path.Combine(Fixtures.TinyBark, "generation_config.json"));

    private static BarkGenerationOptions Settings(JsonElement settings) => new()
    {
        DoSample = settings.TryGetProperty("do_sample", out JsonElement d) ? d.GetBoolean() : null,
        Temperature = settings.TryGetProperty("temperature", out JsonElement t) ? t.GetDouble() : null,
        TopK = settings.TryGetProperty("top_k", out JsonElement k) ? k.GetInt32() : null,
        TopP = settings.TryGetProperty("top_p", out JsonElement p) ? p.GetDouble() : null,
        MinEosP = settings.TryGetProperty("min_eos_p", out JsonElement m) ? m.GetDouble() : null,
    };

    public static TheoryData<string> SemanticCases() => new(Fixtures.CaseIds("sampling_semantic"));

    [Theory]
    [MemberData(nameof(SemanticCases))]
    public void Semantic_processed_scores_match(string caseId)
    {
        ReferenceCase c = Fixtures.Case(caseId);
        string? voice = c.Json.GetProperty("voice_preset").GetString();
        ReferenceCase p = Fixtures.Case(voice is null ? "processor/en_basic" : "processor_preset/en_basic__v2_en_speaker_6");
        Assert.Equal(c.Json.GetProperty("text").GetString(), p.Json.GetProperty("text").GetString());
        BarkGenerationOptions options = Settings(c.Json.GetProperty("settings"));

        using ITensorStore store = TinyBark.OpenStore("model.safetensors");
        var model = BarkCausalModel.Load(new WeightReader(store, "semantic."), TinyBark.Config.SemanticConfig);
        int[] ids = TinyBark.Ints(p.Output("input_ids")), mask = TinyBark.Ints(p.Output("attention_mask"));
        int[] text = ids.Select((id, i) => mask[i] != 0 ? id + 10_048 : 129_595).ToArray();
        int[] history = Enumerable.Repeat(10_000, 256).ToArray();
        if (voice is not null) TinyBark.Ints(p.Output("history_semantic_prompt"))[^256..].CopyTo(history, 0);

        var embeds = new float[257 * model.Config.HiddenSize];
        model.EmbedMergedContext(text, history, [129_599], 1, embeds);
        var scores = new float[model.Config.OutputVocabSize];
        model.ForwardEmbeddings(embeds, 1, 257, model.CreateCache(1), model.CreateWorkspace(), scores, lastPositionOnly: true);
        Check(c, "raw_logits", scores);

        SemanticGenerator.ProcessScores(scores, HubGeneration.SemanticConfig, options.MinEosP);
        ResolvedSampling sampling = options.ResolveSemantic(HubGeneration.SemanticConfig);
        Assert.True(sampling.DoSample);
        sampling.Warp(scores, new float[scores.Length], new int[scores.Length]);
        Check(c, "processed_scores", scores);
    }

    public static TheoryData<string> CoarseCases() => new(Fixtures.CaseIds("sampling_coarse"));

    [Theory]
    [MemberData(nameof(CoarseCases))]
    public void Coarse_window_input_and_processed_scores_match(string caseId)
    {
        ReferenceCase c = Fixtures.Case(caseId);
        BarkGenerationOptions options = Settings(c.Json.GetProperty("settings"));
        var preset = StageParityTests.Preset(c.Json.GetProperty("voice_preset").GetString());
        SemanticGenerationConfig sem = HubGeneration.SemanticConfig;
        CoarseGenerationConfig coarseConfig = HubGeneration.CoarseAcousticsConfig;
        double ratio = CoarseGenerator.Ratio(sem, coarseConfig);
        int maxSemanticHistory = (int)Math.Floor(coarseConfig.MaxCoarseHistory / ratio);

        (int[] semHistory, int[] coarseHistory) = CoarseGenerator.PrepareHistory(preset?.Semantic, preset?.Coarse, coarseConfig, 10_000, 1024, ratio, maxSemanticHistory);
        int[] semantic = [.. semHistory, .. TinyBark.Ints(c.Input("semantic_tokens"))];
        int start = Math.Max(0, semHistory.Length - maxSemanticHistory);
        int[] input = CoarseGenerator.WindowInput([semantic], [coarseHistory.ToList()], start, Math.Min(630, coarseHistory.Length), coarseConfig);
        Assert.Equal(TinyBark.Ints(c.Output("window0_input_ids")), input);

        using ITensorStore store = TinyBark.OpenStore("model.safetensors");
        var model = BarkCausalModel.Load(new WeightReader(store, "coarse_acoustics."), TinyBark.Config.CoarseAcousticsConfig);
        ResolvedSampling sampling = options.ResolveCoarse(coarseConfig);
        int vocab = model.Config.OutputVocabSize;
        float[] expectedRaw = c.Output("window0_raw_logits").ToFloat32(), expectedProcessed = c.Output("window0_processed_scores").ToFloat32();
        int[] sampled = TinyBark.Ints(c.Output("sampled_tokens"));
        KvCache cache = model.CreateCache(1);
        ModelWorkspace ws = model.CreateWorkspace();
        var scores = new float[vocab];
        for (int step = 0; step < 2; step++)
        {
            model.Forward(step == 0 ? input : [sampled[0]], 1, cache, ws, scores, lastPositionOnly: true);
            Check(c, "window0_raw_logits", expectedRaw.AsSpan(step * vocab, vocab), scores, step);
            LogitsProcessing.AlternateCodebooks(scores, step, 10_000, 1024);
            if (step == 1) Assert.True(float.IsFinite(scores[12_069]), "Transformers leaves rows above codebook 1 unsuppressed");
            LogitsProcessing.Normalize(scores);
            sampling.Warp(scores, new float[vocab], new int[vocab]);
            Check(c, "window0_processed_scores", expectedProcessed.AsSpan(step * vocab, vocab), scores, step);
        }
    }

    public static TheoryData<string> SyntheticCases() => new(Fixtures.CaseIds("processors_synthetic"));

    [Theory]
    [MemberData(nameof(SyntheticCases))]
    public void Synthetic_processor_chain_matches_stage_by_stage(string caseId)
    {
        ReferenceCase c = Fixtures.Case(caseId);
        NpyArray logits = c.Input("logits");
        int rows = (int)logits.Shape[0], vocab = (int)logits.Shape[1];
        float[] all = logits.ToFloat32();
        int inputLength = c.Json.GetProperty("input_ids_len").GetInt32();
        JsonElement[] stages = c.Json.GetProperty("stages").EnumerateArray().ToArray();
        float[][] expected = Enumerable.Range(0, stages.Length).Select(i => c.Output($"stage{i}_{stages[i].GetProperty("class").GetString()}").ToFloat32()).ToArray();
        float[] expectedProbs = c.Output("probs").ToFloat32();
        for (int r = 0; r < rows; r++)
        {
            float[] s = all.AsSpan(r * vocab, vocab).ToArray();
            for (int i = 0; i < stages.Length; i++)
            {
                string name = stages[i].GetProperty("class").GetString()!;
                JsonElement args = stages[i].TryGetProperty("args", out JsonElement a) ? a : default;
                switch (name)
                {
                    case "SuppressTokensLogitsProcessor":
                        foreach (JsonElement t in args.GetProperty("suppress_tokens").EnumerateArray()) s[t.GetInt32()] = float.NegativeInfinity;
                        break;
                    case "BarkEosPrioritizerLogitsProcessor":
                        LogitsProcessing.PrioritizeEos(s, args.GetProperty("eos_token_id").GetInt32(), args.GetProperty("min_eos_p").GetDouble());
                        break;
                    case "AlternatingCodebooksLogitsProcessor":
                        LogitsProcessing.AlternateCodebooks(s, inputLength - args.GetProperty("input_start_len").GetInt32(),
                            args.GetProperty("semantic_vocab_size").GetInt32(), args.GetProperty("codebook_size").GetInt32());
                        break;
                    case "LogitNormalization":
                        LogitsProcessing.Normalize(s);
                        break;
                    case "TemperatureLogitsWarper":
                        LogitsProcessing.Temperature(s, args.GetProperty("temperature").GetDouble());
                        break;
                    case "TopKLogitsWarper":
                        LogitsProcessing.TopK(s, args.GetProperty("top_k").GetInt32(), new float[vocab]);
                        break;
                    case "TopPLogitsWarper":
                        LogitsProcessing.TopP(s, args.GetProperty("top_p").GetDouble(), new float[vocab], new int[vocab]);
                        break;
                    default:
                        throw new InvalidOperationException(name);
                }
                (double atol, double rtol) = c.Tolerance($"stage{i}_{name}");
                Compare.AssertClose(expected[i].AsSpan(r * vocab, vocab), s, atol, rtol, $"{caseId} row {r} stage {i} {name}");
            }
            Softmax.InPlace(s);
            (double pa, double pr) = c.Tolerance("probs");
            Compare.AssertClose(expectedProbs.AsSpan(r * vocab, vocab), s, pa, pr, $"{caseId} row {r} probs");
        }
    }

    [Fact]
    public void Fine_sampling_distribution_matches()
    {
        ReferenceCase c = Fixtures.Case("sampling/fine_probs_T0.5");
        using ITensorStore store = TinyBark.OpenStore("model.safetensors");
        var model = BarkFineModel.Load(new WeightReader(store, "fine_acoustics."), TinyBark.Config.FineAcousticsConfig);
        int[] ids = TinyBark.Ints(c.Input("input_ids"));
        int frames = ids.Length / 8, vocab = model.Config.OutputVocabSize;
        var logits = new float[frames * vocab];
        model.Forward(c.Json.GetProperty("codebook_idx").GetInt32(), ids, 1, model.CreateWorkspace(), logits);
        Check(c, "logits", logits);
        var probs = new float[frames * 1024];
        for (int t = 0; t < frames; t++)
        {
            Span<float> row = probs.AsSpan(t * 1024, 1024);
            logits.AsSpan(t * vocab, 1024).CopyTo(row);
            LogitsProcessing.Temperature(row, c.Json.GetProperty("temperature").GetDouble());
            Softmax.InPlace(row);
        }
        Check(c, "probs", probs);
    }

    private void Check(ReferenceCase c, string name, float[] actual) => Check(c, name, c.Output(name).ToFloat32(), actual, 0);

    private void Check(ReferenceCase c, string name, ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, int step)
    {
        (double atol, double rtol) = c.Tolerance(name);
        double err = Compare.AssertClose(expected, actual, atol, rtol, $"{c.Id}:{name}[{step}]");
        output.WriteLine($"{c.Id} {name}[{step}]: max abs err {err:e2}");
    }
}
