using BarkSharp.Generation;

namespace BarkSharp.Diagnostics;

/// <summary>
/// What <see cref="BarkBenchmark"/> hears from a generator it runs: prefill calls (their lengths) and decode steps (their
/// positions) with their times, and the coarse length it fixes. Passed as the generator's progress object.
/// </summary>
internal sealed class GenerationStatistics(int? coarseLength = null) : IProgress<BarkProgress>, IGenerationListener
{
    public int? CoarseLength { get; } = coarseLength;

    public List<int> Prefills { get; } = [];

    public double PrefillSeconds { get; private set; }

    public List<int> DecodePositions { get; } = [];

    public double DecodeSeconds { get; private set; }

    public void Prefilled(int positions, double seconds)
    {
        Prefills.Add(positions);
        PrefillSeconds += seconds;
    }

    public void Decoded(int position, double seconds)
    {
        DecodePositions.Add(position);
        DecodeSeconds += seconds;
    }

    public void Report(BarkProgress value)
    {
    }
}
