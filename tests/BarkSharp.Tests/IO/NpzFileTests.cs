using System.IO.Compression;
using BarkSharp.IO;
using BarkSharp.Tests.Infrastructure;

namespace BarkSharp.Tests.IO;

public class NpzFileTests
{
    // Written by Python's zipfile the way np.savez_compressed does: deflated members with forced ZIP64 local headers.
    // Members: a.npy int64 [1, -2, 3]; b.npy float32 [[0.5, 1.5], [2.5, 3.5]].
    private const string Zip64Deflated =
        "UEsDBC0AAAAIAAAAIQB0qPMw//////////8FABQAYS5ucHkBABAAmAAAAAAAAABOAAAAAAAAAJvsF+obEMnIUMZQrZ6SWpxcpG6loG6TaaGuo6Cell9UUpSY" +
        "F59flJIKEndLzClOBYoXZyQWpAL5GsY6mjoKtQoUAC5GBgj49x8CmKF8AFBLAwQtAAAACAAAACEAv+p89///////////BQAUAGIubnB5AQAQAJAAAAAAAAAA" +
        "VQAAAAAAAACb7BfqGxDJyFDGUK2eklqcXKRupaBuk2airqOgnpZfVFKUmBefX5SSChJ3S8wpTgWKF2ckFqQC+RpGOgpGmjoKtQpkAy4GBgZ7BoYDQKzgwMCQ" +
        "4AAAUEsBAi0DLQAAAAgAAAAhAHSo8zBOAAAAmAAAAAUAAAAAAAAAAAAAAIABAAAAAGEubnB5UEsBAi0DLQAAAAgAAAAhAL/qfPdVAAAAkAAAAAUAAAAAAAAA" +
        "AAAAAIABhQAAAGIubnB5UEsFBgAAAAACAAIAZgAAABEBAAAAAA==";

    [Fact]
    public void Reads_a_suno_prompt_with_a_fortran_ordered_member()
    {
        IReadOnlyDictionary<string, NpyArray> arrays = NpzFile.Load(Path.Combine(Fixtures.Assets, "prompts_npz", "v2", "en_speaker_6.npz"));
        Assert.Equal(["semantic_prompt", "coarse_prompt", "fine_prompt"], arrays.Keys);
        Assert.Equal([2L, 464], arrays["coarse_prompt"].Shape);
        Assert.Equal(DType.Int32, arrays["fine_prompt"].DType);
        string files = Path.Combine(Fixtures.Assets, "speaker_embeddings", "v2");
        Assert.Equal(NpyArray.Load(Path.Combine(files, "en_speaker_6_coarse_prompt.npy")).ToInt64(), arrays["coarse_prompt"].ToInt64());
        Assert.Equal(NpyArray.Load(Path.Combine(files, "en_speaker_6_semantic_prompt.npy")).ToInt64(), arrays["semantic_prompt"].ToInt64());
    }

    [Fact]
    public void Reads_deflated_zip64_archives()
    {
        using var stream = new MemoryStream(Convert.FromBase64String(Zip64Deflated));
        IReadOnlyDictionary<string, NpyArray> arrays = NpzFile.Read(stream, "test.npz");
        Assert.Equal([1L, -2, 3], arrays["a"].ToInt64());
        Assert.Equal([2L, 2], arrays["b"].Shape);
        Assert.Equal([0.5f, 1.5f, 2.5f, 3.5f], arrays["b"].ToFloat32());
    }

    [Fact]
    public void Save_round_trips_and_replaces_atomically()
    {
        string dir = Fixtures.TempDir();
        try
        {
            string path = Path.Combine(dir, "x.npz");
            File.WriteAllText(path, "old contents");
            var arrays = new Dictionary<string, NpyArray>
            {
                ["ids"] = NpyArray.FromInt64([5, 6, 7, 8, 9, 10], 2, 3),
                ["w"] = NpyArray.FromFloat32([1f, -1f], 2),
            };
            NpzFile.Save(path, arrays);

            Assert.Equal(["x.npz"], Directory.GetFiles(dir).Select(Path.GetFileName));
            IReadOnlyDictionary<string, NpyArray> back = NpzFile.Load(path);
            Assert.Equal([2L, 3], back["ids"].Shape);
            Assert.Equal([5L, 6, 7, 8, 9, 10], back["ids"].ToInt64());
            Assert.Equal([1f, -1f], back["w"].ToFloat32());
            using ZipArchive zip = ZipFile.OpenRead(path);
            Assert.Equal(["ids.npy", "w.npy"], zip.Entries.Select(e => e.FullName));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Failed_save_leaves_nothing_behind()
    {
        string dir = Fixtures.TempDir();
        try
        {
            string path = Path.Combine(dir, "x.npz");
            IEnumerable<KeyValuePair<string, NpyArray>> Failing()
            {
                yield return new("a", NpyArray.FromInt64([1], 1));
                throw new InvalidOperationException("boom");
            }
            Assert.Throws<InvalidOperationException>(() => NpzFile.Save(path, Failing()));
            Assert.Empty(Directory.GetFiles(dir));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Truncated_or_foreign_files_are_rejected_with_the_path()
    {
        string dir = Fixtures.TempDir();
        try
        {
            byte[] bytes = File.ReadAllBytes(Path.Combine(Fixtures.Assets, "prompts_npz", "v2", "en_speaker_6.npz"));
            string path = Path.Combine(dir, "cut.npz");
            File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
            var e = Assert.Throws<BarkFormatException>(() => NpzFile.Load(path));
            Assert.Equal(path, e.FilePath);
            Assert.Contains("truncated", e.Message);

            File.WriteAllText(path, "not a zip");
            Assert.Throws<BarkFormatException>(() => NpzFile.Load(path));
            Assert.Throws<BarkFormatException>(() => NpzFile.Load(Path.Combine(dir, "missing.npz")));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
