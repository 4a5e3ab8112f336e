using BarkSharp.Models.Cloning;
using Xunit.Abstractions;

namespace BarkSharp.Tests.Cloning;

public class SemanticQuantizerTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("quantizer/speech_1p3s")]
    [InlineData("quantizer/odd_len")]
    [InlineData("quantizer_v1/speech_1p3s")]
    [InlineData("quantizer_v1/odd_len")]
    public void Matches_the_original_log_probs_and_tokens(string id)
    {
        CloningCase c = CloningFixtures.Case(id);
        string path = Path.GetFullPath(Path.Combine(CloningFixtures.ReferenceDir, c.Json.GetProperty("checkpoint").GetString()!));
        SemanticQuantizer q = SemanticQuantizer.Load(path);
        int expectedVersion = id.StartsWith("quantizer_v1", StringComparison.Ordinal) ? 1 : 0;
        Assert.Equal(expectedVersion, q.Info.Version);
        Assert.Equal(32, q.Info.InputSize);
        float[] features = c.Input("features").ToFloat32();
        c.AssertClose("log_probs", q.LogProbabilities(features), output);
        Assert.Equal(c.Output("tokens").ToInt64(), q.Tokens(features));
    }

    [Fact]
    public void Reads_the_sizes_from_the_info_entry()
    {
        Assert.Equal(new SemanticQuantizerInfo(32, 24, 10000, 0), SemanticQuantizer.Load(CloningFixtures.QuantizerV0).Info);
        Assert.Equal(new SemanticQuantizerInfo(32, 16, 64, 1), SemanticQuantizer.Load(CloningFixtures.QuantizerV1).Info);
    }

    [Fact]
    public void Without_an_info_entry_assumes_the_real_v0_sizes_and_says_which_tensor_disagrees()
    {
        string dir = Infrastructure.Fixtures.TempDir();
        try
        {
            // Copy the v0 file without its .info entry: the loader falls back to 768/1024/10000, which the tiny tensors do not have.
            string copy = Path.Combine(dir, "no_info.pth");
            using (var src = System.IO.Compression.ZipFile.OpenRead(CloningFixtures.QuantizerV0))
            using (var dst = System.IO.Compression.ZipFile.Open(copy, System.IO.Compression.ZipArchiveMode.Create))
            {
                foreach (var e in src.Entries)
                {
                    if (e.FullName.EndsWith("/.info", StringComparison.Ordinal)) continue;
                    var n = dst.CreateEntry(e.FullName, System.IO.Compression.CompressionLevel.NoCompression);
                    using Stream from = e.Open(), to = n.Open();
                    from.CopyTo(to);
                }
            }
            var ex = Assert.Throws<BarkWeightException>(() => SemanticQuantizer.Load(copy));
            Assert.Contains("lstm.weight_ih_l0", ex.Message);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void Features_of_the_wrong_width_are_refused_in_words()
    {
        SemanticQuantizer q = SemanticQuantizer.Load(CloningFixtures.QuantizerV0);
        var ex = Assert.Throws<BarkInputException>(() => q.Tokens(new float[33]));
        Assert.Contains("whole frames of 32 features", ex.Message);
    }
}
