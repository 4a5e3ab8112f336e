using BarkSharp.Tensors;
using Xunit.Abstractions;

namespace BarkSharp.Tests.Cloning;

public class SincResamplerTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("resample/hubert_24k_to_16k", false)]
    [InlineData("resample/hubert_44k1_to_16k", false)]
    [InlineData("resample/convert_audio_44k1_stereo_to_24k", true)]
    public void Matches_torchaudio_kernel_and_output(string id, bool float64Kernel)
    {
        SincKernelPrecision precision = float64Kernel ? SincKernelPrecision.Float64 : SincKernelPrecision.Float32;
        CloningCase c = CloningFixtures.Case(id);
        int from = c.Json.GetProperty("orig_freq").GetInt32(), to = c.Json.GetProperty("new_freq").GetInt32();
        var p = c.Json.GetProperty("params");
        var resampler = SincResampler.Create(from, to, precision);
        Assert.Equal(p.GetProperty("orig_reduced").GetInt32(), resampler.Down);
        Assert.Equal(p.GetProperty("new_reduced").GetInt32(), resampler.Up);
        Assert.Equal(p.GetProperty("width").GetInt32(), resampler.Width);
        Assert.Equal(p.GetProperty("kernel_taps").GetInt32(), resampler.Taps);
        c.AssertClose("kernel", resampler.Kernel, output);

        var input = c.Input("input");
        float[] x = input.ToFloat32();
        if (input.Shape[0] == 2)                                             // convert_audio: mean of the channels first
        {
            int n = (int)input.Shape[1];
            x = Enumerable.Range(0, n).Select(i => (x[i] + x[n + i]) / 2).ToArray();
        }
        float[] y = resampler.Process(x);
        Assert.Equal(p.GetProperty("target_length").GetInt32(), y.Length);
        c.AssertClose("y", y, output);
    }

    [Fact]
    public void Equal_rates_copy_and_lengths_round_up()
    {
        var same = SincResampler.Create(16000, 16000);
        Assert.Equal(new float[] { 1, 2, 3 }, same.Process([1, 2, 3]));
        var r = SincResampler.Create(24000, 16000);
        Assert.Equal(2, r.OutputLength(2));                                 // ceil(2·2/3)
        Assert.Equal(0, r.OutputLength(0));
        Assert.Empty(r.Process([]));
    }

    [Fact]
    public void Keeps_a_low_tone_and_removes_one_above_the_new_nyquist()
    {
        var r = SincResampler.Create(48000, 16000);
        float[] low = Enumerable.Range(0, 4800).Select(i => MathF.Sin(2 * MathF.PI * 1000 * i / 48000f)).ToArray();
        float[] high = Enumerable.Range(0, 4800).Select(i => MathF.Sin(2 * MathF.PI * 12000 * i / 48000f)).ToArray();
        float[] yl = r.Process(low), yh = r.Process(high);
        double rmsLow = Rms(yl.AsSpan(200, 1200)), rmsHigh = Rms(yh.AsSpan(200, 1200));
        Assert.InRange(rmsLow, 0.69, 0.72);                                 // 1/√2
        Assert.True(rmsHigh < 3e-3, $"12 kHz leaked through: rms {rmsHigh}");
        for (int i = 200; i < 1400; i++)
            Assert.True(Math.Abs(yl[i] - MathF.Sin(2 * MathF.PI * 1000 * i / 16000f)) < 0.02, $"sample {i}");
    }

    private static double Rms(ReadOnlySpan<float> x)
    {
        double s = 0;
        foreach (float v in x) s += v * v;
        return Math.Sqrt(s / x.Length);
    }
}
