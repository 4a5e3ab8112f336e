namespace BarkSharp.Generation;

/// <summary>The stages of a Bark generation.</summary>
public enum BarkStage
{
    /// <summary>Text → semantic tokens.</summary>
    Semantic,
    /// <summary>Semantic → two coarse codebooks.</summary>
    Coarse,
    /// <summary>Coarse → eight codebooks.</summary>
    Fine,
    /// <summary>Codes → waveform.</summary>
    Codec,
}

/// <summary>Progress of a long-running generation.</summary>
/// <param name="Stage">The running stage.</param>
/// <param name="Step">Steps done in this stage.</param>
/// <param name="Total">Steps this stage will take at most.</param>
/// <param name="TokensPerSecond">Tokens produced per second in this stage so far.</param>
public readonly record struct BarkProgress(BarkStage Stage, int Step, int Total, double TokensPerSecond);
