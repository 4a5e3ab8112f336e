namespace BarkSharp.Tensors;

/// <summary>How the elements of a <see cref="WeightMatrix"/> are stored.</summary>
public enum WeightType
{
    /// <summary>The checkpoint's own dtype.</summary>
    Auto,
    /// <summary>32-bit float.</summary>
    Float32,
}

/// <summary>
/// A linear layer's weight, <c>[Rows = out features, Cols = in features]</c> as PyTorch stores <c>nn.Linear.weight</c>,
/// optionally with a bias of length <see cref="Rows"/>. Multiplied as <c>y = x · Wᵀ + b</c> by <see cref="MatMul"/>.
/// </summary>
public sealed class WeightMatrix
{
    private WeightMatrix(float[] data, int rows, int cols, float[]? bias)
    {
        if (data.Length != (long)rows * cols)
            throw new ArgumentException($"data has {data.Length} elements, expected {rows}×{cols}.", nameof(data));
        if (bias is not null && bias.Length != rows)
            throw new ArgumentException($"bias has {bias.Length} elements, expected {rows}.", nameof(bias));
        Data = data;
        Rows = rows;
        Cols = cols;
        Bias = bias;
    }

    /// <summary>Output features.</summary>
    public int Rows { get; }

    /// <summary>Input features.</summary>
    public int Cols { get; }

    /// <summary>Storage type of the elements.</summary>
    public WeightType Type => WeightType.Float32;

    /// <summary>Row-major float32 elements.</summary>
    internal float[] Data { get; }

    /// <summary>Optional bias, one per row.</summary>
    internal float[]? Bias { get; }

    /// <summary>Wraps row-major float32 data (not copied).</summary>
    public static WeightMatrix FromFloat32(float[] data, int rows, int cols, float[]? bias = null) => new(data, rows, cols, bias);

    /// <summary>One row of the weight (read-only view).</summary>
    public ReadOnlySpan<float> Row(int r) => Data.AsSpan(r * Cols, Cols);
}
