using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using BarkSharp.Tensors;

namespace BarkSharp.Tests.Tensors;

public class CacheLineArrayTests
{
    [Fact]
    public unsafe void The_origin_starts_a_cache_line_and_the_length_fits_after_it()
    {
        for (int length = 0; length < 200; length += 7)
        {
            float[] floats = CacheLineArray.Allocate<float>(length, out int origin);
            Assert.InRange(origin, 0, 15);
            Assert.True(floats.Length >= origin + length);
            fixed (float* p = floats) Assert.Equal(0, (long)(p + origin) % 64);
            Assert.True(floats.AsSpan().IndexOfAnyExcept(0f) < 0);

            ushort[] halves = CacheLineArray.Allocate<ushort>(length, out origin);
            Assert.InRange(origin, 0, 31);
            Assert.True(halves.Length >= origin + length);
            fixed (ushort* p = halves) Assert.Equal(0, (long)(p + origin) % 64);
        }
    }

    [Fact]
    public unsafe void The_array_stays_where_it_is_across_compacting_collections()
    {
        float[] array = CacheLineArray.Allocate<float>(1000, out int origin);
        long before = (long)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));
        for (int i = 0; i < 3; i++)
        {
            _ = new byte[100_000];
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        }
        Assert.Equal(before, (long)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array)));
        Assert.Equal(0, (before + 4L * origin) % 64);
    }

    [Fact]
    public void A_negative_length_is_refused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => CacheLineArray.Allocate<float>(-1, out _));
}
