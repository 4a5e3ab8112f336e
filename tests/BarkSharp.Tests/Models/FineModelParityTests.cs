using BarkSharp.IO;
using BarkSharp.Models;
using BarkSharp.Tests.Infrastructure;
using Xunit.Abstractions;

namespace BarkSharp.Tests.Models;

public class FineModelParityTests(ITestOutputHelper output)
{
    [Theory]
    [MemberData(nameof(TinyBark.CheckpointFiles), MemberType = typeof(TinyBark))]
    public void Logits_for_every_codebook_match_transformers(string file)
    {
        ReferenceCase c = Fixtures.Case("forward/fine_all_codebooks");
        using ITensorStore store = TinyBark.OpenStore(file);
        BarkFineModel model = BarkFineModel.Load(new WeightReader(store, "fine_acoustics."), TinyBark.Config.FineAcousticsConfig);
        int[] ids = TinyBark.Ints(c.Input("input_ids"));     // [1, T, 8]
        int frames = ids.Length / 8;
        var ws = model.CreateWorkspace();
        foreach (int cb in c.Json.GetProperty("codebook_idx").EnumerateArray().Select(e => e.GetInt32()))
        {
            var logits = new float[frames * model.Config.OutputVocabSize];
            model.Forward(cb, ids, 1, ws, logits);
            string name = $"logits_cb{cb}";
            (double atol, double rtol) = c.Tolerance(name);
            double err = Compare.AssertClose(c.Output(name).ToFloat32(), logits, atol, rtol, name);
            output.WriteLine($"{file} {name}: max abs err {err:e2} (atol {atol:e1})");
        }
    }
}
