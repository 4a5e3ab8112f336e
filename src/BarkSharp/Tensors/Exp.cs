using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace BarkSharp.Tensors;

/// <summary>
/// Vectorized <c>e^x</c> for float32, within 3 ulp: <c>x = n·ln2 + r</c> with |r| ≤ ln2/2 (ln2 split in a high and a
/// low part), a degree-6 polynomial for <c>e^r</c>, and <c>2^n</c> built in the exponent bits. Inputs below −87.3
/// give 0 (as the float result underflows), above 88.7 give +∞, NaN stays NaN. Every element, the last ones
/// included, goes through the same lane-wise formula, so the result does not depend on the vector width.
/// </summary>
internal static class Exp
{
    private const float Log2E = 1.44269504088896341f;
    private const float Ln2Hi = 0.693145751953125f;
    private const float Ln2Lo = 1.42860682030941723212e-6f;

    /// <summary><c>y[i] = e^x[i]</c>; <paramref name="x"/> and <paramref name="y"/> may be the same span.</summary>
    public static void Forward(ReadOnlySpan<float> x, Span<float> y) => Simd.Map(default(ExpMap), x, y);

    /// <summary><c>e^x</c> lane-wise.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static TVec Vector<TSimd, TVec>(TVec x)
        where TSimd : struct, ISimd<TVec>
        where TVec : struct
    {
        TVec low = TSimd.Broadcast(-87.33654f), high = TSimd.Broadcast(88.72283f);
        // The clamp by one instruction each (.NET's IEEE max and min are seven on x86): ClampBelow as the non-positive
        // path below, then the native min, which differs from IEEE only for a NaN x (its lane the last select replaces
        // by x whatever the clamp gave) or in a zero's sign (which the nonzero bound never meets).
        TVec p = Reduced<TSimd, TVec>(TSimd.MinNative(TSimd.ClampBelow(x, low), high), out TVec n);
        // 2^n: n in [−126, 128]; split in two factors so n = 128 and n = −126 stay representable.
        TVec result = TSimd.ScaleByPow2(p, n);     // NaN lanes: meaningless until the last select puts x back
        result = TSimd.Select(TSimd.LessThan(x, low), TSimd.Zero, result);
        result = TSimd.Select(TSimd.GreaterThan(x, high), TSimd.Broadcast(float.PositiveInfinity), result);
        return TSimd.Select(TSimd.Equal(x, x), result, x);
    }

    /// <summary>
    /// The part both vector exponentials share: <paramref name="clamped"/> = <c>n · ln 2 + r</c> with <c>n</c> the nearest
    /// integer to <c>x · log₂e</c>, and <c>e^r ≈ 1 + r + r²/2! + … + r⁶/6!</c> (Horner) returned; the caller scales by <c>2^n</c>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVec Reduced<TSimd, TVec>(TVec clamped, out TVec n)
        where TSimd : struct, ISimd<TVec>
        where TVec : struct
    {
        n = TSimd.Round(TSimd.Multiply(clamped, TSimd.Broadcast(Log2E)));
        TVec r = TSimd.Fma(n, TSimd.Broadcast(-Ln2Hi), clamped);
        r = TSimd.Fma(n, TSimd.Broadcast(-Ln2Lo), r);
        TVec p = TSimd.Broadcast(1f / 720f);
        p = TSimd.Fma(p, r, TSimd.Broadcast(1f / 120f));
        p = TSimd.Fma(p, r, TSimd.Broadcast(1f / 24f));
        p = TSimd.Fma(p, r, TSimd.Broadcast(1f / 6f));
        p = TSimd.Fma(p, r, TSimd.Broadcast(0.5f));
        p = TSimd.Fma(p, r, TSimd.Broadcast(1f));
        return TSimd.Fma(p, r, TSimd.Broadcast(1f));
    }

    /// <summary>
    /// <c>e^x</c> lane-wise for <c>x ≤ 0</c>, as a softmax takes it after subtracting its maximum (and for any
    /// <c>x &lt; 88.3</c>, NaN included): the bits of <see cref="Vector{TSimd, TVec}"/> for those inputs with the steps
    /// they do not need left out — no upper clamp or infinity, and <c>2^n</c> (n in [−126, 127]) in one factor:
    /// <c>p · 2^n</c> rounds at most once either way, as both factors of the general path are normal and the first
    /// product is exact. From 88.3 on (n = 128) the result is wrong (no clamp); callers guarantee the bound.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static TVec NonPositive<TSimd, TVec>(TVec x)
        where TSimd : struct, ISimd<TVec>
        where TVec : struct
    {
        TVec low = TSimd.Broadcast(-87.33654f);
        TVec p = Reduced<TSimd, TVec>(TSimd.ClampBelow(x, low), out TVec n);
        // A NaN x gives a NaN p (the clamp keeps NaN), so NaN stays NaN without the general path's last select.
        return TSimd.Select(TSimd.LessThan(x, low), TSimd.Zero, TSimd.Multiply(p, TSimd.Pow2(n)));
    }

    private readonly struct ExpMap : IVectorMap
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TVec Apply<TSimd, TVec>(TVec x)
            where TSimd : struct, ISimd<TVec>
            where TVec : struct => Vector<TSimd, TVec>(x);
    }
}
