using System.Text.Json;
using BarkSharp.Configuration;
using BarkSharp.Generation;
using BarkSharp.IO;
using BarkSharp.Models;
using BarkSharp.Tests.Infrastructure;

namespace BarkSharp.Tests.Generation;

/// <summary>Greedy semantic → coarse → fine tokens of every end-to-end manifest case, stage by stage.</summary>
public class StageParityTests
{
    public static TheoryData<string> GenerateCases() => new(Fixtures.CaseIds("generate"));

    internal static (long[] Semantic, long[][] Coarse, long[][] Fine)? Preset(string? name)
    {
        if (name is null) return null;
        string dir = Path.Combine(Fixtures.TinyBark, "speaker_embeddings");
        NpyArray Load(string part) => NpyArray.Load(Path.Combine(dir, $"{name}_{part}_prompt.npy"));
        static long[][] Rows(NpyArray a)
        {
            long[] flat = a.ToInt64();
            int rows = (int)a.Shape[0], cols = (int)a.Shape[1];
            return Enumerable.Range(0, rows).Select(r => flat.AsSpan(r * cols, cols).ToArray()).ToArray();
        }
        return (Load("semantic").ToInt64(), Rows(Load("coarse")), Rows(Load("fine")));
    }

    internal static BarkGenerationOptions Options(JsonElement kwargs)
    {
        var options = BarkGenerationOptions.Greedy;
        if (kwargs.TryGetProperty("semantic_max_new_tokens", out JsonElement max))
            options = options with { Semantic = options.Semantic with { MaxNewTokens = max.GetInt32() } };
        if (kwargs.TryGetProperty("min_eos_p", out JsonElement p))
            options = options with { MinEosP = p.GetDouble() };
        return options;
    }

    [Theory]
    [MemberData(nameof(GenerateCases))]
    public void Greedy_tokens_match_transformers_exactly(string caseId)
    {
        ReferenceCase c = Fixtures.Case(caseId);
        BarkConfig config = TinyBark.Config;
        BarkGenerationConfig gen = BarkGenerationConfig.Load(Path.Combine(Fixtures.TinyBark, "generation_config.json"));
        using ITensorStore store = TinyBark.OpenStore("model.safetensors");
        var semanticModel = BarkCausalModel.Load(new WeightReader(store, "semantic."), config.SemanticConfig);
        var coarseModel = BarkCausalModel.Load(new WeightReader(store, "coarse_acoustics."), config.CoarseAcousticsConfig);
        var fineModel = BarkFineModel.Load(new WeightReader(store, "fine_acoustics."), config.FineAcousticsConfig);

        BarkGenerationOptions options = Options(c.Json.GetProperty("generate_kwargs"));
        var preset = Preset(c.Json.GetProperty("voice_preset").GetString());
        int[][] ids = Rows(c.Output("input_ids"));
        int[][] mask = Rows(c.Output("attention_mask"));

        SemanticResult semantic = SemanticGenerator.Generate(semanticModel, gen.SemanticConfig, options.ResolveSemantic(gen.SemanticConfig),
            options.MinEosP, ids, mask, preset?.Semantic, options.Seed, null, default);
        AssertRows("semantic", Rows(c.Output("semantic_tokens")), semantic.Tokens);

        CoarseTokens coarse = CoarseGenerator.GenerateTokens(coarseModel, gen.SemanticConfig, gen.CoarseAcousticsConfig, gen.CodebookSize,
            options.ResolveCoarse(gen.CoarseAcousticsConfig), semantic.Tokens, preset?.Semantic, preset?.Coarse, options.Seed, null, default);
        AssertRows("coarse", Rows(c.Output("coarse_tokens")), coarse.Tokens);
        if (c.OutputNames.Contains("coarse_output_lengths"))
            Assert.Equal(TinyBark.Ints(c.Output("coarse_output_lengths")), coarse.Lengths);

        AudioCodes fine = FineGenerator.Generate(fineModel, gen.CoarseAcousticsConfig, gen.FineAcousticsConfig, gen.CodebookSize,
            options.ResolveFineTemperature(gen.FineAcousticsConfig), coarse.ToCodes(gen.SemanticConfig.SemanticVocabSize, gen.CodebookSize, gen.CoarseAcousticsConfig.NCoarseCodebooks),
            preset?.Fine, options.Seed, null, default);
        NpyArray expectedFine = c.Output("fine_tokens");
        Assert.Equal(TinyBark.Ints(expectedFine), fine.Codes.SelectMany(b => b.SelectMany(cb => cb)).ToArray());
    }

    private static void AssertRows(string stage, int[][] expected, int[][] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int b = 0; b < expected.Length; b++)
        {
            int n = Math.Min(expected[b].Length, actual[b].Length);
            for (int i = 0; i < n; i++)
                Assert.True(expected[b][i] == actual[b][i], $"{stage} tokens of sequence {b} differ first at {i}: expected {expected[b][i]}, got {actual[b][i]}");
            Assert.True(expected[b].Length == actual[b].Length, $"{stage} tokens of sequence {b}: expected {expected[b].Length}, got {actual[b].Length}");
        }
    }

    internal static int[][] Rows(NpyArray a)
    {
        int[] flat = TinyBark.Ints(a);
        int rows = (int)a.Shape[0], cols = flat.Length / Math.Max(1, rows);
        return Enumerable.Range(0, rows).Select(r => flat.AsSpan(r * cols, cols).ToArray()).ToArray();
    }
}
