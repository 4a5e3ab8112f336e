namespace BarkSharp.Generation;

/// <summary>Where a generator spent its time: prefill calls (their lengths) and decode steps (their positions).</summary>
internal sealed class GenerationStatistics
{
    public List<int> Prefills { get; } = [];

    public double PrefillSeconds { get; set; }

    public List<int> DecodePositions { get; } = [];

    public double DecodeSeconds { get; set; }
}
