using BarkSharp.Generation;
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
}
