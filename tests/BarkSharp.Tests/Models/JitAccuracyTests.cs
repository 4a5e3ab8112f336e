using BarkSharp.Configuration;
using BarkSharp.Generation;
using BarkSharp.Models;
using BarkSharp.Tensors;
using BarkSharp.Tensors.Jit;
using BarkSharp.Tests.Tensors;
using Xunit.Abstractions;

namespace BarkSharp.Tests.Models;

/// <summary>
/// bf16 weights with the generated <c>vdpbf16ps</c> kernel (activations rounded to bf16 too) against the managed bf16
/// kernels (bf16 weights, f32 activations), each against Transformers: the README's accuracy rows for bf16.
/// </summary>
[Collection(nameof(JitSwitchCollection))]
public class JitAccuracyTests(ITestOutputHelper output)
{
    [IsaFact(JitIsa.Avx512 | JitIsa.Avx512Bf16)]
    public void Bf16_arithmetic_stays_close_to_transformers()
    {
        bool was = JitKernels.Enabled;
        try
        {
            foreach (bool jit in new[] { true, false })
                foreach (KvCacheType cache in new[] { KvCacheType.Auto, KvCacheType.Float32 })
                {
                    JitKernels.Enabled = jit;
                    Assert.Equal(jit ? JitKernelKind.Bf16Avx512 : JitKernelKind.None, JitKernels.KindFor(WeightType.BFloat16));
                    (double maxErr, double maxRef, int agree, int total, KvCacheType used) = ReducedPrecisionAccuracyTests.Measure(WeightType.BFloat16, cache);
                    output.WriteLine($"bf16 weights, {(jit ? "vdpbf16ps (bf16 activations)" : "managed (f32 activations)")}, {used} KV cache: " +
                                     $"semantic logits max abs err {maxErr:g3} (max |logit| {maxRef:g3}); greedy semantic tokens agreeing before the first difference: {agree}/{total}");
                    Assert.True(maxErr <= 0.02 * maxRef, $"logit error {maxErr} exceeds 2 % of {maxRef}");
                }
        }
        finally
        {
            JitKernels.Enabled = was;
        }
    }
    /// <summary>
    /// Attention in bf16 arithmetic (<see cref="Attention.ForwardBf16"/>) needs heads a multiple of 32 wide, which the
    /// fixture's tiny models do not have: on random models with bark-small's 64-wide heads and bf16 weights, the
    /// logits with bf16 attention against float32 attention over the same bfloat16 cache (the rest identical), and
    /// against float32 weights (what bf16 weights move them by in all), for a causal prefill and cached steps and for
    /// the fine model's non-causal 256-frame pass. Printed; the README quotes them.
    /// </summary>
    [IsaFact(JitIsa.Avx512 | JitIsa.Avx512Bf16)]
    public void Bf16_attention_moves_the_logits_less_than_bf16_weights_do()
    {
        bool was = JitKernels.Bf16Attention;
        try
        {
            var semantic = new SemanticConfig { HiddenSize = 128, NumHeads = 2, NumLayers = 2, InputVocabSize = 129_600, OutputVocabSize = 10_048, BlockSize = 512, Bias = false };
            BarkCausalModel f32 = BarkCausalModel.CreateRandom(semantic, seed: 5), bf16 = BarkCausalModel.CreateRandom(semantic, seed: 5, WeightType.BFloat16);
            Assert.Equal(KvCacheType.BFloat16, bf16.CreateCache(1).Type);
            int[] prompt = Enumerable.Range(0, 300).Select(i => 10_048 + (i * 7919) % 119_547).ToArray();
            (float[] reference, int[] tokens) = Decode(f32, prompt, 30, null);
            JitKernels.Bf16Attention = false;
            (float[] floatAttention, _) = Decode(bf16, prompt, 30, tokens);
            JitKernels.Bf16Attention = true;
            (float[] bf16Attention, _) = Decode(bf16, prompt, 30, tokens);
            (double attention, double largest, int same) = Compare(floatAttention, bf16Attention, semantic.OutputVocabSize);
            (double weightsBefore, _, int sameBefore) = Compare(reference, floatAttention, semantic.OutputVocabSize);
            (double weightsAfter, _, int sameAfter) = Compare(reference, bf16Attention, semantic.OutputVocabSize);
            int rows = reference.Length / semantic.OutputVocabSize;
            output.WriteLine($"causal, 300-position prefill + 30 steps: bf16 attention vs f32 attention (bf16 weights, bf16 cache): logits max abs diff {attention:g3} " +
                             $"(max |logit| {largest:g3}), argmax equal at {same}/{rows} positions; vs f32 weights: {weightsBefore:g3} ({sameBefore}/{rows}) before, {weightsAfter:g3} ({sameAfter}/{rows}) with bf16 attention");
            Assert.True(attention <= 0.02 * largest, $"bf16 attention moved the logits by {attention} of {largest}");
            Assert.True(attention <= weightsBefore, $"bf16 attention ({attention}) moved the logits more than bf16 weights did ({weightsBefore})");

            var fineConfig = new FineAcousticsConfig { HiddenSize = 128, NumHeads = 2, NumLayers = 2, BlockSize = 1024, Bias = false };
            BarkFineModel fineF32 = BarkFineModel.CreateRandom(fineConfig, seed: 6), fineBf16 = BarkFineModel.CreateRandom(fineConfig, seed: 6, WeightType.BFloat16);
            var rng = new Random(3);
            int frames = 256, codes = fineConfig.NCodesTotal;
            int[] ids = [.. Enumerable.Range(0, frames * codes).Select(_ => rng.Next(1024))];
            float[] Fine(BarkFineModel m)
            {
                var logits = new float[frames * fineConfig.OutputVocabSize];
                m.Forward(2, ids, 1, m.CreateWorkspace(), logits);
                return logits;
            }
            float[] fineReference = Fine(fineF32);
            JitKernels.Bf16Attention = false;
            float[] fineFloat = Fine(fineBf16);
            JitKernels.Bf16Attention = true;
            float[] fineBf = Fine(fineBf16);
            (double fineAttention, double fineLargest, int fineSame) = Compare(fineFloat, fineBf, fineConfig.OutputVocabSize);
            (double fineWeights, _, int fineWeightsSame) = Compare(fineReference, fineFloat, fineConfig.OutputVocabSize);
            output.WriteLine($"fine, 256 frames: bf16 attention vs f32 attention: logits max abs diff {fineAttention:g3} (max |logit| {fineLargest:g3}), argmax equal {fineSame}/{frames}; " +
                             $"bf16 weights vs f32 weights: {fineWeights:g3} ({fineWeightsSame}/{frames})");
            Assert.True(fineAttention <= 0.02 * fineLargest, $"fine: bf16 attention moved the logits by {fineAttention} of {fineLargest}");
        }
        finally
        {
            JitKernels.Bf16Attention = was;
        }
    }

    /// <summary>A prefill of <paramref name="ids"/> then cached steps fed <paramref name="feed"/> (or the model's own argmax); every position's logits and the tokens fed.</summary>
    private static (float[] Logits, int[] Tokens) Decode(BarkCausalModel m, int[] ids, int steps, int[]? feed)
    {
        int vocab = m.Config.OutputVocabSize;
        KvCache cache = m.CreateCache(1);
        ModelWorkspace ws = m.CreateWorkspace();
        var all = new List<float>();
        var tokens = new int[steps + 1];
        for (int s = 0; s <= steps; s++)
        {
            var logits = new float[ids.Length * vocab];
            m.Forward(ids, 1, cache, ws, logits);
            all.AddRange(logits);
            tokens[s] = feed?[s] ?? LogitsProcessing.ArgMax(logits.AsSpan(logits.Length - vocab));
            ids = [tokens[s]];
        }
        return ([.. all], tokens);
    }

    /// <summary>Largest absolute difference, largest |logit| of <paramref name="a"/>, and rows whose argmax agrees.</summary>
    private static (double MaxDiff, double Largest, int SameArgMax) Compare(float[] a, float[] b, int vocab)
    {
        double diff = 0, largest = 0;
        int same = 0;
        for (int i = 0; i < a.Length; i++)
        {
            diff = Math.Max(diff, Math.Abs(a[i] - b[i]));
            largest = Math.Max(largest, Math.Abs(a[i]));
        }
        for (int r = 0; r < a.Length / vocab; r++)
            if (LogitsProcessing.ArgMax(a.AsSpan(r * vocab, vocab)) == LogitsProcessing.ArgMax(b.AsSpan(r * vocab, vocab))) same++;
        return (diff, largest, same);
    }
}
