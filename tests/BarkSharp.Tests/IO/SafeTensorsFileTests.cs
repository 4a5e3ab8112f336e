using System.Buffers.Binary;
using System.Text;
using BarkSharp.IO;
using BarkSharp.Tests.Infrastructure;

namespace BarkSharp.Tests.IO;

public class SafeTensorsFileTests
{
    private static string SafetensorsPath => Path.Combine(Fixtures.TinyBark, "model.safetensors");

    [Fact]
    public void Reads_tiny_checkpoint_header_and_data()
    {
        using SafeTensorsFile file = SafeTensorsFile.Open(SafetensorsPath);
        TensorInfo info = file.GetInfo("semantic.layers.0.attn.att_proj.weight");
        Assert.Equal(DType.Float32, info.DType);
        Assert.Equal([12L, 4L], info.Shape);
        Assert.DoesNotContain(file.Keys, k => k.StartsWith("fine_acoustics.lm_heads.", StringComparison.Ordinal));
        float[] w = file.ReadFloat32("semantic.layers.0.attn.att_proj.weight", [12, 4]);
        Assert.Contains(w, v => v != 0);
    }

    [Fact]
    public void File_reads_give_the_same_bytes_as_the_mapping()
    {
        using SafeTensorsFile file = SafeTensorsFile.Open(SafetensorsPath);
        foreach (string key in file.Keys)
        {
            var copy = new byte[file.GetInfo(key).ByteLength];
            file.CopyBytes(key, copy);
            Assert.True(file.GetBytes(key).SequenceEqual(copy), key);
        }
        Assert.Throws<ArgumentException>(() => file.CopyBytes(file.Keys[0], new byte[1]));
    }

    [Fact]
    public void Truncated_file_is_rejected_with_the_tensor_named()
    {
        string dir = Fixtures.TempDir();
        try
        {
            byte[] bytes = File.ReadAllBytes(SafetensorsPath);
            string path = Path.Combine(dir, "cut.safetensors");
            File.WriteAllBytes(path, bytes[..(bytes.Length - 100)]);
            var e = Assert.Throws<BarkFormatException>(() => SafeTensorsFile.Open(path));
            Assert.Contains("truncated", e.Message);
            Assert.Equal(path, e.FilePath);

            File.WriteAllBytes(path, bytes[..5]);
            e = Assert.Throws<BarkFormatException>(() => SafeTensorsFile.Open(path));
            Assert.Contains("fewer than the 8-byte header", e.Message);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Theory]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8, "file holds only 8 data bytes")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,16]}}", 16, "data_offsets cover 16 bytes")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 16, "overlap")]
    [InlineData("{\"a\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "dtype 'Q4'")]
    [InlineData("{\"a\":", 8, "not valid JSON")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, "data_offsets")]
    public void Invalid_headers_are_rejected(string header, int dataBytes, string expectedMessage)
    {
        string dir = Fixtures.TempDir();
        try
        {
            string path = Path.Combine(dir, "bad.safetensors");
            File.WriteAllBytes(path, Build(header, dataBytes));
            var e = Assert.Throws<BarkFormatException>(() => SafeTensorsFile.Open(path));
            Assert.Contains(expectedMessage, e.Message);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void Header_length_past_end_is_rejected()
    {
        string dir = Fixtures.TempDir();
        try
        {
            string path = Path.Combine(dir, "bad.safetensors");
            byte[] bytes = Build("{}", 0);
            BinaryPrimitives.WriteUInt64LittleEndian(bytes, 1_000_000);
            File.WriteAllBytes(path, bytes);
            var e = Assert.Throws<BarkFormatException>(() => SafeTensorsFile.Open(path));
            Assert.Contains("header claims 1000000 bytes", e.Message);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void Half_and_bfloat16_are_converted()
    {
        string dir = Fixtures.TempDir();
        try
        {
            string path = Path.Combine(dir, "mixed.safetensors");
            string header = "{\"h\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[4,8]}}";
            byte[] bytes = Build(header, 8);
            int data = bytes.Length - 8;
            BinaryPrimitives.WriteHalfLittleEndian(bytes.AsSpan(data), (Half)1.5f);
            BinaryPrimitives.WriteHalfLittleEndian(bytes.AsSpan(data + 2), (Half)(-2.25f));
            BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(data + 4), (ushort)(BitConverter.SingleToUInt32Bits(3.0f) >> 16));
            BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(data + 6), (ushort)(BitConverter.SingleToUInt32Bits(-0.5f) >> 16));
            File.WriteAllBytes(path, bytes);
            using SafeTensorsFile file = SafeTensorsFile.Open(path);
            Assert.Equal([1.5f, -2.25f], file.ReadFloat32("h", [2]));
            Assert.Equal([3.0f, -0.5f], file.ReadFloat32("b", [2]));
            var e = Assert.Throws<BarkWeightException>(() => file.ReadFloat32("h", [3]));
            Assert.Contains("[2]", e.Message);
            Assert.Contains("[3]", e.Message);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    internal static byte[] Build(string header, int dataBytes)
    {
        byte[] h = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + h.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)h.Length);
        h.CopyTo(bytes, 8);
        return bytes;
    }
}
