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
/// <para>
/// Stored packed for the kernels: output rows are grouped in panels of <see cref="PanelWidth"/>; each panel holds
/// its <c>Cols × 32</c> elements input-major (<c>panel[k · 32 + j] = W[32p + j, k]</c>), the last panel zero-padded.
/// A decode step then streams every panel contiguously and a prefill multiplies 12 activation rows by one panel
/// with the whole tile in registers.
/// </para>
/// </summary>
public sealed class WeightMatrix
{
    /// <summary>Output rows per packed panel.</summary>
    public const int PanelWidth = 32;

    private WeightMatrix(float[] packed, int rows, int cols, float[]? bias)
    {
        Packed = packed;
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

    /// <summary>Number of panels.</summary>
    public int Panels => (Rows + PanelWidth - 1) / PanelWidth;

    /// <summary>Panel-packed float32 elements (see the class remarks).</summary>
    internal float[] Packed { get; }

    /// <summary>Optional bias, one per row.</summary>
    internal float[]? Bias { get; }

    /// <summary>Packs row-major float32 <c>[rows, cols]</c> data (the source is not kept).</summary>
    public static WeightMatrix FromFloat32(ReadOnlySpan<float> data, int rows, int cols, float[]? bias = null)
    {
        if (data.Length != (long)rows * cols)
            throw new ArgumentException($"data has {data.Length} elements, expected {rows}×{cols}.", nameof(data));
        if (bias is not null && bias.Length != rows)
            throw new ArgumentException($"bias has {bias.Length} elements, expected {rows}.", nameof(bias));
        int panels = (rows + PanelWidth - 1) / PanelWidth;
        var packed = new float[(long)panels * cols * PanelWidth];
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<float> row = data.Slice(r * cols, cols);
            int p = r / PanelWidth, j = r % PanelWidth;
            Span<float> panel = packed.AsSpan(p * cols * PanelWidth, cols * PanelWidth);
            for (int k = 0; k < cols; k++) panel[k * PanelWidth + j] = row[k];
        }
        return new WeightMatrix(packed, rows, cols, bias);
    }

    /// <summary>Copies row <paramref name="r"/> (one output feature's weights) into <paramref name="destination"/>.</summary>
    public void CopyRow(int r, Span<float> destination)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)r, (uint)Rows, nameof(r));
        ReadOnlySpan<float> panel = Packed.AsSpan((r / PanelWidth) * Cols * PanelWidth, Cols * PanelWidth);
        for (int k = 0; k < Cols; k++) destination[k] = panel[k * PanelWidth + r % PanelWidth];
    }
}
