namespace BarkSharp.Models;

/// <summary>Random weights for tests and benchmarks that need real shapes without a file.</summary>
internal static class RandomWeights
{
    /// <summary>Uniform values with the given mean and standard deviation (half-width std·√3): fast for millions of weights.</summary>
    public static float[] Uniform(Random rng, int count, float mean, float std)
    {
        var data = new float[count];
        float halfWidth = std * 1.7320508f;
        for (int i = 0; i < count; i++) data[i] = mean + halfWidth * (2f * rng.NextSingle() - 1f);
        return data;
    }
}
