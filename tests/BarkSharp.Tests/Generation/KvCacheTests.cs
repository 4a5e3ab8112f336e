using BarkSharp.Generation;
using BarkSharp.Tensors;

namespace BarkSharp.Tests.Generation;

public class KvCacheTests
{
    [Theory]
    [InlineData(1, 16)]
    [InlineData(16, 16)]
    [InlineData(17, 48)]
    [InlineData(1000, 1008)]
    [InlineData(1024, 1040)]
    [InlineData(1025, 1040)]
    public void The_stride_is_the_smallest_odd_multiple_of_16_that_holds_the_capacity(int capacity, int stride)
    {
        var cache = new KvCache(1, 2, 3, 8, capacity);
        Assert.Equal(stride, cache.Stride);
        Assert.Equal(3 * 8 * stride, cache.Keys<float>(0, 1).Length);
        Assert.Equal(3 * 8 * stride, cache.Values<float>(0, 1).Length);
        var half = new KvCache(1, 2, 3, 8, capacity, KvCacheType.BFloat16);
        Assert.Equal(stride, half.Stride);
        Assert.Equal(3 * 8 * stride, half.Keys<ushort>(0, 1).Length);
    }

    [Theory]
    [InlineData(KvCacheType.Float32)]
    [InlineData(KvCacheType.BFloat16)]
    public unsafe void Every_sequence_and_layer_starts_on_a_cache_line_and_starts_zeroed(KvCacheType type)
    {
        // Several caches, so that a lucky 64-byte-aligned array cannot pass for all of them by chance.
        for (int attempt = 0; attempt < 8; attempt++)
        {
            var cache = new KvCache(batch: 2, layers: 3, heads: 2, headDim: 8, capacity: 20 + attempt, type);
            for (int s = 0; s < 2; s++)
                for (int l = 0; l < 3; l++)
                {
                    if (type == KvCacheType.Float32)
                    {
                        fixed (float* k = cache.Keys<float>(s, l), v = cache.Values<float>(s, l))
                        {
                            Assert.Equal(0, (long)k % 64);
                            Assert.Equal(0, (long)v % 64);
                        }
                        Assert.True(cache.Keys<float>(s, l).IndexOfAnyExcept(0f) < 0);
                    }
                    else
                    {
                        fixed (ushort* k = cache.Keys<ushort>(s, l), v = cache.Values<ushort>(s, l))
                        {
                            Assert.Equal(0, (long)k % 64);
                            Assert.Equal(0, (long)v % 64);
                        }
                        Assert.True(cache.Values<ushort>(s, l).IndexOfAnyExcept((ushort)0) < 0);
                    }
                }
        }
    }

    [Theory]
    [InlineData(KvCacheType.Float32, 3, 5)]
    [InlineData(KvCacheType.BFloat16, 3, 5)]
    [InlineData(KvCacheType.BFloat16, 2, 72)]   // rows long enough for the vectorized rounding, and its scalar rest
    public void Written_keys_and_values_come_back_as_stored(KvCacheType type, int heads, int hd)
    {
        int width = heads * hd, rowStride = 3 * width;
        var cache = new KvCache(batch: 2, layers: 2, heads, hd, capacity: 21, type);
        Assert.Equal(type, cache.Type);
        Assert.Equal(48, cache.Stride);
        Assert.Equal(2L * 2 * 2 * heads * 48 * hd * (type == KvCacheType.Float32 ? 4 : 2), cache.StorageBytes);

        // Rows shaped like the fused projection (q | k | v), written in two pieces as a prefill and a step would.
        var rng = new Random(1);
        float[] rows = [.. Enumerable.Range(0, 19 * rowStride).Select(_ => (rng.NextSingle() - 0.5f) * 100)];
        void Write(int position, int count)
        {
            ReadOnlySpan<float> r = rows.AsSpan(position * rowStride, count * rowStride);
            if (type == KvCacheType.Float32) cache.Write<float, KvFloat32>(1, 1, position, r[width..], r[(2 * width)..], rowStride, count);
            else cache.Write<ushort, KvBFloat16>(1, 1, position, r[width..], r[(2 * width)..], rowStride, count);
        }
        Write(0, 18);
        Write(18, 1);
        cache.Length = 19;

        float Stored(float x) => type == KvCacheType.Float32 ? x : KvBFloat16.ToSingle(WeightMatrix.ToBFloat16(x));
        float[] keys = cache.ExportKeys(1, 1), values = cache.ExportValues(1, 1);
        for (int h = 0; h < heads; h++)
            for (int t = 0; t < 19; t++)
                for (int d = 0; d < hd; d++)
                {
                    Assert.Equal(Stored(rows[t * rowStride + width + h * hd + d]), keys[(h * 19 + t) * hd + d]);
                    Assert.Equal(Stored(rows[t * rowStride + 2 * width + h * hd + d]), values[(h * 19 + t) * hd + d]);
                }
        Assert.All(cache.ExportKeys(0, 1), v => Assert.Equal(0f, v));     // other sequences and layers untouched
        Assert.All(cache.ExportValues(1, 0), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void Auto_follows_the_weights()
    {
        Assert.Equal(KvCacheType.Float32, KvCache.Resolve(KvCacheType.Auto, WeightType.Float32));
        foreach (WeightType reduced in new[] { WeightType.BFloat16, WeightType.Float16, WeightType.Int8 })
            Assert.Equal(KvCacheType.BFloat16, KvCache.Resolve(KvCacheType.Auto, reduced));
        Assert.Equal(KvCacheType.Float32, KvCache.Resolve(KvCacheType.Float32, WeightType.Int8));
        Assert.Equal(KvCacheType.BFloat16, KvCache.Resolve(KvCacheType.BFloat16, WeightType.Float32));
        Assert.Equal(KvCacheType.Float32, new KvCache(1, 1, 1, 1, 1, KvCacheType.Auto).Type);
        Assert.Throws<ArgumentOutOfRangeException>(() => KvCache.Resolve((KvCacheType)9, WeightType.Float32));
    }
}
