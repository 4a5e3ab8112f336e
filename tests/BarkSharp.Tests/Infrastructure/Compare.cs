using Xunit.Sdk;

namespace BarkSharp.Tests.Infrastructure;

/// <summary>Element-wise comparison with the manifest's rule |a − b| ≤ atol + rtol·|b|, −inf positions matching exactly.</summary>
public static class Compare
{
    /// <summary>Asserts closeness and returns the max abs error over finite positions.</summary>
    public static double AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double atol, double rtol, string what)
    {
        if (expected.Length != actual.Length)
            throw new XunitException($"{what}: length {actual.Length}, expected {expected.Length}");
        double maxErr = 0;
        int worst = -1;
        for (int i = 0; i < expected.Length; i++)
        {
            float e = expected[i], a = actual[i];
            if (float.IsInfinity(e) || float.IsInfinity(a))
            {
                if (e != a) throw new XunitException($"{what}[{i}]: got {a}, expected {e} (infinities must match)");
                continue;
            }
            if (float.IsNaN(a) || float.IsNaN(e))
                throw new XunitException($"{what}[{i}]: got {a}, expected {e}");
            double err = Math.Abs((double)a - e);
            if (err > maxErr)
            {
                maxErr = err;
                worst = i;
            }
            if (err > atol + rtol * Math.Abs(e))
                throw new XunitException($"{what}[{i}]: got {a}, expected {e}, |diff| {err:g3} > atol {atol:g3} + rtol {rtol:g3}·|b|");
        }
        _ = worst;
        return maxErr;
    }
}
