using BarkSharp.Configuration;
using BarkSharp.IO;
using BarkSharp.Models.Encodec;
using BarkSharp.Tests.Infrastructure;
using Xunit.Abstractions;

namespace BarkSharp.Tests.Cloning;

public class EncodecEncoderTests(ITestOutputHelper output)
{
    internal static EncodecEncoder LoadTiny(string file = "model.safetensors")
    {
        using ITensorStore store = TinyBark.OpenStore(file);
        return EncodecEncoder.Load(new WeightReader(store, "codec_model."), TinyBark.Config.CodecConfig);
    }

    [Theory]
    [InlineData("codec_encode/speech_24k_full", "model.safetensors")]
    [InlineData("codec_encode/odd_slice", "model.safetensors")]
    [InlineData("codec_encode/odd_slice", "pytorch_model.bin")]
    public void Matches_transformers_embeddings_and_codes(string id, string file)
    {
        CloningCase c = CloningFixtures.Case(id);
        EncodecEncoder encoder = LoadTiny(file);
        float[] x = c.Input("input_values").ToFloat32();
        c.AssertClose("embeddings", encoder.Embed(x), output);

        NpyArray expected = c.Output("codes");
        Assert.Equal(8, encoder.CodebooksFor(c.Json.GetProperty("bandwidth").GetDouble()));
        Assert.Equal(expected.Shape[1], encoder.FrameCount(x.Length));
        Assert.Equal(expected.ToInt64(), encoder.Encode(x, 6.0));
    }

    [Fact]
    public void Bandwidth_picks_the_codebook_count_and_codes_decode_back_close_to_the_embeddings()
    {
        CloningCase c = CloningFixtures.Case("codec_encode/odd_slice");
        EncodecEncoder encoder = LoadTiny();
        Assert.Equal(2, encoder.CodebooksFor(1.5));
        Assert.Equal(1, encoder.CodebooksFor(0.1));
        float[] x = c.Input("input_values").ToFloat32();
        long[] two = encoder.Encode(x, 1.5);
        long[] eight = encoder.Encode(x, 6.0);
        int frames = encoder.FrameCount(x.Length);
        Assert.Equal(eight.AsSpan(0, 2 * frames).ToArray(), two);             // residual stages do not look ahead

        using ITensorStore store = TinyBark.OpenStore("model.safetensors");
        EncodecDecoder decoder = EncodecDecoder.Load(new WeightReader(store, "codec_model."), TinyBark.Config.CodecConfig);
        float[] emb = encoder.Embed(x);
        double Error(long[] codes)
        {
            float[] q = decoder.QuantizerDecode([.. codes.Select(v => checked((int)v))], frames);     // voice prompts keep the .npz int64
            return emb.Zip(q, (a, b) => (double)(a - b) * (a - b)).Sum();
        }
        Assert.True(Error(eight) < Error(two), "more codebooks must quantize more closely");
    }

    [Fact]
    public void Empty_audio_is_refused_in_words()
    {
        EncodecEncoder encoder = EncodecEncoder.CreateRandom(new EncodecConfig(), 1);
        var ex = Assert.Throws<BarkInputException>(() => encoder.Encode([]));
        Assert.Contains("non-empty waveform", ex.Message);
    }
}
