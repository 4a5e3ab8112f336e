using System.Diagnostics;
using BarkSharp.Configuration;
using BarkSharp.Models.Cloning;
using BarkSharp.Models.Encodec;
using BarkSharp.Tests.Infrastructure;
using Xunit.Abstractions;

namespace BarkSharp.Tests.Cloning;

public class CloningTimingTests(ITestOutputHelper output)
{
    /// <summary>HuBERT base (9 layers) + the v0 quantizer + the EnCodec encoder on 10 s of audio, random weights at the real shapes.</summary>
    [EnvFact("BARKSHARP_BENCH")]
    public void Ten_seconds_at_the_real_shapes()
    {
        var rng = new Random(7);
        float[] wav16 = Enumerable.Range(0, 160_000).Select(_ => 0.1f * (2 * rng.NextSingle() - 1)).ToArray();
        float[] wav24 = Enumerable.Range(0, 240_000).Select(_ => 0.1f * (2 * rng.NextSingle() - 1)).ToArray();
        HubertModel hubert = HubertModel.CreateRandom(new HubertConfig(), 1, layers: 9);
        SemanticQuantizer quantizer = SemanticQuantizer.CreateRandom(SemanticQuantizerInfo.Default, 2);
        EncodecEncoder encoder = EncodecEncoder.CreateRandom(new EncodecConfig(), 3);
        output.WriteLine($"threads {Environment.ProcessorCount}");
        for (int run = 0; run < 2; run++)
        {
            var clock = Stopwatch.StartNew();
            float[] features = hubert.Features(wav16, 9);
            double tHubert = clock.Elapsed.TotalSeconds;
            long[] tokens = quantizer.Tokens(features);
            double tQuantizer = clock.Elapsed.TotalSeconds - tHubert;
            long[] codes = encoder.Encode(wav24);
            double tEncoder = clock.Elapsed.TotalSeconds - tHubert - tQuantizer;
            Assert.Equal(499, tokens.Length);
            Assert.Equal(8 * 750, codes.Length);
            output.WriteLine($"run {run}: HuBERT (9 layers, 499 frames) {tHubert:F2} s, quantizer {tQuantizer:F2} s, EnCodec encoder + RVQ (750 frames) {tEncoder:F2} s, total {clock.Elapsed.TotalSeconds:F2} s");
        }
    }
}
