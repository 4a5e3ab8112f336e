using System.Runtime.CompilerServices;

namespace BarkSharp.Tensors;

/// <summary>
/// Exponential linear unit, <c>elu(x) = x</c> for <c>x &gt; 0</c> and <c>α·(eˣ − 1)</c> otherwise (PyTorch's
/// <c>nn.ELU</c>, α = 1 by default), with <see cref="Exp"/>'s <c>eˣ</c> at every vector width. NaN stays NaN. Input and
/// output may be the same memory (in-place) but must not otherwise overlap.
/// </summary>
internal static class Elu
{
    /// <summary>Writes <c>elu(x)</c> to <paramref name="y"/> (same length as <paramref name="x"/>).</summary>
    public static void Apply(ReadOnlySpan<float> x, Span<float> y, float alpha = 1f)
    {
        if (y.Length < x.Length) throw new ArgumentException($"y has {y.Length} elements, expected {x.Length}.", nameof(y));
        Simd.Map(new EluMap(alpha), x, y);
    }

    /// <summary>In-place <see cref="Apply(ReadOnlySpan{float}, Span{float}, float)"/>.</summary>
    public static void ApplyInPlace(Span<float> x, float alpha = 1f) => Apply(x, x, alpha);

    /// <summary><c>elu(x)</c> lane-wise (what <see cref="Apply"/> computes per element; kernels fuse it into their stores).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static TVec Vector<TSimd, TVec>(TVec x, float alpha)
        where TSimd : struct, ISimd<TVec>
        where TVec : struct
    {
        // eˣ of the lanes that keep it (x ≤ 0, −0 and NaN included) by the non-positive exponential: its bits are the
        // general one's for those inputs, without the upper clamp, the infinity and the two-factor scaling, and without
        // .NET's IEEE min (seven instructions on x86) that clamped x to 0 before. Lanes with x > 0 compute a value that
        // the select drops (from 88.3 on a meaningless one; vector arithmetic does not trap).
        TVec e = Exp.NonPositive<TSimd, TVec>(x);
        TVec negative = TSimd.Multiply(TSimd.Broadcast(alpha), TSimd.Subtract(e, TSimd.Broadcast(1f)));
        return TSimd.Select(TSimd.GreaterThan(x, TSimd.Zero), x, negative);
    }

    private readonly struct EluMap(float alpha) : IVectorMap
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TVec Apply<TSimd, TVec>(TVec x)
            where TSimd : struct, ISimd<TVec>
            where TVec : struct => Vector<TSimd, TVec>(x, alpha);
    }
}
