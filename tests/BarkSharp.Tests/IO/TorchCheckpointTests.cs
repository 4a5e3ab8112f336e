using System.IO.Compression;
using System.Runtime.InteropServices;
using BarkSharp.IO;
using BarkSharp.Tests.Infrastructure;

namespace BarkSharp.Tests.IO;

public sealed class TorchCheckpointTests : IDisposable
{
    private static string BinPath => Path.Combine(Fixtures.TinyBark, "pytorch_model.bin");
    private static string SafetensorsPath => Path.Combine(Fixtures.TinyBark, "model.safetensors");

    private readonly string _dir = Fixtures.TempDir();

    public void Dispose() => Directory.Delete(_dir, true);

    [Fact]
    public void Fixture_bin_holds_the_safetensors_tensors_plus_the_tied_heads()
    {
        using TorchCheckpoint bin = TorchCheckpoint.Open(BinPath);
        using SafeTensorsFile st = SafeTensorsFile.Open(SafetensorsPath);
        AssertSameTensors(st, bin);
        Assert.Equal("semantic.input_embeds_layer.weight", bin.Keys[0]);
        Assert.Equal(bin.Keys.Count, bin.Keys.Distinct().Count());
        string[] extra = bin.Keys.Except(st.Keys).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(Enumerable.Range(0, 7).Select(i => $"fine_acoustics.lm_heads.{i}.weight"), extra);
    }

    [Fact]
    public void Tied_fine_heads_share_the_input_embedding_storage()
    {
        using TorchCheckpoint bin = TorchCheckpoint.Open(BinPath);
        for (int i = 0; i < 7; i++)
        {
            TensorInfo head = bin.GetInfo($"fine_acoustics.lm_heads.{i}.weight");
            TensorInfo embed = bin.GetInfo($"fine_acoustics.input_embeds_layers.{i + 1}.weight");
            Assert.Equal(embed.Shape, head.Shape);
            Assert.Equal(DType.Float32, head.DType);
            Assert.True(bin.GetBytes(head.Name).SequenceEqual(bin.GetBytes(embed.Name)));
        }
    }

    [Fact]
    public void Causal_mask_is_a_bool_tensor()
    {
        using TorchCheckpoint bin = TorchCheckpoint.Open(BinPath);
        TensorInfo mask = bin.GetInfo("semantic.layers.0.attn.bias");
        Assert.Equal(DType.Bool, mask.DType);
        Assert.Equal([1L, 1, 640, 640], mask.Shape);
        ReadOnlySpan<byte> bytes = bin.GetBytes(mask.Name);
        Assert.Equal(640 * 640, bytes.Length);
        Assert.Equal(1, bytes[0]);
        Assert.Equal(0, bytes[1]);
        Assert.Equal(1, bytes[640 + 1]);
        Assert.Equal(1, bytes[^1]);
    }

    [Fact]
    public void Unknown_key_is_a_weight_error()
    {
        using TorchCheckpoint bin = TorchCheckpoint.Open(BinPath);
        Assert.False(bin.TryGetInfo("nope", out _));
        var e = Assert.Throws<BarkWeightException>(() => bin.GetBytes("nope"));
        Assert.Equal("nope", e.Key);
    }

    [Fact]
    public void Fixture_repacked_deflated_reads_the_same()
    {
        // System.IO.Compression writes every entry deflated (method 8).
        string path = Path.Combine(_dir, "deflated.bin");
        using (ZipArchive archive = ZipFile.Open(path, ZipArchiveMode.Create))
        {
            foreach ((string name, byte[] data) in ZipWriter.ReadAll(BinPath))
            {
                using Stream s = archive.CreateEntry(name, CompressionLevel.Optimal).Open();
                s.Write(data);
            }
        }
        using (ZipArchive check = ZipFile.OpenRead(path))
            Assert.True(check.Entries.First().CompressedLength < check.Entries.First().Length);

        using TorchCheckpoint original = TorchCheckpoint.Open(BinPath);
        using TorchCheckpoint deflated = TorchCheckpoint.Open(path);
        AssertSameTensors(original, deflated);
        Assert.Equal(original.Keys, deflated.Keys);
    }

    [Fact]
    public void Fixture_repacked_with_zip64_records_reads_the_same()
    {
        string path = Path.Combine(_dir, "zip64.bin");
        File.WriteAllBytes(path, ZipWriter.Build(ZipWriter.ReadAll(BinPath), zip64: true));
        using TorchCheckpoint original = TorchCheckpoint.Open(BinPath);
        using TorchCheckpoint zip64 = TorchCheckpoint.Open(path);
        AssertSameTensors(original, zip64);
        Assert.Equal(original.Keys, zip64.Keys);
    }

    [Fact]
    public void Strided_views_are_copied_into_C_order()
    {
        // One storage 0..5 seen as: its transpose, a row (offset, zero copy), a broadcast (stride 0) and a scalar.
        byte[] pickle = PickleWriter.StateDict(
            ("t", w => w.Tensor("FloatStorage", "0", 6, 0, [3, 2], [1, 3])),
            ("row", w => w.Tensor("FloatStorage", "0", 6, 3, [3], [1])),
            ("bcast", w => w.Tensor("FloatStorage", "0", 6, 0, [2, 3], [0, 1])),
            ("scalar", w => w.Tensor("FloatStorage", "0", 6, 4, [], [])),
            ("unit", w => w.Tensor("FloatStorage", "0", 6, 2, [1, 2, 1], [99, 1, 7])));
        using TorchCheckpoint file = Write(ZipWriter.TorchArchive(pickle, ("0", Floats.Bytes(0, 1, 2, 3, 4, 5))));

        Assert.Equal(["t", "row", "bcast", "scalar", "unit"], file.Keys);
        Assert.Equal([3L, 2], file.GetInfo("t").Shape);
        Assert.Equal([0f, 3, 1, 4, 2, 5], file.ReadFloat32("t"));
        Assert.Equal([0f, 3, 1, 4, 2, 5], file.ReadFloat32("t"));
        Assert.Equal([3f, 4, 5], file.ReadFloat32("row", [3]));
        Assert.Equal([0f, 1, 2, 0, 1, 2], file.ReadFloat32("bcast", [2, 3]));
        Assert.Equal([4f], file.ReadFloat32("scalar"));
        Assert.Equal([2f, 3], file.ReadFloat32("unit", [1, 2, 1]));
    }

    [Fact]
    public void Ordered_dict_root_with_metadata_and_parameters_is_read()
    {
        // What torch.save(model.state_dict(keep_vars=True)) writes: OrderedDict + SETITEMS, then BUILD of {'_metadata': ...}.
        var w = new PickleWriter().Proto().OrderedDict().Mark()
            .Str("p").Global("torch._utils", "_rebuild_parameter").Mark()
                .Tensor("HalfStorage", "7", 2, 0, [2], [1]).Op(0x88).OrderedDict().Tuple().Reduce()
            .Str("n").Tensor("LongStorage", "8", 1, 0, [], [])
            .SetItems()
            .EmptyDict().Str("_metadata").OrderedDict().Str("").EmptyDict().Str("version").Int(1).SetItem().SetItem().SetItem()
            .Build().Stop();
        byte[] half = new byte[4];
        MemoryMarshal.Cast<byte, Half>(half.AsSpan())[0] = (Half)1.5f;
        MemoryMarshal.Cast<byte, Half>(half.AsSpan())[1] = (Half)(-2f);
        using TorchCheckpoint file = Write(ZipWriter.TorchArchive(w.ToArray(), ("7", half), ("8", BitConverter.GetBytes(42L))));

        Assert.Equal(["p", "n"], file.Keys);
        Assert.Equal(DType.Float16, file.GetInfo("p").DType);
        Assert.Equal([1.5f, -2f], file.ReadFloat32("p", [2]));
        Assert.Equal(DType.Int64, file.GetInfo("n").DType);
        Assert.Equal(42L, BitConverter.ToInt64(file.GetBytes("n")));
    }

    [Theory]
    [InlineData("os", "system")]
    [InlineData("posix", "system")]
    [InlineData("nt", "system")]
    [InlineData("builtins", "eval")]
    [InlineData("builtins", "exec")]
    [InlineData("subprocess", "Popen")]
    [InlineData("torch", "load")]
    [InlineData("torch._utils", "_rebuild_tensor")]
    public void Forbidden_global_is_refused(string module, string name)
    {
        string marker = Path.Combine(_dir, "pwned");
        byte[] viaGlobal = new PickleWriter().Proto().Global(module, name).Str($"touch {marker}").Tuple1().Reduce().Stop().ToArray();
        byte[] viaStackGlobal = new PickleWriter().Proto(4).StackGlobal(module, name).Str($"touch {marker}").Tuple1().Reduce().Stop().ToArray();
        foreach (byte[] pickle in new[] { viaGlobal, viaStackGlobal })
        {
            string path = WritePath(ZipWriter.TorchArchive(pickle));
            var e = Assert.Throws<BarkUnsafeCheckpointException>(() => TorchCheckpoint.Open(path));
            Assert.Equal(module, e.Module);
            Assert.Equal(name, e.Name);
            Assert.Equal(path, e.FilePath);
            Assert.Contains($"'{module}.{name}'", e.Message);
            Assert.IsType<BarkUnsafeCheckpointException>(Assert.ThrowsAny<BarkFormatException>(() => Checkpoint.OpenCheckpoint(path)));
        }
        Assert.False(File.Exists(marker));
    }

    [Fact]
    public void Payload_hidden_after_valid_tensors_does_not_run()
    {
        // A real-looking state dict whose second value is os.system("touch <marker>"): the whole file is refused, nothing runs.
        string marker = Path.Combine(_dir, "payload-ran");
        byte[] pickle = PickleWriter.StateDict(
            ("w", w => w.Tensor("FloatStorage", "0", 2, 0, [2], [1])),
            ("evil", w => w.Global("os", "system").Str($"touch {marker}").Tuple1().Reduce()));
        string path = WritePath(ZipWriter.TorchArchive(pickle, ("0", Floats.Bytes(1, 2))));
        var e = Assert.Throws<BarkUnsafeCheckpointException>(() => TorchCheckpoint.Open(path));
        Assert.Equal(("os", "system"), (e.Module, e.Name));
        Assert.False(File.Exists(marker));
    }

    [Fact]
    public void Truncated_bin_is_rejected()
    {
        byte[] bytes = File.ReadAllBytes(BinPath);
        string path = WritePath(bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<BarkFormatException>(() => TorchCheckpoint.Open(path));
        Assert.Equal(path, e.FilePath);
        Assert.Contains("not a zip archive or is truncated", e.Message);

        path = WritePath(bytes[..(bytes.Length - 10)]);
        e = Assert.Throws<BarkFormatException>(() => Checkpoint.OpenCheckpoint(path));
        Assert.Contains("truncated", e.Message);
    }

    [Theory]
    [InlineData(4, 6, 0, "should hold 6 Float32 elements (24 bytes) but has 16 bytes")]
    [InlineData(16, 4, 1, "reaches element 4 of storage 'archive/data/0', which holds only 4 elements")]
    public void Storage_too_short_for_the_view_is_rejected(int storageFloats, int numel, int offset, string expected)
    {
        byte[] pickle = PickleWriter.StateDict(("w", w => w.Tensor("FloatStorage", "0", numel, offset, [2, 2], [2, 1])));
        string path = WritePath(ZipWriter.TorchArchive(pickle, ("0", new byte[storageFloats * 4])));
        var e = Assert.Throws<BarkFormatException>(() => TorchCheckpoint.Open(path));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Missing_entries_are_named()
    {
        byte[] pickle = PickleWriter.StateDict(("w", w => w.Tensor("FloatStorage", "3", 2, 0, [2], [1])));
        string path = WritePath(ZipWriter.TorchArchive(pickle));
        var e = Assert.Throws<BarkFormatException>(() => TorchCheckpoint.Open(path));
        Assert.Contains("tensor 'w' uses storage '3', but the archive has no entry 'archive/data/3'", e.Message);

        path = WritePath(ZipWriter.Build([("archive/version", "3\n"u8.ToArray())]));
        e = Assert.Throws<BarkFormatException>(() => TorchCheckpoint.Open(path));
        Assert.Contains("no 'archive/data.pkl' entry", e.Message);
    }

    [Fact]
    public void Root_that_is_not_a_dict_of_tensors_is_rejected()
    {
        string path = WritePath(ZipWriter.TorchArchive(new PickleWriter().Proto().EmptyList().Stop().ToArray()));
        var e = Assert.Throws<BarkFormatException>(() => TorchCheckpoint.Open(path));
        Assert.Contains("the pickled object is a list of 0, not a dict of tensors", e.Message);

        byte[] nested = PickleWriter.StateDict(("state_dict", w => w.EmptyDict().Str("w").Tensor("FloatStorage", "0", 2, 0, [2], [1]).SetItem()));
        path = WritePath(ZipWriter.TorchArchive(nested, ("0", Floats.Bytes(1, 2))));
        e = Assert.Throws<BarkFormatException>(() => TorchCheckpoint.Open(path));
        Assert.Contains("key 'state_dict' holds a dict of 1, not a tensor", e.Message);
    }

    [Theory]
    [InlineData(new byte[] { 0x80, 2, (byte)'d', (byte)'.' }, "offset 2: opcode 0x64 ('d') is not one a torch state dict uses")]
    [InlineData(new byte[] { 0x80, 2, (byte)'}' }, "without a STOP opcode")]
    [InlineData(new byte[] { 0x80, 2, (byte)'X', 200, 0, 0, 0, (byte)'a' }, "offset 2: the opcode needs 200 more bytes")]
    [InlineData(new byte[] { 0x80, 2, (byte)'h', 5, (byte)'.' }, "memo slot 5 is read before it is written")]
    [InlineData(new byte[] { 0x80, 2, (byte)'c', (byte)'o', (byte)'s' }, "no terminating newline")]
    [InlineData(new byte[] { 0x80, 2, (byte)'t', (byte)'.' }, "needs a MARK")]
    public void Malformed_pickles_are_rejected(byte[] pickle, string expected)
    {
        string path = WritePath(ZipWriter.TorchArchive(pickle));
        var e = Assert.Throws<BarkFormatException>(() => TorchCheckpoint.Open(path));
        Assert.Contains("pickle 'archive/data.pkl'", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Unsupported_compression_and_byte_order_are_named()
    {
        byte[] pickle = PickleWriter.StateDict();
        string path = WritePath(ZipWriter.Build([("archive/data.pkl", pickle)], method: _ => 12));
        var e = Assert.Throws<BarkFormatException>(() => TorchCheckpoint.Open(path));
        Assert.Contains("zip entry 'archive/data.pkl' uses compression method 12", e.Message);

        path = WritePath(ZipWriter.Build([("archive/data.pkl", pickle), ("archive/byteorder", "big"u8.ToArray())]));
        e = Assert.Throws<BarkFormatException>(() => TorchCheckpoint.Open(path));
        Assert.Contains("big-endian", e.Message);

        path = WritePath(ZipWriter.Build([("archive/data.pkl", pickle), ("archive/byteorder", "little"u8.ToArray())]));
        using TorchCheckpoint empty = TorchCheckpoint.Open(path);
        Assert.Empty(empty.Keys);
    }

    [Fact]
    public void OpenCheckpoint_picks_the_reader_by_content()
    {
        using (ITensorStore bin = Checkpoint.OpenCheckpoint(BinPath))
            Assert.IsType<TorchCheckpoint>(bin);
        using (ITensorStore st = Checkpoint.OpenCheckpoint(SafetensorsPath))
            Assert.IsType<SafeTensorsFile>(st);

        string misnamed = Path.Combine(_dir, "model.pt");
        File.Copy(SafetensorsPath, misnamed);
        using (ITensorStore st = Checkpoint.OpenCheckpoint(misnamed))
            Assert.IsType<SafeTensorsFile>(st);

        // The legacy format starts with a protocol-2 pickle of torch's magic number.
        string legacy = WritePath([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]);
        var e = Assert.Throws<BarkFormatException>(() => Checkpoint.OpenCheckpoint(legacy));
        Assert.Contains("legacy (pre-1.6) torch.save format", e.Message);
        Assert.Contains("safetensors", e.Message);

        string text = WritePath("hello, world\n"u8.ToArray());
        e = Assert.Throws<BarkFormatException>(() => Checkpoint.OpenCheckpoint(text));
        Assert.Contains("neither a safetensors file nor a torch.save zip checkpoint", e.Message);

        e = Assert.Throws<BarkFormatException>(() => Checkpoint.OpenCheckpoint(Path.Combine(_dir, "missing.bin")));
        Assert.Contains("does not exist", e.Message);
    }

    private static void AssertSameTensors(ITensorStore expected, ITensorStore actual)
    {
        Assert.NotEmpty(expected.Keys);
        foreach (string key in expected.Keys)
        {
            TensorInfo e = expected.GetInfo(key);
            TensorInfo a = actual.GetInfo(key);
            Assert.True(e.DType == a.DType, $"{key}: dtype {a.DType}, expected {e.DType}");
            Assert.True(e.Shape.SequenceEqual(a.Shape), $"{key}: shape {a.ShapeText}, expected {e.ShapeText}");
            Assert.True(expected.GetBytes(key).SequenceEqual(actual.GetBytes(key)), $"{key}: bytes differ");
        }
    }

    private string WritePath(byte[] bytes)
    {
        string path = Path.Combine(_dir, Guid.NewGuid().ToString("N") + ".bin");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private TorchCheckpoint Write(byte[] bytes) => TorchCheckpoint.Open(WritePath(bytes));
}
