namespace BarkSharp.IO;

/// <summary>Name, element type and shape of one tensor stored in a checkpoint.</summary>
/// <param name="Name">The state-dict key, e.g. <c>semantic.layers.0.attn.att_proj.weight</c>.</param>
/// <param name="DType">The stored element type.</param>
/// <param name="Shape">The shape, outermost dimension first.</param>
internal sealed record TensorInfo(string Name, DType DType, long[] Shape)
{
    /// <summary>Number of elements (product of <see cref="Shape"/>; 1 for a scalar).</summary>
    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (long d in Shape) n *= d;
            return n;
        }
    }

    /// <summary>Number of bytes the data occupies.</summary>
    public long ByteLength => ElementCount * DType.SizeOf();

    /// <summary>The shape as text, e.g. <c>[2304, 768]</c>.</summary>
    public string ShapeText => FormatShape(Shape);

    /// <summary>Formats a shape as <c>[a, b, c]</c>.</summary>
    public static string FormatShape(ReadOnlySpan<long> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";
}
