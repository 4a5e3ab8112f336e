namespace BarkSharp.Tensors;

/// <summary>
/// GELU in its exact form, <c>x · Φ(x) = 0.5 · x · (1 + erf(x / √2))</c>, as PyTorch's default <c>nn.GELU()</c>
/// (not the tanh approximation).
/// </summary>
public static class Gelu
{
    /// <summary>Applies GELU element-wise. <paramref name="x"/> and <paramref name="y"/> may be the same span.</summary>
    public static void Forward(ReadOnlySpan<float> x, Span<float> y)
    {
        if (y.Length < x.Length) throw new ArgumentException("y shorter than x.", nameof(y));
        for (int i = 0; i < x.Length; i++)
        {
            double v = x[i];
            y[i] = (float)(0.5 * v * (1.0 + Erf(v * 0.70710678118654752440)));
        }
    }

    /// <summary>
    /// The error function to about 1e-7 relative accuracy (Chebyshev fit of erfc, Numerical Recipes' <c>erfccheb</c>
    /// form with <c>t = 2/(2+|x|)</c>), enough for float32 results.
    /// </summary>
    public static double Erf(double x)
    {
        double z = Math.Abs(x);
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
        double erfc = t * Math.Exp(-z * z + 0.5 * (c[0] + ty * d) - dd);
        return x >= 0 ? 1.0 - erfc : erfc - 1.0;
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
}
