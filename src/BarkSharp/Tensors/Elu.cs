using System.Runtime.Intrinsics;

namespace BarkSharp.Tensors;

/// <summary>
/// Exponential linear unit, <c>elu(x) = x</c> for <c>x &gt; 0</c> and <c>α·(eˣ − 1)</c> otherwise (PyTorch's
/// <c>nn.ELU</c>, α = 1 by default). NaN stays NaN. Input and output may be the same
/// memory (in-place) but must not otherwise overlap.
/// </summary>
public static class Elu
{
    /// <summary>Writes <c>elu(x)</c> to <paramref name="y"/> (same length as <paramref name="x"/>).</summary>
    public static void Apply(ReadOnlySpan<float> x, Span<float> y, float alpha = 1f)
    {
        if (y.Length < x.Length) throw new ArgumentException($"y has {y.Length} elements, expected {x.Length}.", nameof(y));
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> a = Vector512.Create(alpha);
            for (; i + Vector512<float>.Count <= x.Length; i += Vector512<float>.Count)
            {
                Vector512<float> v = Vector512.Create(x.Slice(i, Vector512<float>.Count));
                Vector512<float> neg = a * (Vector512.Exp(Vector512.Min(v, Vector512<float>.Zero)) - Vector512<float>.One);
                Vector512.ConditionalSelect(Vector512.GreaterThan(v, Vector512<float>.Zero), v, neg).CopyTo(y.Slice(i));
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> a = Vector256.Create(alpha);
            for (; i + Vector256<float>.Count <= x.Length; i += Vector256<float>.Count)
            {
                Vector256<float> v = Vector256.Create(x.Slice(i, Vector256<float>.Count));
                Vector256<float> neg = a * (Vector256.Exp(Vector256.Min(v, Vector256<float>.Zero)) - Vector256<float>.One);
                Vector256.ConditionalSelect(Vector256.GreaterThan(v, Vector256<float>.Zero), v, neg).CopyTo(y.Slice(i));
            }
        }
        for (; i < x.Length; i++)
        {
            float v = x[i];
            y[i] = v > 0 ? v : alpha * (MathF.Exp(v) - 1f);
        }
    }

    /// <summary>In-place <see cref="Apply(ReadOnlySpan{float}, Span{float}, float)"/>.</summary>
    public static void ApplyInPlace(Span<float> x, float alpha = 1f) => Apply(x, x, alpha);
}
