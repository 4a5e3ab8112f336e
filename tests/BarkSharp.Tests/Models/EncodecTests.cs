using System.Diagnostics;
using BarkSharp.Configuration;
using BarkSharp.IO;
using BarkSharp.Models.Encodec;
using BarkSharp.Tests.Infrastructure;
using Xunit.Abstractions;

namespace BarkSharp.Tests.Models;

public class EncodecTests(ITestOutputHelper output)
{
    private const string CaseId = "codec/decode_b2_t10";

    /// <summary>The checkpoint files of tiny-bark the parity test runs on.</summary>
    public static TheoryData<string> CheckpointFiles => TinyBark.CheckpointFiles;

    private static ITensorStore OpenStore(string file) => TinyBark.OpenStore(file);

    private static EncodecConfig TinyConfig => BarkConfig.Load(Path.Combine(Fixtures.TinyBark, "config.json")).CodecConfig;

    private static EncodecConfig RealConfig => new();

    [Theory]
    [MemberData(nameof(CheckpointFiles))]
    public void Reproduces_transformers_codec_outputs(string file)
    {
        using ITensorStore store = OpenStore(file);
        var reader = new WeightReader(store, "codec_model.");
        EncodecDecoder decoder = EncodecDecoder.Load(reader, TinyConfig);
        reader.EnsureAllUsed();

        ReferenceCase c = Fixtures.Case(CaseId);
        int[] codes = TinyBark.Ints(c.Input("codes"));                      // [2, 8, 10]
        int batch = 2, codebooks = 8, frames = 10, hop = decoder.HopLength, dim = TinyConfig.HiddenSize;
        Assert.Equal(320, hop);
        int[] lengths = c.Json.GetProperty("output_lengths").EnumerateArray().Select(e => e.GetInt32()).ToArray();

        var latent = new float[batch * dim * frames];
        var waveform = new float[batch * frames * hop];
        for (int b = 0; b < batch; b++)
        {
            ReadOnlySpan<int> sample = codes.AsSpan(b * codebooks * frames, codebooks * frames);
            decoder.QuantizerDecode(sample, frames).CopyTo(latent, b * dim * frames);
            decoder.DecodeLatent(latent.AsSpan(b * dim * frames, dim * frames), frames).CopyTo(waveform, b * frames * hop);
        }
        Check(c, "quantizer_decode", latent);
        Check(c, "decoder_out", waveform);

        float[][] batched = decoder.DecodeBatch(codes, batch, frames);
        Check(c, "bark_codec_decode", batched.SelectMany(w => w).ToArray());
        Check(c, "encodec_decode_audio_values", batched.SelectMany(w => w).ToArray());

        float[][] trimmed = decoder.DecodeBatch(codes, batch, frames, lengths);
        for (int b = 0; b < batch; b++)
        {
            Assert.Equal(lengths[b] * hop, trimmed[b].Length);
            Check(c, $"bark_codec_decode_len_{b}", trimmed[b]);
        }
    }

    [Fact]
    public void Loading_accounts_for_every_codec_tensor()
    {
        using ITensorStore store = OpenStore("model.safetensors");
        var reader = new WeightReader(store, "codec_model.");
        EncodecDecoder.Load(reader, TinyConfig);
        reader.EnsureAllUsed();
        Assert.Contains("codec_model.encoder.layers.13.lstm.weight_ih_l0", reader.UsedKeys);
        Assert.Contains("codec_model.quantizer.layers.7.codebook.embed_avg", reader.UsedKeys);
        Assert.DoesNotContain(reader.UsedKeys, k => !k.StartsWith("codec_model.", StringComparison.Ordinal));
        Assert.Equal(store.Keys.Count(k => k.StartsWith("codec_model.", StringComparison.Ordinal)), reader.UsedKeys.Count);
    }

    [Fact]
    public void Newer_weight_norm_names_load_the_same_weights()
    {
        using ITensorStore store = OpenStore("model.safetensors");
        using var renamed = new RenamingStore(store, k => k
            .Replace(".conv.weight_g", ".conv.parametrizations.weight.original0", StringComparison.Ordinal)
            .Replace(".conv.weight_v", ".conv.parametrizations.weight.original1", StringComparison.Ordinal));
        var reader = new WeightReader(renamed, "codec_model.");
        EncodecDecoder decoder = EncodecDecoder.Load(reader, TinyConfig);
        reader.EnsureAllUsed();
        EncodecDecoder original = EncodecDecoder.Load(new WeightReader(store, "codec_model."), TinyConfig);

        int[] codes = TinyBark.Ints(Fixtures.Case(CaseId).Input("codes"))[..80];
        Assert.Equal(original.Decode(codes, 10), decoder.Decode(codes, 10));
    }

    [Fact]
    public void Unexpected_codec_tensors_are_still_reported()
    {
        using ITensorStore store = OpenStore("model.safetensors");
        using var renamed = new RenamingStore(store, k => k.Replace("decoder.layers.15.conv.bias", "decoder.layers.16.conv.bias", StringComparison.Ordinal));
        var e = Assert.Throws<BarkWeightException>(() => EncodecDecoder.Load(new WeightReader(renamed, "codec_model."), TinyConfig));
        Assert.Equal("codec_model.decoder.layers.15.conv.bias", e.Key);

        using var extra = new RenamingStore(store, k => k.Replace("quantizer.layers.7.codebook.embed_avg", "quantizer.layers.7.codebook.embed_sum", StringComparison.Ordinal));
        var reader = new WeightReader(extra, "codec_model.");
        EncodecDecoder.Load(reader, TinyConfig);
        e = Assert.Throws<BarkWeightException>(() => reader.EnsureAllUsed());
        Assert.Equal("codec_model.quantizer.layers.7.codebook.embed_sum", e.Key);
    }

    [Fact]
    public void Decodes_two_seconds_at_the_real_24khz_shape()
    {
        EncodecDecoder decoder = EncodecDecoder.CreateRandom(RealConfig, seed: 1);
        Assert.Equal(32, decoder.Codebooks);
        int frames = 150;                                                 // 2 s at 75 Hz
        int[] codes = RandomCodes(new Random(2), 8, frames);
        var watch = Stopwatch.StartNew();
        float[] audio = decoder.Decode(codes, frames);
        output.WriteLine($"2 s of audio (150 frames, real shape, {decoder.MaxThreads} threads): {watch.Elapsed.TotalMilliseconds:F0} ms");
        Assert.Equal(frames * 320, audio.Length);
        Assert.All(audio, v => Assert.True(float.IsFinite(v)));
        Assert.True(audio.Max() - audio.Min() > 1e-3f, "the waveform is constant");
    }

    [Fact]
    public void Real_shape_decode_does_not_depend_on_the_thread_count()
    {
        EncodecDecoder decoder = EncodecDecoder.CreateRandom(RealConfig, seed: 3);
        int[] codes = RandomCodes(new Random(4), 8, 12);
        decoder.MaxThreads = 1;
        float[] one = decoder.Decode(codes, 12);
        decoder.MaxThreads = 4;
        Assert.Equal(one, decoder.Decode(codes, 12));
    }

    /// <summary>Timing of 10 s of audio at the real shape; runs only with BARKSHARP_BENCH=1 (prints, asserts nothing about time).</summary>
    [EnvFact("BARKSHARP_BENCH")]
    public void Timing_of_ten_seconds_at_the_real_shape()
    {
        EncodecDecoder decoder = EncodecDecoder.CreateRandom(RealConfig, seed: 1);
        int[] codes = RandomCodes(new Random(2), 8, 750);
        decoder.Decode(codes.AsSpan(0, 8 * 75).ToArray(), 75);           // warm up
        for (int run = 0; run < 3; run++)
        {
            var watch = Stopwatch.StartNew();
            float[] audio = decoder.Decode(codes, 750);
            output.WriteLine($"10 s (750 frames → {audio.Length} samples), {decoder.MaxThreads} threads: {watch.Elapsed.TotalMilliseconds:F0} ms");
        }
    }

    [Theory]
    [InlineData(-1, "code -1 at codebook 3, frame 4")]
    [InlineData(1024, "code 1024 at codebook 3, frame 4")]
    public void Out_of_range_codes_are_rejected(int bad, string expected)
    {
        EncodecDecoder decoder = EncodecDecoder.CreateRandom(TinyConfig, seed: 1);
        int[] codes = RandomCodes(new Random(1), 8, 10);
        codes[3 * 10 + 4] = bad;
        var e = Assert.Throws<BarkInputException>(() => decoder.Decode(codes, 10));
        Assert.Contains(expected, e.Message);
        Assert.Contains("0 … 1023", e.Message);

        int[] batch = [.. RandomCodes(new Random(2), 8, 10), .. codes];
        e = Assert.Throws<BarkInputException>(() => decoder.DecodeBatch(batch, 2, 10));
        Assert.Contains("batch sample 1", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Wrong_code_shapes_are_rejected()
    {
        EncodecDecoder decoder = EncodecDecoder.CreateRandom(TinyConfig, seed: 1);
        var e = Assert.Throws<BarkInputException>(() => decoder.Decode(RandomCodes(new Random(1), 9, 10), 10));
        Assert.Contains("9 codebooks", e.Message);
        Assert.Contains("only 8", e.Message);
        e = Assert.Throws<BarkInputException>(() => decoder.Decode(new int[75], 10));
        Assert.Contains("75 values", e.Message);
        Assert.Throws<BarkInputException>(() => decoder.Decode([], 0));
        e = Assert.Throws<BarkInputException>(() => decoder.DecodeBatch(new int[160], 2, 10, [10, 11]));
        Assert.Contains("lengths[1] = 11", e.Message);
    }

    [Fact]
    public void Fewer_codebooks_and_single_frames_decode()
    {
        EncodecDecoder decoder = EncodecDecoder.CreateRandom(TinyConfig, seed: 5);
        float[] audio = decoder.Decode(RandomCodes(new Random(6), 2, 1), 1);   // one frame: reflect padding of a 1-step input
        Assert.Equal(320, audio.Length);
        Assert.All(audio, v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void Unsupported_configurations_are_rejected()
    {
        var e = Assert.Throws<BarkConfigException>(() => EncodecDecoder.CreateRandom(TinyConfig with { NormType = "time_group_norm" }, 1));
        Assert.Contains("time_group_norm", e.Message);
        Assert.Throws<BarkConfigException>(() => EncodecDecoder.CreateRandom(TinyConfig with { CodebookDim = 16 }, 1));
        Assert.Throws<BarkConfigException>(() => EncodecDecoder.CreateRandom(TinyConfig with { UseCausalConv = false, TrimRightRatio = 0.5 }, 1));
    }

    [Fact]
    public void Non_causal_decoder_keeps_the_frame_length()
    {
        EncodecDecoder decoder = EncodecDecoder.CreateRandom(TinyConfig with { UseCausalConv = false }, seed: 2);
        float[] audio = decoder.Decode(RandomCodes(new Random(3), 8, 7), 7);
        Assert.Equal(7 * 320, audio.Length);
        Assert.All(audio, v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void Cancellation_stops_the_decode()
    {
        EncodecDecoder decoder = EncodecDecoder.CreateRandom(TinyConfig, seed: 1);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.Throws<OperationCanceledException>(() => decoder.Decode(RandomCodes(new Random(1), 8, 10), 10, cts.Token));
    }

    private static int[] RandomCodes(Random rng, int codebooks, int frames) =>
        Enumerable.Range(0, codebooks * frames).Select(_ => rng.Next(1024)).ToArray();

    private void Check(ReferenceCase c, string name, float[] actual)
    {
        float[] expected = c.Output(name).ToFloat32();
        (double atol, double rtol) = c.Tolerance(name);
        double err = Compare.AssertClose(expected, actual, atol, rtol, name);
        output.WriteLine($"{name}: max abs error {err:g3} (atol {atol:g3})");
    }

    /// <summary>A view of a store with keys renamed (data shared), to exercise other checkpoint spellings.</summary>
    private sealed class RenamingStore : ITensorStore
    {
        private readonly ITensorStore _inner;
        private readonly Dictionary<string, string> _toInner = new(StringComparer.Ordinal);
        private readonly List<string> _keys = [];

        public RenamingStore(ITensorStore inner, Func<string, string> rename)
        {
            _inner = inner;
            foreach (string key in inner.Keys)
            {
                string name = rename(key);
                _toInner[name] = key;
                _keys.Add(name);
            }
        }

        public string SourcePath => _inner.SourcePath;

        public IReadOnlyList<string> Keys => _keys;

        public bool TryGetInfo(string key, out TensorInfo info)
        {
            if (_toInner.TryGetValue(key, out string? inner) && _inner.TryGetInfo(inner, out TensorInfo i))
            {
                info = i with { Name = key };
                return true;
            }
            info = null!;
            return false;
        }

        public ReadOnlySpan<byte> GetBytes(string key) => _inner.GetBytes(_toInner[key]);

        public void Dispose()
        {
        }
    }
}
