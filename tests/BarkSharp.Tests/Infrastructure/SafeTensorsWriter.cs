using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using BarkSharp.IO;

namespace BarkSharp.Tests.Infrastructure;

/// <summary>Writes safetensors files for tests (e.g. a fixture with a tensor removed or reshaped).</summary>
internal static class SafeTensorsWriter
{
    public static void Write(string path, IEnumerable<(string Name, DType DType, long[] Shape, byte[] Data)> tensors)
    {
        var header = new Dictionary<string, object>();
        var data = new MemoryStream();
        foreach (var (name, dtype, shape, bytes) in tensors)
        {
            string code = dtype switch
            {
                DType.Float32 => "F32",
                DType.Float16 => "F16",
                DType.BFloat16 => "BF16",
                DType.Bool => "BOOL",
                DType.Int64 => "I64",
                _ => throw new NotSupportedException(dtype.ToString()),
            };
            header[name] = new { dtype = code, shape, data_offsets = new[] { data.Length, data.Length + bytes.Length } };
            data.Write(bytes);
        }
        byte[] json = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(header));
        using var f = File.Create(path);
        Span<byte> len = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)json.Length);
        f.Write(len);
        f.Write(json);
        data.Position = 0;
        data.CopyTo(f);
    }

    /// <summary>Copies a store's tensors through <paramref name="edit"/>, which may drop (return null) or change entries.</summary>
    public static void Rewrite(ITensorStore source, string path,
        Func<(string Name, DType DType, long[] Shape, byte[] Data), (string Name, DType DType, long[] Shape, byte[] Data)?> edit)
    {
        var list = new List<(string, DType, long[], byte[])>();
        foreach (string key in source.Keys)
        {
            TensorInfo info = source.GetInfo(key);
            var edited = edit((key, info.DType, info.Shape, source.GetBytes(key).ToArray()));
            if (edited is { } e) list.Add(e);
        }
        Write(path, list);
    }
}
