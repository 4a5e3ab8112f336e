using BarkSharp.IO;
using BarkSharp.Models;
using BarkSharp.Tests.Infrastructure;

namespace BarkSharp.Tests.Models;

/// <summary>A checkpoint that does not fit the configuration is a <see cref="BarkWeightException"/> naming the key and shapes.</summary>
public sealed class WeightErrorTests : IDisposable
{
    private readonly string _dir = Fixtures.TempDir();

    public void Dispose() => Directory.Delete(_dir, true);

    private ITensorStore Edited(Func<(string Name, DType DType, long[] Shape, byte[] Data), (string, DType, long[], byte[])?> edit)
    {
        string path = Path.Combine(_dir, Guid.NewGuid().ToString("N") + ".safetensors");
        using (ITensorStore source = TinyBark.OpenStore("model.safetensors"))
            SafeTensorsWriter.Rewrite(source, path, edit);
        return SafeTensorsFile.Open(path);
    }

    [Fact]
    public void Missing_tensor_names_the_key()
    {
        const string key = "semantic.layers.1.mlp.in_proj.weight";
        using ITensorStore store = Edited(t => t.Name == key ? null : t);
        var e = Assert.Throws<BarkWeightException>(() => BarkCausalModel.Load(new WeightReader(store, "semantic."), TinyBark.Config.SemanticConfig));
        Assert.Equal(key, e.Key);
        Assert.Contains($"no tensor '{key}'", e.Message);
    }

    [Fact]
    public void Wrong_shape_names_the_key_and_both_shapes()
    {
        const string key = "coarse_acoustics.lm_head.weight";
        using ITensorStore store = Edited(t => t.Name == key ? (t.Name, t.DType, [12_000L, 8L], t.Data[..(12_000 * 8 * 4)]) : t);
        var e = Assert.Throws<BarkWeightException>(() => BarkCausalModel.Load(new WeightReader(store, "coarse_acoustics."), TinyBark.Config.CoarseAcousticsConfig));
        Assert.Equal(key, e.Key);
        Assert.Contains("[12000, 8]", e.Message);
        Assert.Contains("[12096, 8]", e.Message);
    }

    [Fact]
    public void Unexpected_tensor_is_reported()
    {
        using ITensorStore store = Edited(t => t.Name == "semantic.layernorm_final.weight" ? ("semantic.layernorm_final.bias", t.DType, t.Shape, t.Data) : t);
        // bias=false in the config: the model reads the weight (missing now) — the error names it.
        var missing = Assert.Throws<BarkWeightException>(() => BarkCausalModel.Load(new WeightReader(store, "semantic."), TinyBark.Config.SemanticConfig));
        Assert.Equal("semantic.layernorm_final.weight", missing.Key);

        string path = Path.Combine(_dir, "extra.safetensors");
        using (ITensorStore source = TinyBark.OpenStore("model.safetensors"))
        {
            var list = source.Keys.Select(k => (k, source.GetInfo(k).DType, source.GetInfo(k).Shape, source.GetBytes(k).ToArray())).ToList();
            list.Add(("fine_acoustics.layers.7.mlp.in_proj.weight", DType.Float32, [32L, 8L], new byte[32 * 8 * 4]));
            SafeTensorsWriter.Write(path, list);
        }
        using ITensorStore withExtra = SafeTensorsFile.Open(path);
        var e = Assert.Throws<BarkWeightException>(() => BarkFineModel.Load(new WeightReader(withExtra, "fine_acoustics."), TinyBark.Config.FineAcousticsConfig));
        Assert.Equal("fine_acoustics.layers.7.mlp.in_proj.weight", e.Key);
        Assert.Contains("unexpected tensor", e.Message);
    }

    [Fact]
    public void Integer_tensor_where_weights_are_expected_is_rejected()
    {
        const string key = "fine_acoustics.position_embeds_layer.weight";
        using ITensorStore store = Edited(t => t.Name == key ? (t.Name, DType.Int64, [t.Shape[0], t.Shape[1] / 2], t.Data) : t);
        var e = Assert.Throws<BarkWeightException>(() => store.ReadFloat32(key));
        Assert.Contains("Int64", e.Message);
    }

    [Fact]
    public void Untied_fine_heads_are_required_when_the_config_unties_them()
    {
        using ITensorStore store = TinyBark.OpenStore("model.safetensors");
        var config = TinyBark.Config.FineAcousticsConfig with { TieWordEmbeddings = false };
        var e = Assert.Throws<BarkWeightException>(() => BarkFineModel.Load(new WeightReader(store, "fine_acoustics."), config));
        Assert.Equal("fine_acoustics.lm_heads.0.weight", e.Key);
    }
}
