using BarkSharp.Generation;
using BarkSharp.Tensors;
using BarkSharp.Tests.Generation;
using BarkSharp.Tests.Infrastructure;
using Xunit.Abstractions;

namespace BarkSharp.Tests.Models;

/// <summary>
/// bf16 / f16 / int8 block weights (with the bfloat16 KV cache <see cref="KvCacheType.Auto"/> gives them), and float32
/// weights with a bfloat16 cache, against Transformers on the reference fixtures: the largest logit error of the
/// forward case and how many greedy end-to-end tokens still agree (printed; the README's accuracy table comes from here).
/// </summary>
public class ReducedPrecisionAccuracyTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(WeightType.BFloat16, KvCacheType.Auto)]
    [InlineData(WeightType.Float16, KvCacheType.Auto)]
    [InlineData(WeightType.Int8, KvCacheType.Auto)]
    [InlineData(WeightType.Float32, KvCacheType.BFloat16)]
    public void Reduced_precision_stays_close_to_transformers(WeightType type, KvCacheType kvCache)
    {
        (double maxErr, double maxRef, int agree, int total, KvCacheType cache) = Measure(type, kvCache);
        output.WriteLine($"{type} weights, {cache} KV cache: semantic logits max abs err {maxErr:g3} (max |logit| {maxRef:g3}); greedy semantic tokens agreeing before the first difference: {agree}/{total}");
        double bound = type == WeightType.Int8 ? 0.05 : 0.02;
        Assert.True(maxErr <= bound * maxRef, $"{type}: logit error {maxErr} exceeds {bound:P0} of {maxRef}");
        Assert.Equal(KvCacheType.BFloat16, cache);
    }

    /// <summary>The forward case's largest logit error and the greedy cases' agreeing semantic tokens for one configuration.</summary>
    internal static (double MaxErr, double MaxRef, int Agree, int Total, KvCacheType Cache) Measure(WeightType type, KvCacheType kvCache)
    {
        using BarkModel model = BarkModel.FromPretrained(Fixtures.TinyBark, new BarkModelOptions { WeightType = type, KvCacheType = kvCache });
        Assert.Equal(type, model.Semantic.WeightType);

        ReferenceCase c = Fixtures.Case("forward/semantic_kv");
        int[] ids = TinyBark.Ints(c.Input("input_ids"));
        var logits = new float[ids.Length * 10_048];
        model.Semantic.Forward(ids, 1, model.Semantic.CreateCache(1), model.Semantic.CreateWorkspace(), logits);
        float[] expected = c.Output("logits").ToFloat32();
        double maxErr = 0, maxRef = 0;
        for (int i = 0; i < logits.Length; i++)
        {
            maxErr = Math.Max(maxErr, Math.Abs(logits[i] - expected[i]));
            maxRef = Math.Max(maxRef, Math.Abs(expected[i]));
        }

        int agree = 0, total = 0;
        BarkProcessor processor = BarkProcessor.FromPretrained(Fixtures.TinyBark);
        foreach (string id in new[] { "generate/en_basic__nopreset", "generate/de__v2_en_speaker_6", "generate/zh__nopreset" })
        {
            ReferenceCase g = Fixtures.Case(id);
            BarkGeneration result = model.Generate(processor.Process(g.Json.GetProperty("text").GetString()!, g.Json.GetProperty("voice_preset").GetString()),
                StageParityTests.Options(g.Json.GetProperty("generate_kwargs")));
            int[] reference = TinyBark.Ints(g.Output("semantic_tokens"));
            total += reference.Length;
            agree += reference.Zip(result.SemanticTokens[0]).TakeWhile(p => p.First == p.Second).Count();
        }
        return (maxErr, maxRef, agree, total, model.Semantic.KvCacheType);
    }

}
