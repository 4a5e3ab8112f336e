namespace BarkSharp.Generation;

/// <summary>
/// Instrumentation for benchmarks, kept out of the generators' signatures: a progress object a generator is given that
/// also implements this interface hears each model call (plain <see cref="IProgress{T}"/> objects are not asked).
/// The coarse generator reports its calls; the others report only progress.
/// </summary>
internal interface IGenerationListener
{
    /// <summary>Coarse tokens to generate per sequence instead of the count the semantic tokens call for (null: that count); fixes a benchmark's workload.</summary>
    int? CoarseLength { get; }

    /// <summary>A prefill call over <paramref name="positions"/> positions per sequence took <paramref name="seconds"/>.</summary>
    void Prefilled(int positions, double seconds);

    /// <summary>A decode step at cache position <paramref name="position"/> took <paramref name="seconds"/>.</summary>
    void Decoded(int position, double seconds);
}
