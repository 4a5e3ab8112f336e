using System.Runtime.CompilerServices;

namespace BarkSharp.Tensors;

/// <summary>
/// GELU in its exact form, <c>x · Φ(x) = 0.5 · x · (1 + erf(x / √2))</c>, as PyTorch's default <c>nn.GELU()</c>
/// (not the tanh approximation). erf comes from a 28-term Chebyshev fit of erfc (relative error ≈ 1e-14 in double);
/// the float vector path keeps the first 12 terms — the rest sum to under 1e-8, below float rounding (its largest
/// error over [−10, 10], 3.8e-7 absolute, is the same with all 28) — and evaluates a vector at a time with one
/// vectorized exp, at every width (the last elements too), so the result does not depend on the vector width.
/// </summary>
internal static class Gelu
{
    private const int Chunk = 512;
    private const float InvSqrt2 = 0.70710678118654752440f;
    private const int FloatTerms = 12;

    /// <summary>Applies GELU element-wise. <paramref name="x"/> and <paramref name="y"/> may be the same span.</summary>
    public static void Forward(ReadOnlySpan<float> x, Span<float> y, int maxThreads = 1)
    {
        if (y.Length < x.Length) throw new ArgumentException("y shorter than x.", nameof(y));
        int chunks = (x.Length + Chunk - 1) / Chunk;
        int threads = Math.Clamp(Math.Min(maxThreads, x.Length / (16 * Chunk)), 1, Math.Max(1, chunks));
        if (threads == 1)
        {
            Range(x, y);
            return;
        }
        unsafe
        {
            fixed (float* px = x)
            fixed (float* py = y)
                KernelParallel.For(new Chunks(px, py, x.Length), chunks, threads);
        }
    }

    /// <summary>Chunks of <see cref="Chunk"/> elements.</summary>
    private readonly unsafe struct Chunks(float* x, float* y, int length) : IRangeJob
    {
        public void Run(int begin, int end)
        {
            int a = begin * Chunk, b = Math.Min(length, end * Chunk);
            Range(new ReadOnlySpan<float>(x + a, b - a), new Span<float>(y + a, b - a));
        }
    }

    private static void Range(ReadOnlySpan<float> x, Span<float> y) => Simd.Map(default(GeluMap), x, y);

    /// <summary>x · Φ(x) lane-wise, with erfc(|x|/√2) from the first <see cref="FloatTerms"/> Chebyshev terms and <see cref="Exp"/>.</summary>
    private readonly struct GeluMap : IVectorMap
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TVec Apply<TSimd, TVec>(TVec x)
            where TSimd : struct, ISimd<TVec>
            where TVec : struct
        {
            TVec half = TSimd.Broadcast(0.5f), two = TSimd.Broadcast(2f);
            TVec z = TSimd.Multiply(TSimd.Abs(x), TSimd.Broadcast(InvSqrt2));
            TVec t = TSimd.Divide(two, TSimd.Add(two, z));
            TVec ty = TSimd.Fma(TSimd.Broadcast(4f), t, TSimd.Broadcast(-2f));
            TVec d = TSimd.Zero, dd = TSimd.Zero;
            ReadOnlySpan<float> c = CoefficientsF[..FloatTerms];
            for (int j = c.Length - 1; j > 0; j--)
            {
                TVec previous = d;
                d = TSimd.Fma(ty, d, TSimd.Subtract(TSimd.Broadcast(c[j]), dd));
                dd = previous;
            }
            // −z² + ½(c₀ + ty·d) − dd, evaluated as before: (−z)·z, then the sum left to right.
            TVec a = TSimd.Subtract(
                TSimd.Add(TSimd.Multiply(TSimd.Subtract(TSimd.Zero, z), z), TSimd.Multiply(half, TSimd.Add(TSimd.Broadcast(c[0]), TSimd.Multiply(ty, d)))),
                dd);
            // a = ln(erfc/t) ≤ 0 (up to rounding near x = 0, far below 88.3), so the exponential without its upper
            // clamp gives the general path's bits.
            TVec erfc = TSimd.Multiply(t, Exp.NonPositive<TSimd, TVec>(a));             // erfc(|x|/√2)
            TVec phi = TSimd.Select(TSimd.GreaterThanOrEqual(x, TSimd.Zero),
                TSimd.Subtract(TSimd.Broadcast(1f), TSimd.Multiply(half, erfc)), TSimd.Multiply(half, erfc));
            return TSimd.Multiply(x, phi);
        }
    }

    /// <summary>The error function to about 1e-14 relative accuracy (Chebyshev fit of erfc with <c>t = 2/(2+|x|)</c>).</summary>
    public static double Erf(double x)
    {
        double erfc = Erfc(Math.Abs(x));
        return x >= 0 ? 1.0 - erfc : erfc - 1.0;
    }

    /// <summary>erfc(z) for z ≥ 0, by Clenshaw's recurrence over the Chebyshev coefficients.</summary>
    private static double Erfc(double z)
    {
        double t = 2.0 / (2.0 + z);
        double ty = 4.0 * t - 2.0;
        double d = 0.0, dd = 0.0;
        ReadOnlySpan<double> c = Coefficients;
        for (int j = c.Length - 1; j > 0; j--)
        {
            double tmp = d;
            d = ty * d - dd + c[j];
            dd = tmp;
        }
        return t * Math.Exp(-z * z + 0.5 * (c[0] + ty * d) - dd);
    }

    private static ReadOnlySpan<double> Coefficients =>
    [
        -1.3026537197817094, 6.4196979235649026e-1, 1.9476473204185836e-2, -9.561514786808631e-3,
        -9.46595344482036e-4, 3.66839497852761e-4, 4.2523324806907e-5, -2.0278578112534e-5,
        -1.624290004647e-6, 1.303655835580e-6, 1.5626441722e-8, -8.5238095915e-8,
        6.529054439e-9, 5.059343495e-9, -9.91364156e-10, -2.27365122e-10,
        9.6467911e-11, 2.394038e-12, -6.886027e-12, 8.94487e-13,
        3.13092e-13, -1.12708e-13, 3.81e-16, 7.106e-15,
        -1.523e-15, -9.4e-17, 1.21e-16, -2.8e-17,
    ];

    private static ReadOnlySpan<float> CoefficientsF =>
    [
        -1.3026537197817094f, 6.4196979235649026e-1f, 1.9476473204185836e-2f, -9.561514786808631e-3f,
        -9.46595344482036e-4f, 3.66839497852761e-4f, 4.2523324806907e-5f, -2.0278578112534e-5f,
        -1.624290004647e-6f, 1.303655835580e-6f, 1.5626441722e-8f, -8.5238095915e-8f,
        6.529054439e-9f, 5.059343495e-9f, -9.91364156e-10f, -2.27365122e-10f,
        9.6467911e-11f, 2.394038e-12f, -6.886027e-12f, 8.94487e-13f,
        3.13092e-13f, -1.12708e-13f, 3.81e-16f, 7.106e-15f,
        -1.523e-15f, -9.4e-17f, 1.21e-16f, -2.8e-17f,
    ];
}
