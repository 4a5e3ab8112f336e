using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace BarkSharp.Tensors;

/// <summary>
/// Vectorized <c>e^x</c> for float32, within 3 ulp: <c>x = n·ln2 + r</c> with |r| ≤ ln2/2 (ln2 split in a high and a
/// low part), a degree-6 polynomial for <c>e^r</c>, and <c>2^n</c> built in the exponent bits. Inputs below −87.3
/// give 0 (as the float result underflows), above 88.7 give +∞, NaN stays NaN.
/// </summary>
public static class Exp
{
    private const float Log2E = 1.44269504088896341f;
    private const float Ln2Hi = 0.693145751953125f;
    private const float Ln2Lo = 1.42860682030941723212e-6f;

    /// <summary><c>y[i] = e^x[i]</c>; <paramref name="x"/> and <paramref name="y"/> may be the same span.</summary>
    public static void Forward(ReadOnlySpan<float> x, Span<float> y)
    {
        if (y.Length < x.Length) throw new ArgumentException("y shorter than x.", nameof(y));
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i + 16 <= x.Length; i += 16)
                Vector(Vector512.Create(x.Slice(i, 16))).CopyTo(y.Slice(i, 16));
        for (; i < x.Length; i++) y[i] = MathF.Exp(x[i]);
    }

    /// <summary><c>e^x</c> for 16 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Vector(Vector512<float> x)
    {
        Vector512<float> clamped = Vector512.Clamp(x, Vector512.Create(-87.33654f), Vector512.Create(88.72283f));
        Vector512<float> n = Vector512.Round(clamped * Log2E);
        Vector512<float> r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2Hi), clamped);
        r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2Lo), r);
        // e^r ≈ 1 + r + r²/2! + … + r⁶/6! (Horner)
        Vector512<float> p = Vector512.Create(1f / 720f);
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f / 120f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f / 24f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f / 6f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(0.5f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512<float>.One);
        p = Vector512.FusedMultiplyAdd(p, r, Vector512<float>.One);
        // 2^n: n in [−126, 128]; split in two factors so n = 128 and n = −126 stay representable.
        Vector512<int> ni = Vector512.ConvertToInt32(n);
        Vector512<int> half = Vector512.ShiftRightArithmetic(ni, 1);
        Vector512<float> s1 = Vector512.ShiftLeft(half + Vector512.Create(127), 23).AsSingle();
        Vector512<float> s2 = Vector512.ShiftLeft(ni - half + Vector512.Create(127), 23).AsSingle();
        Vector512<float> result = p * s1 * s2;
        result = Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512.Create(-87.33654f)), Vector512<float>.Zero, result);
        result = Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512.Create(88.72283f)), Vector512.Create(float.PositiveInfinity), result);
        return Vector512.ConditionalSelect(Vector512.Equals(x, x), result, x);
    }
}
