using BarkSharp.Tensors;

namespace BarkSharp.Tests.Tensors;

public class CacheSizesTests
{
    [Theory]
    [InlineData("32K", 32 << 10)]
    [InlineData("1024K", 1 << 20)]
    [InlineData("2M", 2 << 20)]
    [InlineData("49152", 49152)]
    [InlineData("", 0)]
    [InlineData("lots", 0)]
    [InlineData("-4K", 0)]
    public void Sysfs_sizes_parse_to_bytes_and_anything_else_to_zero(string text, int expected) =>
        Assert.Equal(expected, CacheSizes.ParseSize(text));

    /// <summary>Whatever the host reports (or not), the blocking gets sizes in a sane range.</summary>
    [Fact]
    public void The_sizes_the_blocking_uses_are_plausible()
    {
        Assert.InRange(CacheSizes.L1Data, 8 << 10, 4 << 20);
        Assert.InRange(CacheSizes.L2, 128 << 10, 64 << 20);
        if (File.Exists("/sys/devices/system/cpu/cpu0/cache/index0/size") && File.ReadAllText("/sys/devices/system/cpu/cpu0/cache/index0/type").Trim() == "Data")
            Assert.Equal(CacheSizes.ParseSize(File.ReadAllText("/sys/devices/system/cpu/cpu0/cache/index0/size").Trim()), CacheSizes.L1Data);
    }
}
