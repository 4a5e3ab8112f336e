using System.Numerics.Tensors;

namespace BarkSharp.Tensors;

/// <summary>Softmax and log-softmax over one row, stable against large values; −∞ entries give probability 0.</summary>
internal static class Softmax
{
    /// <summary>In place: <c>x[i] = exp(x[i] − max) / Σ exp(x[j] − max)</c>.</summary>
    public static void InPlace(Span<float> x)
    {
        if (x.IsEmpty) return;
        float max = TensorPrimitives.Max(x);
        float sum = 0;
        for (int i = 0; i < x.Length; i++)
        {
            float e = MathF.Exp(x[i] - max);
            x[i] = e;
            sum += e;
        }
        TensorPrimitives.Divide(x, sum, x);
    }

    /// <summary>In place: <c>x[i] = x[i] − max − log Σ exp(x[j] − max)</c> (Transformers' <c>LogitNormalization</c>).</summary>
    public static void LogInPlace(Span<float> x)
    {
        if (x.IsEmpty) return;
        float max = TensorPrimitives.Max(x);
        double sum = 0;
        for (int i = 0; i < x.Length; i++) sum += MathF.Exp(x[i] - max);
        float logSum = (float)Math.Log(sum);
        for (int i = 0; i < x.Length; i++) x[i] = x[i] - max - logSum;
    }
}
