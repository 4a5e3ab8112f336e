namespace BarkSharp.Generation;

/// <summary>
/// A small, fast, seedable random source (xoshiro256** seeded through SplitMix64) whose sequence is fixed by this
/// code alone — not by the .NET version or the thread count. Each sequence of a batch gets its own stream
/// (<see cref="ForSequence"/>), so a sample's audio does not depend on what else is in its batch.
/// </summary>
internal sealed class BarkRandom
{
    private ulong _s0, _s1, _s2, _s3;

    /// <summary>Creates a stream from a seed.</summary>
    public BarkRandom(ulong seed)
    {
        ulong x = seed;
        _s0 = SplitMix(ref x);
        _s1 = SplitMix(ref x);
        _s2 = SplitMix(ref x);
        _s3 = SplitMix(ref x);
    }

    /// <summary>The stream of sequence <paramref name="index"/> of a generation seeded with <paramref name="seed"/>.</summary>
    public static BarkRandom ForSequence(ulong seed, int index) => new(StreamSeed(seed, index));

    /// <summary>The seed of stream <paramref name="index"/> of <paramref name="seed"/> (what <see cref="ForSequence"/> starts from).</summary>
    public static ulong StreamSeed(ulong seed, int index) => seed ^ (0x9E3779B97F4A7C15UL * (ulong)(index + 1));

    /// <summary>A uniformly distributed 64-bit value.</summary>
    public ulong NextUInt64()
    {
        ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>A uniformly distributed double in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    private static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
