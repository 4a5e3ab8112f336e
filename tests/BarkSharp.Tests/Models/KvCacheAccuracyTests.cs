using BarkSharp.Configuration;
using BarkSharp.Generation;
using BarkSharp.Models;
using BarkSharp.Tensors;
using BarkSharp.Tests.Infrastructure;
using Xunit.Abstractions;

namespace BarkSharp.Tests.Models;

/// <summary>
/// A bfloat16 KV cache against the float32 cache, both with float32 weights, so the differences are the cache's alone
/// (printed; the README quotes them). Greedy generation against Transformers with it is in <see cref="ReducedPrecisionAccuracyTests"/>.
/// </summary>
public class KvCacheAccuracyTests(ITestOutputHelper output)
{
    [Fact]
    public void Bfloat16_cache_stays_close_to_float32_on_the_fixture()
    {
        using BarkModel exact = BarkModel.FromPretrained(Fixtures.TinyBark);
        using BarkModel reduced = BarkModel.FromPretrained(Fixtures.TinyBark, new BarkModelOptions { KvCacheType = KvCacheType.BFloat16 });
        Assert.Equal(KvCacheType.Float32, exact.Semantic.KvCacheType);
        Assert.Equal(KvCacheType.BFloat16, reduced.Semantic.KvCacheType);
        Assert.Equal(KvCacheType.BFloat16, reduced.CoarseAcoustics.CreateCache(1).Type);

        // Transformers' forward case, then 200 cached steps fed the float32 model's greedy tokens. The fixture's
        // random 4- and 8-wide models are chaotic: one step's softmax can flip, so the bound is loose (bf16 weights
        // move the same semantic run by 35 of 158).
        foreach (var (id, a, b) in new[] { ("forward/semantic_kv", exact.Semantic, reduced.Semantic), ("forward/coarse_acoustics_kv", exact.CoarseAcoustics, reduced.CoarseAcoustics) })
        {
            Difference d = Decode(a, b, TinyBark.Ints(Fixtures.Case(id).Input("input_ids")), steps: 200);
            output.WriteLine($"bf16 KV cache, {a.Config.ModelType}: logits max abs difference {d.Prefill:g3} on the forward case, {d.Steps:g3} over 200 " +
                             $"cached steps (max |logit| {d.Largest:g3}); greedy token equal in {d.SameArgMax}/201 choices");
            Assert.True(d.Prefill <= 5e-3 * d.Largest, $"{a.Config.ModelType}: prefill difference {d.Prefill}");
            Assert.True(d.Steps <= 0.1 * d.Largest, $"{a.Config.ModelType}: step difference {d.Steps} exceeds 10% of {d.Largest}");
            Assert.True(d.SameArgMax >= 190, $"{a.Config.ModelType}: greedy token differs in {201 - d.SameArgMax} of 201 choices");
        }

        // The fine model keeps float32 keys and values whatever the option.
        ReferenceCase fine = Fixtures.Case("forward/fine_all_codebooks");
        int[] codes = TinyBark.Ints(fine.Input("input_ids"));
        int frames = codes.Length / exact.FineAcoustics.Config.NCodesTotal;
        float[] want = new float[frames * exact.FineAcoustics.Config.OutputVocabSize], got = new float[want.Length];
        exact.FineAcoustics.Forward(2, codes, 1, exact.FineAcoustics.CreateWorkspace(), want);
        reduced.FineAcoustics.Forward(2, codes, 1, reduced.FineAcoustics.CreateWorkspace(), got);
        Assert.Equal(want, got);
    }

    /// <summary>64-wide heads (the real width), so the vector attention paths read the bfloat16 cache.</summary>
    [Fact]
    public void Bfloat16_cache_stays_close_to_float32_at_the_real_head_width()
    {
        var config = new SemanticConfig { HiddenSize = 128, NumHeads = 2, NumLayers = 2, InputVocabSize = 129_600, OutputVocabSize = 10_048, BlockSize = 256, Bias = false };
        BarkCausalModel exact = BarkCausalModel.CreateRandom(config, seed: 5), reduced = BarkCausalModel.CreateRandom(config, seed: 5);
        reduced.KvCacheType = KvCacheType.BFloat16;
        int[] prompt = Enumerable.Range(0, 150).Select(i => 10_048 + (i * 7919) % 119_547).ToArray();
        Difference d = Decode(exact, reduced, prompt, steps: 40);
        output.WriteLine($"bf16 KV cache, 64-wide heads: logits max abs difference {d.Prefill:g3} after a 150-position prefill, {d.Steps:g3} over 40 steps (max |logit| {d.Largest:g3})");
        Assert.True(Math.Max(d.Prefill, d.Steps) <= 0.01 * d.Largest, $"{d}");
        Assert.Equal(41, d.SameArgMax);
    }

    private readonly record struct Difference(double Prefill, double Steps, double Largest, int SameArgMax);

    /// <summary>
    /// Prefills both models with <paramref name="ids"/>, then runs <paramref name="steps"/> cached steps feeding both the
    /// exact model's argmax token; the largest logit differences of the prefill and of the steps.
    /// </summary>
    private static Difference Decode(BarkCausalModel exact, BarkCausalModel reduced, int[] ids, int steps)
    {
        int vocab = exact.Config.OutputVocabSize;
        KvCache exactCache = exact.CreateCache(1), reducedCache = reduced.CreateCache(1);
        ModelWorkspace exactWs = exact.CreateWorkspace(), reducedWs = reduced.CreateWorkspace();
        float[] want = new float[ids.Length * vocab], got = new float[want.Length];
        double prefill = 0, step = 0, largest = 0;
        int sameArgMax = 0;
        for (int s = 0; s <= steps; s++)
        {
            Span<float> w = want.AsSpan(0, ids.Length * vocab), g = got.AsSpan(0, ids.Length * vocab);
            exact.Forward(ids, 1, exactCache, exactWs, w);
            reduced.Forward(ids, 1, reducedCache, reducedWs, g);
            for (int i = 0; i < w.Length; i++)
            {
                double e = Math.Abs(w[i] - g[i]);
                if (s == 0) prefill = Math.Max(prefill, e);
                else step = Math.Max(step, e);
                largest = Math.Max(largest, Math.Abs(w[i]));
            }
            int next = LogitsProcessing.ArgMax(w[^vocab..]);
            if (next == LogitsProcessing.ArgMax(g[^vocab..])) sameArgMax++;
            ids = [next];
        }
        return new Difference(prefill, step, largest, sameArgMax);
    }
}
