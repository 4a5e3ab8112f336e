using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace BarkSharp.Tensors;

/// <summary>
/// GELU in its exact form, <c>x · Φ(x) = 0.5 · x · (1 + erf(x / √2))</c>, as PyTorch's default <c>nn.GELU()</c>
/// (not the tanh approximation). erf comes from a 28-term Chebyshev fit of erfc (relative error ≈ 1e-14 in double);
/// the float vector path keeps the first 12 terms — the rest sum to under 1e-8, below float rounding (its largest
/// error over [−10, 10], 3.8e-7 absolute, is the same with all 28) — and evaluates four vectors at a time with one
/// vectorized exp, the same lane-wise operations at every width (the last elements too), so the result does not
/// depend on the vector width.
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

    private static unsafe void Range(ReadOnlySpan<float> x, Span<float> y)
    {
        fixed (float* px = x)
        fixed (float* py = y)
        {
            switch (Simd.Path)
            {
                case VectorPath.Vector512: Range<Simd512, Vector512<float>>(px, py, x.Length); break;
                case VectorPath.Vector256: Range<Simd256, Vector256<float>>(px, py, x.Length); break;
                default: Range<Simd128, Vector128<float>>(px, py, x.Length); break;
            }
        }
    }

    /// <summary>
    /// Groups of four vectors; the last partial group is staged through a zero-padded buffer, so every element takes
    /// the same lane-wise formula. <paramref name="x"/> and <paramref name="y"/> may be the same memory.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Range<TSimd, TVec>(float* x, float* y, int length)
        where TSimd : struct, ISimd<TVec>
        where TVec : struct
    {
        int step = 4 * TSimd.Count, whole = length / step, i = whole * step;
        Groups<TSimd, TVec>(x, y, whole);
        if (i < length)
        {
            float* last = stackalloc float[64];
            new Span<float>(last, 64).Clear();
            new ReadOnlySpan<float>(x + i, length - i).CopyTo(new Span<float>(last, 64));
            Groups<TSimd, TVec>(last, last, 1);
            new ReadOnlySpan<float>(last, length - i).CopyTo(new Span<float>(y + i, length - i));
        }
    }

    /// <summary>
    /// x · Φ(x) for <paramref name="count"/> groups of four vectors, with erfc(|x|/√2) from the first
    /// <see cref="FloatTerms"/> Chebyshev terms and <see cref="Exp"/>. Clenshaw's recurrence is a chain of eleven
    /// dependent steps per vector: the four vectors take each step together (four independent chains in one loop
    /// body), where one vector's chain at a time left the vector units waiting on each step's latency. (One method
    /// with the loop inside, compiled optimized at its first call: a per-group helper was not inlined and ran
    /// unoptimized code until tiering replaced it.)
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Groups<TSimd, TVec>(float* x, float* y, int count)
        where TSimd : struct, ISimd<TVec>
        where TVec : struct
    {
        float* staged = stackalloc float[8 * 16];
        for (int g = 0; g < count; g++, x += 4 * TSimd.Count, y += 4 * TSimd.Count)
        {
            int n = TSimd.Count;
            TVec x0 = TSimd.Load(x), x1 = TSimd.Load(x + n), x2 = TSimd.Load(x + 2 * n), x3 = TSimd.Load(x + 3 * n);
            Start<TSimd, TVec>(x0, out TVec z0, out TVec t0, out TVec ty0);
            Start<TSimd, TVec>(x1, out TVec z1, out TVec t1, out TVec ty1);
            Start<TSimd, TVec>(x2, out TVec z2, out TVec t2, out TVec ty2);
            Start<TSimd, TVec>(x3, out TVec z3, out TVec t3, out TVec ty3);
            TVec d0 = TSimd.Zero, d1 = TSimd.Zero, d2 = TSimd.Zero, d3 = TSimd.Zero;
            TVec dd0 = TSimd.Zero, dd1 = TSimd.Zero, dd2 = TSimd.Zero, dd3 = TSimd.Zero;
            ReadOnlySpan<float> c = CoefficientsF[..FloatTerms];
            for (int j = c.Length - 1; j > 0; j--)
            {
                TVec cj = TSimd.Broadcast(c[j]);
                TVec p0 = d0, p1 = d1, p2 = d2, p3 = d3;
                d0 = TSimd.Fma(ty0, d0, TSimd.Subtract(cj, dd0));
                d1 = TSimd.Fma(ty1, d1, TSimd.Subtract(cj, dd1));
                d2 = TSimd.Fma(ty2, d2, TSimd.Subtract(cj, dd2));
                d3 = TSimd.Fma(ty3, d3, TSimd.Subtract(cj, dd3));
                dd0 = p0; dd1 = p1; dd2 = p2; dd3 = p3;
            }
            // The exponential's argument and t wait in a small buffer, and one rolled loop finishes the four vectors:
            // four inlined copies of the exponential crowd out the sixteen AVX2 registers (the JIT keeps its constants in
            // registers and spills its running values, on each step's critical path), which made AVX2 twice as slow.
            TSimd.Store(Argument<TSimd, TVec>(z0, ty0, d0, dd0), staged); TSimd.Store(t0, staged + n);
            TSimd.Store(Argument<TSimd, TVec>(z1, ty1, d1, dd1), staged + 2 * n); TSimd.Store(t1, staged + 3 * n);
            TSimd.Store(Argument<TSimd, TVec>(z2, ty2, d2, dd2), staged + 4 * n); TSimd.Store(t2, staged + 5 * n);
            TSimd.Store(Argument<TSimd, TVec>(z3, ty3, d3, dd3), staged + 6 * n); TSimd.Store(t3, staged + 7 * n);
            for (int k = 0; k < 4; k++)
            {
                TVec xk = TSimd.Load(x + k * n), half = TSimd.Broadcast(0.5f);
                // a = ln(erfc/t) ≤ 0 (up to rounding near x = 0, far below 88.3), so the exponential without its upper
                // clamp gives the general path's bits.
                TVec erfc = TSimd.Multiply(TSimd.Load(staged + (2 * k + 1) * n), Exp.NonPositive<TSimd, TVec>(TSimd.Load(staged + 2 * k * n)));   // erfc(|x|/√2)
                TVec phi = TSimd.Select(TSimd.GreaterThanOrEqual(xk, TSimd.Zero),
                    TSimd.Subtract(TSimd.Broadcast(1f), TSimd.Multiply(half, erfc)), TSimd.Multiply(half, erfc));
                TSimd.Store(TSimd.Multiply(xk, phi), y + k * n);
            }
        }
    }

    /// <summary>z = |x|/√2, t = 2/(2+z) and Clenshaw's argument ty = 4t − 2.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Start<TSimd, TVec>(TVec x, out TVec z, out TVec t, out TVec ty)
        where TSimd : struct, ISimd<TVec>
        where TVec : struct
    {
        TVec two = TSimd.Broadcast(2f);
        z = TSimd.Multiply(TSimd.Abs(x), TSimd.Broadcast(InvSqrt2));
        t = TSimd.Divide(two, TSimd.Add(two, z));
        ty = TSimd.Fma(TSimd.Broadcast(4f), t, TSimd.Broadcast(-2f));
    }

    /// <summary>The exponential's argument, ln(erfc/t) = −z² + ½(c₀ + ty·d) − dd, from the recurrence's last two values.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVec Argument<TSimd, TVec>(TVec z, TVec ty, TVec d, TVec dd)
        where TSimd : struct, ISimd<TVec>
        where TVec : struct =>
        // Evaluated as before: (−z)·z, then the sum left to right.
        TSimd.Subtract(
            TSimd.Add(TSimd.Multiply(TSimd.Subtract(TSimd.Zero, z), z), TSimd.Multiply(TSimd.Broadcast(0.5f), TSimd.Add(TSimd.Broadcast(CoefficientsF[0]), TSimd.Multiply(ty, d)))),
            dd);

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
