using BarkSharp.Configuration;
using BarkSharp.Generation;
using BarkSharp.Models;
using BarkSharp.Tensors;

namespace BarkSharp.Tests.Models;

/// <summary>One forward of each sub-model at the real suno/bark-small dimensions, with random weights (no file).</summary>
public class RealShapeTests
{
    private static readonly BarkConfig Small = BarkConfig.BarkSmall;

    [Fact]
    public void Semantic_prefill_and_step_at_bark_small_shape()
    {
        BarkCausalModel model = BarkCausalModel.CreateRandom(Small.SemanticConfig, seed: 1);
        Assert.Equal(768, model.Config.HiddenSize);
        int h = model.Config.HiddenSize;
        int[] text = Enumerable.Range(0, 256).Select(i => 10_048 + (i * 7919) % 119_547).ToArray();
        int[] history = Enumerable.Repeat(10_000, 256).ToArray();
        var embeds = new float[257 * h];
        model.EmbedMergedContext(text, history, [129_599], 1, embeds);
        KvCache cache = model.CreateCache(1);
        ModelWorkspace ws = model.CreateWorkspace();
        var logits = new float[10_001];
        model.ForwardEmbeddings(embeds, 1, 257, cache, ws, logits, lastPositionOnly: true, vocabCount: 10_001);
        Assert.All(logits, v => Assert.True(float.IsFinite(v)));
        Assert.Equal(257, cache.Length);

        int next = Array.IndexOf(logits, logits.Max());
        var step = new float[10_001];
        model.Forward([next], 1, cache, ws, step, vocabCount: 10_001);
        Assert.Equal(258, cache.Length);
        Assert.All(step, v => Assert.True(float.IsFinite(v)));
        Assert.NotEqual(logits, step);
    }

    [Fact]
    public void Coarse_forward_at_bark_small_shape()
    {
        BarkCausalModel model = BarkCausalModel.CreateRandom(Small.CoarseAcousticsConfig, seed: 2);
        int[] ids = Enumerable.Range(0, 40).Select(i => 10_000 + (i * 37) % 2048).ToArray();
        var logits = new float[1024];
        model.Forward(ids, 1, model.CreateCache(1, 64), model.CreateWorkspace(), logits, lastPositionOnly: true, vocabStart: 10_000, vocabCount: 1024);
        Assert.All(logits, v => Assert.True(float.IsFinite(v)));
        Assert.True(logits.Max() > logits.Min());
    }

    [Fact]
    public void Fine_forward_at_bark_small_shape()
    {
        BarkFineModel model = BarkFineModel.CreateRandom(Small.FineAcousticsConfig, seed: 3);
        const int frames = 64;
        int[] ids = Enumerable.Range(0, frames * 8).Select(i => i % 8 < 2 ? (i * 13) % 1024 : 1024).ToArray();
        var logits = new float[frames * 1024];
        model.Forward(2, ids, 1, model.CreateWorkspace(), logits, vocabCount: 1024);
        Assert.All(logits, v => Assert.True(float.IsFinite(v)));
    }
}

/// <summary>
/// A decode step reuses the cache and workspace: it allocates nothing (single-threaded; thread dispatch itself allocates).
/// Runs alone (<see cref="Tensors.JitSwitchCollection"/>): until the JIT has replaced its first, unoptimized code, an
/// int8 step allocates 384 bytes (none with <c>DOTNET_TieredCompilation=0</c>; about a quarter of a second after the
/// warm-up when the machine is idle). Beside the other tests that replacement once took longer than the windows below
/// waited for (now six seconds), and the process-wide switches other tests flip (<see cref="BarkSharp.Tensors.Jit.JitKernels.Enabled"/>)
/// are kept away from the measurement too.
/// </summary>
[Collection(nameof(Tensors.JitSwitchCollection))]
public class DecodeAllocationTests
{
    [Theory]
    [InlineData(WeightType.Float32, KvCacheType.Auto)]
    [InlineData(WeightType.Float32, KvCacheType.BFloat16)]
    [InlineData(WeightType.BFloat16, KvCacheType.Auto)]
    [InlineData(WeightType.Int8, KvCacheType.Auto)]
    public void Cached_decode_step_allocates_nothing(WeightType type, KvCacheType kvCache)
    {
        var config = new SemanticConfig { HiddenSize = 64, NumHeads = 4, NumLayers = 2, InputVocabSize = 129_600, OutputVocabSize = 10_048, BlockSize = 512, Bias = false };
        BarkCausalModel model = BarkCausalModel.CreateRandom(config, seed: 3, type);
        model.MaxThreads = 1;
        model.KvCacheType = kvCache;
        KvCache cache = model.CreateCache(1);
        Assert.Equal(type == WeightType.Float32 && kvCache == KvCacheType.Auto ? KvCacheType.Float32 : KvCacheType.BFloat16, cache.Type);
        ModelWorkspace ws = model.CreateWorkspace();
        var logits = new float[10_001];
        model.Forward(Enumerable.Range(0, 20).ToArray(), 1, cache, ws, logits, lastPositionOnly: true, vocabCount: 10_001);
        int[] next = [5];
        for (int i = 0; i < 200; i++) model.Forward(next, 1, cache, ws, logits, lastPositionOnly: true, vocabCount: 10_001);   // warm-up: let the JIT tier up
        // The JIT promotes hot methods in the background and may allocate while doing so: look for a window of ten
        // steps after it has settled.
        long allocated = -1;
        for (int attempt = 0; attempt < 30 && allocated != 0; attempt++)
        {
            if (attempt > 0) Thread.Sleep(200);
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 10; i++) model.Forward(next, 1, cache, ws, logits, lastPositionOnly: true, vocabCount: 10_001);
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        }
        Assert.Equal(0, allocated);
    }
}
