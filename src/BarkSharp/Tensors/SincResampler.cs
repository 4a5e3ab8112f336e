using System.Numerics.Tensors;

namespace BarkSharp.Tensors;

/// <summary>
/// Band-limited resampling by a Hann-windowed sinc kernel, the algorithm and kernel of torchaudio's
/// <c>functional.resample</c> / <c>transforms.Resample</c> (torchaudio 0.13 <c>_get_sinc_resample_kernel</c>, method
/// <c>sinc_interpolation</c>, called <c>sinc_interp_hann</c> in 2.x) with its defaults: low-pass filter width 6,
/// roll-off 0.99. With g = gcd(from, to), o = from/g, n = to/g, base = min(o, n)·0.99 and w = ⌈6·o/base⌉, the
/// kernel has n phases of 2w + o taps: <c>t = clamp((−j/n + (i − w)/o)·base, ±6)</c>,
/// <c>k[j, i] = sinc(πt)·cos(πt/12)²·base/o</c>. The input is zero-padded by w on the left and w + o on the right;
/// output sample <c>q·n + j</c> is <c>Σ_i k[j, i]·x[q·o + i − w]</c>, kept to <c>⌈n·N/o⌉</c> samples.
/// </summary>
/// <remarks>
/// torchaudio computes the kernel in the waveform's dtype in <c>functional.resample</c> (float32 here) and in float64,
/// cast to float32, in <c>transforms.Resample</c>; <see cref="SincKernelPrecision"/> picks which, so that both give
/// torchaudio's numbers to float rounding. An instance is immutable and thread-safe.
/// </remarks>
internal sealed class SincResampler
{
    private const int LowpassFilterWidth = 6;
    private const double Rolloff = 0.99;

    private readonly float[] _kernel;   // [n, 2w + o]

    private SincResampler(int from, int to, SincKernelPrecision precision)
    {
        FromRate = from;
        ToRate = to;
        int g = Gcd(from, to);
        Down = from / g;
        Up = to / g;
        double baseFreq = Math.Min(Down, Up) * Rolloff;
        Width = (int)Math.Ceiling(LowpassFilterWidth * Down / baseFreq);
        Taps = 2 * Width + Down;
        _kernel = precision == SincKernelPrecision.Float32 ? KernelFloat32(baseFreq) : KernelFloat64(baseFreq);
    }

    /// <summary>Input sample rate.</summary>
    public int FromRate { get; }

    /// <summary>Output sample rate.</summary>
    public int ToRate { get; }

    /// <summary>o: the input rate divided by gcd(from, to) — the kernel's stride.</summary>
    public int Down { get; }

    /// <summary>n: the output rate divided by gcd(from, to) — the kernel's phases.</summary>
    public int Up { get; }

    /// <summary>w: zero padding on the left of the input.</summary>
    public int Width { get; }

    /// <summary>Taps per phase: 2w + o.</summary>
    public int Taps { get; }

    /// <summary>The kernel <c>[Up, Taps]</c> (torchaudio's <c>[new, 1, taps]</c>), a copy.</summary>
    public float[] Kernel => (float[])_kernel.Clone();

    /// <summary>Creates a resampler from <paramref name="fromRate"/> to <paramref name="toRate"/> samples per second.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A rate is not positive.</exception>
    public static SincResampler Create(int fromRate, int toRate, SincKernelPrecision precision = SincKernelPrecision.Float64)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(fromRate, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(toRate, 1);
        return new SincResampler(fromRate, toRate, precision);
    }

    /// <summary>Output samples for <paramref name="inputLength"/> input samples: ⌈n·N/o⌉ (N itself when the rates are equal).</summary>
    public int OutputLength(int inputLength) => (int)(((long)Up * inputLength + Down - 1) / Down);

    /// <summary>
    /// Resamples <paramref name="x"/>. Equal rates return a copy (torchaudio skips the work too).
    /// </summary>
    public float[] Process(ReadOnlySpan<float> x)
    {
        if (FromRate == ToRate) return x.ToArray();
        var y = new float[OutputLength(x.Length)];
        Process(x, y);
        return y;
    }

    /// <summary>Resamples <paramref name="x"/> into <paramref name="y"/> (<see cref="OutputLength"/> samples). The spans must not overlap.</summary>
    public void Process(ReadOnlySpan<float> x, Span<float> y)
    {
        int length = OutputLength(x.Length);
        if (y.Length < length) throw new ArgumentException($"y has {y.Length} elements, expected {length}.", nameof(y));
        if (FromRate == ToRate)
        {
            x.CopyTo(y);
            return;
        }
        // Zero-padded input: w on the left, w + o on the right.
        var padded = new float[Width + x.Length + Width + Down];
        x.CopyTo(padded.AsSpan(Width));
        for (int q = 0, outIndex = 0; outIndex < length; q++)
        {
            ReadOnlySpan<float> window = padded.AsSpan(q * Down, Taps);
            for (int j = 0; j < Up && outIndex < length; j++, outIndex++)
                y[outIndex] = TensorPrimitives.Dot(_kernel.AsSpan(j * Taps, Taps), window);
        }
    }

    private float[] KernelFloat32(double baseFreq)
    {
        var k = new float[Up * Taps];
        float b = (float)baseFreq, scale = (float)(baseFreq / Down), pi = MathF.PI, width = LowpassFilterWidth;
        for (int j = 0; j < Up; j++)
        {
            float phase = -j / (float)Up;
            for (int i = 0; i < Taps; i++)
            {
                float t = (phase + (i - Width) / (float)Down) * b;
                t = Math.Clamp(t, -width, width);
                float c = MathF.Cos(t * pi / width / 2);
                float window = c * c;
                t *= pi;
                float sinc = t == 0 ? 1f : MathF.Sin(t) / t;
                k[j * Taps + i] = sinc * (window * scale);
            }
        }
        return k;
    }

    private float[] KernelFloat64(double baseFreq)
    {
        var k = new float[Up * Taps];
        double scale = baseFreq / Down;
        for (int j = 0; j < Up; j++)
        {
            // torchaudio builds this term as an integer arange divided by n, i.e. in the default float32, before
            // adding it to the float64 tap offsets.
            double phase = -j / (float)Up;
            for (int i = 0; i < Taps; i++)
            {
                double t = (phase + (i - Width) / (double)Down) * baseFreq;
                t = Math.Clamp(t, -LowpassFilterWidth, LowpassFilterWidth);
                double c = Math.Cos(t * Math.PI / LowpassFilterWidth / 2);
                t *= Math.PI;
                double sinc = t == 0 ? 1 : Math.Sin(t) / t;
                k[j * Taps + i] = (float)(sinc * (c * c * scale));
            }
        }
        return k;
    }

    private static int Gcd(int a, int b)
    {
        while (b != 0) (a, b) = (b, a % b);
        return a;
    }
}

/// <summary>The arithmetic a <see cref="SincResampler"/> computes its kernel in (the kernel is always applied in float32).</summary>
internal enum SincKernelPrecision
{
    /// <summary>float64, then rounded: torchaudio's <c>transforms.Resample</c> (EnCodec's <c>convert_audio</c>).</summary>
    Float64,

    /// <summary>float32 throughout: torchaudio's <c>functional.resample</c> on a float32 waveform (the HuBERT input).</summary>
    Float32,
}
