using BarkSharp.Configuration;
using BarkSharp.Tests.Infrastructure;

namespace BarkSharp.Tests.Configuration;

public class ConfigTests
{
    [Fact]
    public void Tiny_diff_style_config_gets_transformers_defaults()
    {
        BarkConfig c = TinyBark.Config;
        Assert.Equal(640, c.SemanticConfig.BlockSize);
        Assert.Equal(1024, c.CoarseAcousticsConfig.BlockSize);              // absent → default
        Assert.Equal((4, 2, 2, 129_600, 10_048), (c.SemanticConfig.HiddenSize, c.SemanticConfig.NumHeads, c.SemanticConfig.NumLayers, c.SemanticConfig.InputVocabSize, c.SemanticConfig.OutputVocabSize));
        Assert.False(c.SemanticConfig.Bias);
        Assert.Equal((8, 1, true), (c.FineAcousticsConfig.NCodesTotal, c.FineAcousticsConfig.NCodesGiven, c.FineAcousticsConfig.TieWordEmbeddings));
        Assert.Equal(8, c.CodecConfig.HiddenSize);
        Assert.Equal(2, c.CodecConfig.NumFilters);
        Assert.Equal([1.5, 3.0, 6.0], c.CodecConfig.TargetBandwidths);
        Assert.Equal(320, c.CodecConfig.HopLength);
        Assert.Equal(75, c.CodecConfig.FrameRate);
        Assert.Equal(8, c.CodecConfig.NumQuantizers);
        Assert.Equal(32, new EncodecConfig().NumQuantizers);
    }

    [Fact]
    public void Hub_style_full_dump_with_attribute_aliases()
    {
        const string json = """
        {"model_type": "bark",
         "semantic_config": {"num_attention_heads": 12, "num_hidden_layers": 12, "hidden_size": 768, "vocab_size": 129600, "output_vocab_size": 10048, "window_size": 1024, "bias": false, "dropout": 0.0},
         "coarse_acoustics_config": {"num_heads": 12, "num_layers": 12, "hidden_size": 768, "input_vocab_size": 12096, "output_vocab_size": 12096, "block_size": 1024, "bias": false},
         "fine_acoustics_config": {"num_heads": 12, "num_layers": 12, "hidden_size": 768, "input_vocab_size": 1056, "output_vocab_size": 1056, "n_codes_total": 8, "n_codes_given": 1, "bias": false},
         "codec_config": {"model_type": "encodec"}}
        """;
        BarkConfig c = BarkConfig.Parse(json);
        Assert.Equal(BarkConfig.BarkSmall.SemanticConfig, c.SemanticConfig);
        Assert.Equal(BarkConfig.BarkSmall.CoarseAcousticsConfig, c.CoarseAcousticsConfig);
        Assert.Equal(BarkConfig.BarkSmall.FineAcousticsConfig, c.FineAcousticsConfig);
        Assert.Equal(128, c.CodecConfig.HiddenSize);
        Assert.Equal(128, c.CodecConfig.CodebookDim);
        Assert.Equal([8, 5, 4, 2], c.CodecConfig.UpsamplingRatios);
    }

    [Theory]
    [InlineData("""{"model_type": "bark", "coarse_acoustics_config": {}, "fine_acoustics_config": {}}""", "no 'semantic_config' section")]
    [InlineData("""{"semantic_config": {"hidden_size": "big"}, "coarse_acoustics_config": {}, "fine_acoustics_config": {}}""", "semantic_config.hidden_size must be an integer")]
    [InlineData("""{"semantic_config": {"hidden_size": 10, "num_heads": 3}, "coarse_acoustics_config": {}, "fine_acoustics_config": {}}""", "not divisible")]
    [InlineData("""{"model_type": "gpt2", "semantic_config": {}}""", "not a Bark checkpoint")]
    [InlineData("""{"semantic_config": {}, "coarse_acoustics_config": {}, "fine_acoustics_config": {"n_codes_given": 8}}""", "n_codes_given")]
    [InlineData("""{"semantic_config": {""", "not valid JSON")]
    public void Bad_config_gives_a_clear_error(string json, string expected)
    {
        var e = Assert.Throws<BarkConfigException>(() => BarkConfig.Parse(json));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Missing_config_file_names_the_path()
    {
        var e = Assert.Throws<BarkConfigException>(() => BarkConfig.Load("/nonexistent/config.json"));
        Assert.Contains("/nonexistent/config.json", e.Message);
    }

    [Fact]
    public void Generation_config_reads_the_hub_values()
    {
        BarkGenerationConfig g = BarkGenerationConfig.Load(Path.Combine(Fixtures.TinyBark, "generation_config.json"));
        Assert.True(g.SemanticConfig.DoSample);
        Assert.Equal(0.7, g.SemanticConfig.Temperature);
        Assert.Equal(50, g.SemanticConfig.TopK);
        Assert.Equal(768, g.SemanticConfig.MaxNewTokens);
        Assert.Equal((10_000, 10_048, 129_595, 129_599, 256), (g.SemanticConfig.EosTokenId, g.SemanticConfig.TextEncodingOffset, g.SemanticConfig.TextPadToken, g.SemanticConfig.SemanticInferToken, g.SemanticConfig.MaxInputSemanticLength));
        Assert.Null(g.SemanticConfig.MinEosP);
        Assert.Equal((630, 60, 2, 12_050, 12_048), (g.CoarseAcousticsConfig.MaxCoarseHistory, g.CoarseAcousticsConfig.SlidingWindowLen, g.CoarseAcousticsConfig.NCoarseCodebooks, g.CoarseAcousticsConfig.CoarseInferToken, g.CoarseAcousticsConfig.CoarseSemanticPadToken));
        Assert.Null(g.CoarseAcousticsConfig.MaxNewTokens);
        Assert.Equal(0.5, g.FineAcousticsConfig.Temperature);
        Assert.Equal((512, 1024, 8), (g.FineAcousticsConfig.MaxFineHistoryLength, g.FineAcousticsConfig.MaxFineInputLength, g.FineAcousticsConfig.NFineCodebooks));
        Assert.Equal((1024, 24_000), (g.CodebookSize, g.SampleRate));
    }

    [Fact]
    public void Empty_generation_config_takes_class_defaults()
    {
        BarkGenerationConfig g = BarkGenerationConfig.Parse("{}");
        Assert.False(g.SemanticConfig.DoSample);
        Assert.Equal(1.0, g.SemanticConfig.Temperature);
        Assert.Equal(768, g.SemanticConfig.MaxNewTokens);
        Assert.Equal(1.0, g.FineAcousticsConfig.Temperature);
    }
}
