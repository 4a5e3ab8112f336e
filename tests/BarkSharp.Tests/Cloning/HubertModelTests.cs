using BarkSharp.Models.Cloning;
using Xunit.Abstractions;

namespace BarkSharp.Tests.Cloning;

public class HubertModelTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("hubert/speech_1p3s")]
    [InlineData("hubert/odd_len")]
    public void Matches_transformers_at_every_step(string id)
    {
        CloningCase c = CloningFixtures.Case(id);
        HubertModel model = HubertModel.Load(CloningFixtures.HubertTiny);
        Assert.Equal(3, model.LoadedLayers);
        float[] x = c.Input("input_values").ToFloat32();
        var seen = new Dictionary<string, float[]>();
        float[] features = model.Forward(x, 3, (name, t) => seen[name] = (float[])t.Clone(), CancellationToken.None);
        Assert.Equal(c.Output("features").Shape[0], model.Config.FrameCount(x.Length));
        foreach (string name in new[] { "conv_features", "projected_features", "hidden_states_0", "hidden_states_1", "hidden_states_2", "hidden_states_3" })
            c.AssertClose(name, seen[name], output);
        Assert.Equal(seen["hidden_states_3"], features);
        c.AssertClose("features", model.Features(x, CloningFixtures.TinyHubertLayer), output);   // the recipe's output layer
    }

    [Fact]
    public void Loading_fewer_layers_gives_the_same_features_and_refuses_deeper_ones()
    {
        CloningCase c = CloningFixtures.Case("hubert/odd_len");
        float[] x = c.Input("input_values").ToFloat32();
        HubertModel two = HubertModel.Load(CloningFixtures.HubertTiny, layers: 2);
        Assert.Equal(HubertModel.Load(CloningFixtures.HubertTiny).Features(x, 2), two.Features(x, 2));
        var ex = Assert.Throws<BarkInputException>(() => two.Features(x, 3));
        Assert.Contains("out of range", ex.Message);
        Assert.Throws<BarkConfigException>(() => HubertModel.Load(CloningFixtures.HubertTiny, layers: 4));
    }

    [Fact]
    public void Too_short_audio_is_refused_in_words()
    {
        HubertModel model = HubertModel.Load(CloningFixtures.HubertTiny);
        var ex = Assert.Throws<BarkInputException>(() => model.Features(new float[399], 2));
        Assert.Contains("too short for one HuBERT frame (400 samples", ex.Message);
        Assert.Equal(1, model.Config.FrameCount(400));
        Assert.Equal(2, model.Config.FrameCount(720));
    }
}
