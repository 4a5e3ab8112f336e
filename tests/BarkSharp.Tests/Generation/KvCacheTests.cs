using BarkSharp.Generation;

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
        Assert.Equal(3 * 8 * stride, cache.Keys(0, 1).Length);
        Assert.Equal(3 * 8 * stride, cache.Values(0, 1).Length);
    }
}
