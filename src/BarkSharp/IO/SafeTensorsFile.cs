using System.Buffers.Binary;
using System.Text.Json;

namespace BarkSharp.IO;

/// <summary>
/// A memory-mapped <c>.safetensors</c> file: an 8-byte little-endian header length, a JSON header mapping each key to
/// <c>{dtype, shape, data_offsets}</c>, then the raw tensor bytes. The header is validated when the file is opened:
/// every range lies inside the data section, ranges do not overlap, and each range's length equals its shape times
/// the element size.
/// </summary>
internal sealed class SafeTensorsFile : ITensorStore
{
    private const long MaxHeaderBytes = 100L * 1024 * 1024;

    private readonly MappedFile _file;
    private readonly Dictionary<string, (TensorInfo Info, long Offset)> _tensors = new(StringComparer.Ordinal);
    private readonly List<string> _keys = [];
    private readonly long _dataStart;

    private SafeTensorsFile(string path)
    {
        _file = new MappedFile(path);
        try
        {
            _dataStart = ParseHeader(out Dictionary<string, string> metadata);
            Metadata = metadata;
        }
        catch
        {
            _file.Dispose();
            throw;
        }
    }

    /// <summary>Opens and validates a safetensors file.</summary>
    /// <exception cref="BarkFormatException">The file is missing, truncated or its header is invalid.</exception>
    public static SafeTensorsFile Open(string path)
    {
        if (!File.Exists(path))
            throw new BarkFormatException(path, "the file does not exist.");
        return new SafeTensorsFile(path);
    }

    /// <inheritdoc />
    public string SourcePath => _file.Path;

    /// <inheritdoc />
    public IReadOnlyList<string> Keys => _keys;

    /// <summary>The optional <c>__metadata__</c> string map of the header (e.g. <c>{"format": "pt"}</c>).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <inheritdoc />
    public bool TryGetInfo(string key, out TensorInfo info)
    {
        if (_tensors.TryGetValue(key, out var entry))
        {
            info = entry.Info;
            return true;
        }
        info = null!;
        return false;
    }

    /// <inheritdoc />
    public ReadOnlySpan<byte> GetBytes(string key)
    {
        if (!_tensors.TryGetValue(key, out var entry))
            throw new BarkWeightException(key, $"{SourcePath}: the checkpoint has no tensor '{key}'.");
        return _file.Span(_dataStart + entry.Offset, entry.Info.ByteLength);
    }

    /// <summary>Reads the tensor with positioned file reads (the page cache, not this process's memory, holds the pages).</summary>
    public void CopyBytes(string key, Span<byte> destination)
    {
        if (!_tensors.TryGetValue(key, out var entry))
            throw new BarkWeightException(key, $"{SourcePath}: the checkpoint has no tensor '{key}'.");
        if (destination.Length != entry.Info.ByteLength)
            throw new ArgumentException($"destination has {destination.Length} bytes; tensor '{key}' has {entry.Info.ByteLength}.", nameof(destination));
        _handle ??= File.OpenHandle(SourcePath, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.RandomAccess);
        long position = _dataStart + entry.Offset;
        while (!destination.IsEmpty)
        {
            int read = RandomAccess.Read(_handle, destination, position);
            if (read <= 0) throw new BarkFormatException(SourcePath, $"the file ended while reading tensor '{key}'; it was truncated after opening.");
            destination = destination[read..];
            position += read;
        }
    }

    private Microsoft.Win32.SafeHandles.SafeFileHandle? _handle;

    /// <inheritdoc />
    public void Dispose()
    {
        _handle?.Dispose();
        _file.Dispose();
    }

    private long ParseHeader(out Dictionary<string, string> metadata)
    {
        string path = _file.Path;
        if (_file.Length < 8)
            throw new BarkFormatException(path, $"the file has {_file.Length} bytes, fewer than the 8-byte header length of a safetensors file; it is truncated or not a safetensors file.");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(_file.Span(0, 8));
        if (headerLength > (ulong)MaxHeaderBytes || (long)headerLength > _file.Length - 8)
            throw new BarkFormatException(path, $"the header claims {headerLength} bytes but the file has only {_file.Length - 8} after the length field; the file is truncated or not a safetensors file.");
        long dataStart = 8 + (long)headerLength;
        long dataLength = _file.Length - dataStart;

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(_file.Span(8, (long)headerLength).ToArray());
        }
        catch (JsonException e)
        {
            throw new BarkFormatException(path, $"the header is not valid JSON ({e.Message}); the file is corrupt.", e);
        }

        metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var ranges = new List<(long Begin, long End, string Key)>();
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new BarkFormatException(path, "the header is not a JSON object.");
            foreach (JsonProperty prop in doc.RootElement.EnumerateObject())
            {
                if (prop.Name == "__metadata__")
                {
                    if (prop.Value.ValueKind == JsonValueKind.Object)
                        foreach (JsonProperty m in prop.Value.EnumerateObject())
                            metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()! : m.Value.GetRawText();
                    continue;
                }
                (TensorInfo info, long begin, long end) = ParseEntry(path, prop);
                if (end > dataLength)
                    throw new BarkFormatException(path, $"tensor '{prop.Name}' spans bytes {begin}..{end} of the data section, but the file holds only {dataLength} data bytes; the file is truncated.");
                _tensors.Add(prop.Name, (info, begin));
                _keys.Add(prop.Name);
                ranges.Add((begin, end, prop.Name));
            }
        }

        ranges.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
        for (int i = 1; i < ranges.Count; i++)
        {
            if (ranges[i].Begin < ranges[i - 1].End)
                throw new BarkFormatException(path, $"tensors '{ranges[i - 1].Key}' and '{ranges[i].Key}' overlap in the data section; the header is corrupt.");
        }
        return dataStart;
    }

    private static (TensorInfo Info, long Begin, long End) ParseEntry(string path, JsonProperty prop)
    {
        JsonElement e = prop.Value;
        if (e.ValueKind != JsonValueKind.Object
            || !e.TryGetProperty("dtype", out JsonElement dtypeEl) || dtypeEl.ValueKind != JsonValueKind.String
            || !e.TryGetProperty("shape", out JsonElement shapeEl) || shapeEl.ValueKind != JsonValueKind.Array
            || !e.TryGetProperty("data_offsets", out JsonElement offEl) || offEl.ValueKind != JsonValueKind.Array || offEl.GetArrayLength() != 2)
            throw new BarkFormatException(path, $"header entry '{prop.Name}' must have 'dtype', 'shape' and a two-element 'data_offsets'.");

        DType dtype = dtypeEl.GetString() switch
        {
            "F32" => DType.Float32,
            "F16" => DType.Float16,
            "BF16" => DType.BFloat16,
            "F64" => DType.Float64,
            "I64" => DType.Int64,
            "I32" => DType.Int32,
            "I16" => DType.Int16,
            "I8" => DType.Int8,
            "U64" => DType.UInt64,
            "U32" => DType.UInt32,
            "U16" => DType.UInt16,
            "U8" => DType.UInt8,
            "BOOL" => DType.Bool,
            var other => throw new BarkFormatException(path, $"tensor '{prop.Name}' has dtype '{other}', which BarkSharp does not read (supported: F32, F16, BF16, F64, I64, I32, I16, I8, U64, U32, U16, U8, BOOL)."),
        };

        var shape = new long[shapeEl.GetArrayLength()];
        int d = 0;
        foreach (JsonElement dim in shapeEl.EnumerateArray())
        {
            if (!dim.TryGetInt64(out long v) || v < 0)
                throw new BarkFormatException(path, $"tensor '{prop.Name}' has an invalid shape {shapeEl.GetRawText()}.");
            shape[d++] = v;
        }

        if (!offEl[0].TryGetInt64(out long begin) || !offEl[1].TryGetInt64(out long end) || begin < 0 || end < begin)
            throw new BarkFormatException(path, $"tensor '{prop.Name}' has invalid data_offsets {offEl.GetRawText()}.");

        var info = new TensorInfo(prop.Name, dtype, shape);
        long expected;
        try
        {
            expected = checked(info.ElementCount * dtype.SizeOf());
        }
        catch (OverflowException)
        {
            throw new BarkFormatException(path, $"tensor '{prop.Name}' has an impossible shape {info.ShapeText}.");
        }
        if (end - begin != expected)
            throw new BarkFormatException(path, $"tensor '{prop.Name}' has shape {info.ShapeText} of {dtype} ({expected} bytes) but data_offsets cover {end - begin} bytes; the header is corrupt.");
        return (info, begin, end);
    }
}
