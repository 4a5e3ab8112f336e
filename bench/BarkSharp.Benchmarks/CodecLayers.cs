using System.Diagnostics;
using BarkSharp.Configuration;
using BarkSharp.Models.Encodec;
using BarkSharp.Tensors;

namespace BarkSharp.Benchmarks;

/// <summary>Times each layer of the EnCodec decoder alone, on the shapes a decode of <c>frames</c> frames gives it.</summary>
internal static class CodecLayers
{
    public static void Run(EncodecConfig config, int frames, int threads, bool cpuTime = false)
    {
        var source = new RandomWeightSource(4);
        var rng = new Random(2);
        Signal Random(int channels, int length)
        {
            var s = Signal.Allocate(channels, length);
            for (int i = 0; i < s.Data.Length; i++) s.Data[i] = rng.NextSingle() - 0.5f;
            return s;
        }
        void Time(string name, double flops, Action a)
        {
            a();
            var times = new List<double>();
            for (int i = 0; i < 7; i++)
            {
                // With --cpu, the process's CPU time instead of the wall clock: on a crowded host a one-thread run then
                // does not count the time it waited for a core (time spent spinning for other threads counts, though).
                TimeSpan cpu = cpuTime ? Process.GetCurrentProcess().TotalProcessorTime : default;
                var sw = Stopwatch.StartNew();
                a();
                times.Add(cpuTime ? (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds : sw.Elapsed.TotalSeconds);
            }
            double best = times.Min();      // the best of 7: the machine is shared, interference only adds time
            Console.WriteLine($"  {name,-58} {best * 1000,7:F2} ms {(flops > 0 ? $"{flops / best / 1e9,6:F1} GFLOP/s" : "")}");
        }

        int f = config.NumFilters, channels = f << config.UpsamplingRatios.Length, t = frames;
        var first = EncodecConv1d.Load(source, "first", config, config.HiddenSize, channels, config.KernelSize);
        Signal latent = Random(config.HiddenSize, t);
        Time($"conv k{config.KernelSize} {config.HiddenSize}→{channels} T={t}", 2.0 * config.HiddenSize * channels * config.KernelSize * t,
            () => first.Forward(latent, elu: false, threads));
        var lstm = EncodecLstm.Load(source, "lstm", channels, config.NumLstmLayers);
        Signal h = Random(channels, t);
        Time($"elu [{channels}, {t}]", 0, () => Elu.ApplyInPlace(h.Span));
        Time($"lstm {config.NumLstmLayers}×{channels} T={t}", config.NumLstmLayers * 16.0 * channels * channels * t,
            () => lstm.Forward(h, threads, default));
        foreach (int r in config.UpsamplingRatios)
        {
            Signal x = Random(channels, t);
            var up = EncodecConvTranspose1d.Load(source, $"up{r}", config, channels, channels / 2, 2 * r, r);
            Time($"convT k{2 * r}/s{r} {channels}→{channels / 2} T={t}", 2.0 * channels * (channels / 2) * 2 * r * t,
                () => up.Forward(x, threads));
            t *= r;
            channels /= 2;
            int hidden = channels / config.Compress;
            var conv1 = EncodecConv1d.Load(source, $"res{r}.1", config, channels, hidden, config.ResidualKernelSize);
            var block = EncodecResnetBlock.Load(source, $"res{r}", config, channels, 1);
            Signal y = Random(channels, t);
            Signal stacked = Signal.Allocate(channels, t, block.SpareRows);
            y.Span.CopyTo(stacked.Span);
            Time($"  res conv1 k{config.ResidualKernelSize} {channels}→{hidden} T={t} (elu, pad, elu)", 2.0 * channels * hidden * config.ResidualKernelSize * t,
                () => conv1.Forward(y, elu: true, threads, eluOutput: true));
            Time($"  res block (conv1 + shortcut|conv2 k1 {channels}+{hidden}→{channels}, elu)",
                2.0 * channels * hidden * config.ResidualKernelSize * t + 2.0 * (channels + hidden) * channels * t,
                () => block.Forward(stacked, threads, eluOutput: true));
        }
        var last = EncodecConv1d.Load(source, "last", config, f, config.AudioChannels, config.LastKernelSize);
        Signal l = Random(f, t);
        Time($"conv k{config.LastKernelSize} {f}→{config.AudioChannels} T={t} (pad)", 2.0 * f * config.AudioChannels * config.LastKernelSize * t,
            () => last.Forward(l, elu: false, threads));
    }
}
