using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;

namespace BarkSharp.IO;

/// <summary>
/// An n-dimensional array read from (or to be written as) a NumPy <c>.npy</c> file: element type, shape and the
/// little-endian bytes in C order. Fortran-ordered and big-endian files are converted on read.
/// </summary>
internal sealed partial class NpyArray
{
    private static ReadOnlySpan<byte> Magic => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>Creates an array from C-ordered little-endian <paramref name="data"/>.</summary>
    public NpyArray(DType dtype, long[] shape, byte[] data)
    {
        DType = dtype;
        Shape = shape;
        Data = data;
        long expected = ElementCount * dtype.SizeOf();
        if (expected != data.Length)
            throw new ArgumentException($"shape {TensorInfo.FormatShape(shape)} of {dtype} needs {expected} bytes, got {data.Length}.", nameof(data));
    }

    /// <summary>The element type.</summary>
    public DType DType { get; }

    /// <summary>The shape, outermost dimension first (empty for a scalar).</summary>
    public long[] Shape { get; }

    /// <summary>The elements, C order, little endian.</summary>
    public byte[] Data { get; }

    /// <summary>Number of elements.</summary>
    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (long d in Shape) n *= d;
            return n;
        }
    }

    /// <summary>Creates an int64 array.</summary>
    public static NpyArray FromInt64(long[] values, params long[] shape) =>
        new(DType.Int64, shape, MemoryMarshal.AsBytes(values.AsSpan()).ToArray());

    /// <summary>Creates a float32 array.</summary>
    public static NpyArray FromFloat32(float[] values, params long[] shape) =>
        new(DType.Float32, shape, MemoryMarshal.AsBytes(values.AsSpan()).ToArray());

    /// <summary>The elements converted to float32 (floating-point arrays only).</summary>
    public float[] ToFloat32()
    {
        if (!DType.IsFloatingPoint())
            throw new InvalidOperationException($"array of {DType} is not floating-point.");
        var result = new float[ElementCount];
        TensorStoreExtensions.ConvertToFloat32(Data, DType, result);
        return result;
    }

    /// <summary>The elements converted to int64 (integer and bool arrays only).</summary>
    public long[] ToInt64()
    {
        if (DType.IsFloatingPoint())
            throw new InvalidOperationException($"array of {DType} is not an integer array.");
        var result = new long[ElementCount];
        TensorStoreExtensions.ConvertToInt64(Data, DType, result);
        return result;
    }

    /// <summary>Reads a <c>.npy</c> file.</summary>
    /// <exception cref="BarkFormatException">The file is missing, truncated or not a readable npy file.</exception>
    public static NpyArray Load(string path)
    {
        if (!File.Exists(path))
            throw new BarkFormatException(path, "the file does not exist.");
        using FileStream stream = File.OpenRead(path);
        return Read(stream, path);
    }

    /// <summary>Reads one npy array from <paramref name="stream"/>; <paramref name="name"/> is used in error messages.</summary>
    public static NpyArray Read(Stream stream, string name)
    {
        Span<byte> prefix = stackalloc byte[10];
        if (!TryReadExactly(stream, prefix))
            throw new BarkFormatException(name, "the file is too short to be a .npy array (truncated?).");
        if (!prefix[..6].SequenceEqual(Magic))
            throw new BarkFormatException(name, "the file does not start with the .npy magic bytes; it is not a NumPy array.");
        int major = prefix[6];
        int headerLength;
        if (major == 1)
        {
            headerLength = BinaryPrimitives.ReadUInt16LittleEndian(prefix[8..10]);
        }
        else if (major is 2 or 3)
        {
            Span<byte> rest = stackalloc byte[2];
            if (!TryReadExactly(stream, rest))
                throw new BarkFormatException(name, "the .npy header is truncated.");
            headerLength = (int)BinaryPrimitives.ReadUInt32LittleEndian([prefix[8], prefix[9], rest[0], rest[1]]);
            if (headerLength > 1 << 24)
                throw new BarkFormatException(name, $"the .npy header claims {headerLength} bytes, which is implausible.");
        }
        else
        {
            throw new BarkFormatException(name, $".npy format version {major}.{prefix[7]} is not supported (1.x, 2.x and 3.x are).");
        }

        var headerBytes = new byte[headerLength];
        if (!TryReadExactly(stream, headerBytes))
            throw new BarkFormatException(name, "the .npy header is truncated.");
        string header = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(headerBytes);

        Match descr = DescrRegex().Match(header);
        Match fortran = FortranRegex().Match(header);
        Match shapeMatch = ShapeRegex().Match(header);
        if (!descr.Success || !fortran.Success || !shapeMatch.Success)
            throw new BarkFormatException(name, $"the .npy header '{header.Trim()}' lacks 'descr', 'fortran_order' or 'shape'.");

        (DType dtype, bool bigEndian) = ParseDescr(descr.Groups[1].Value, name);
        long[] shape = shapeMatch.Groups[1].Value
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => long.TryParse(s.TrimEnd('L'), NumberStyles.None, CultureInfo.InvariantCulture, out long v)
                ? v
                : throw new BarkFormatException(name, $"the .npy shape '({shapeMatch.Groups[1].Value})' is not a tuple of sizes."))
            .ToArray();

        long count = 1;
        foreach (long d in shape) count = checked(count * d);
        long bytes = checked(count * dtype.SizeOf());
        if (bytes > Array.MaxLength)
            throw new BarkFormatException(name, $"the array of shape {TensorInfo.FormatShape(shape)} is too large ({bytes} bytes).");
        var data = new byte[bytes];
        if (!TryReadExactly(stream, data))
            throw new BarkFormatException(name, $"the array data is truncated: shape {TensorInfo.FormatShape(shape)} of {dtype} needs {bytes} bytes.");

        if (bigEndian) SwapBytes(data, dtype.SizeOf());
        if (fortran.Groups[1].Value == "True" && shape.Length > 1) data = FortranToC(data, shape, dtype.SizeOf());
        return new NpyArray(dtype, shape, data);
    }

    /// <summary>Writes the array in .npy format 1.0 (little endian, C order).</summary>
    public void Write(Stream stream)
    {
        string descr = DType switch
        {
            DType.Float32 => "<f4",
            DType.Float16 => "<f2",
            DType.Float64 => "<f8",
            DType.Int64 => "<i8",
            DType.Int32 => "<i4",
            DType.Int16 => "<i2",
            DType.Int8 => "|i1",
            DType.UInt64 => "<u8",
            DType.UInt32 => "<u4",
            DType.UInt16 => "<u2",
            DType.UInt8 => "|u1",
            DType.Bool => "|b1",
            _ => throw new NotSupportedException($"{DType} has no numpy equivalent."),
        };
        string shape = Shape.Length == 1 ? $"({Shape[0]},)" : "(" + string.Join(", ", Shape) + ")";
        string header = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}";
        int total = 10 + header.Length + 1;
        int padding = (64 - total % 64) % 64;
        header = header + new string(' ', padding) + "\n";
        stream.Write(Magic);
        stream.Write([1, 0]);
        Span<byte> len = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(len, (ushort)header.Length);
        stream.Write(len);
        stream.Write(Encoding.Latin1.GetBytes(header));
        stream.Write(Data);
    }

    private static (DType, bool BigEndian) ParseDescr(string descr, string name)
    {
        char order = descr.Length > 0 ? descr[0] : '?';
        string code = order is '<' or '>' or '|' or '=' ? descr[1..] : descr;
        bool bigEndian = order == '>';
        DType? type = code switch
        {
            "f4" => DType.Float32,
            "f2" => DType.Float16,
            "f8" => DType.Float64,
            "i8" => DType.Int64,
            "i4" => DType.Int32,
            "i2" => DType.Int16,
            "i1" => DType.Int8,
            "u8" => DType.UInt64,
            "u4" => DType.UInt32,
            "u2" => DType.UInt16,
            "u1" => DType.UInt8,
            "b1" => DType.Bool,
            _ => null,
        };
        return type is null
            ? throw new BarkFormatException(name, $"the .npy dtype '{descr}' is not supported (numeric and bool arrays are).")
            : (type.Value, bigEndian);
    }

    private static void SwapBytes(byte[] data, int size)
    {
        if (size == 1) return;
        for (int i = 0; i < data.Length; i += size) data.AsSpan(i, size).Reverse();
    }

    private static byte[] FortranToC(byte[] data, long[] shape, int size)
    {
        var result = new byte[data.Length];
        int n = shape.Length;
        long count = data.Length / size;
        var index = new long[n];
        for (long f = 0; f < count; f++)
        {
            // f enumerates Fortran order: the first index changes fastest.
            long rem = f;
            for (int d = 0; d < n; d++)
            {
                index[d] = rem % shape[d];
                rem /= shape[d];
            }
            long c = 0;
            for (int d = 0; d < n; d++) c = c * shape[d] + index[d];
            Buffer.BlockCopy(data, (int)(f * size), result, (int)(c * size), size);
        }
        return result;
    }

    private static bool TryReadExactly(Stream stream, Span<byte> buffer)
    {
        try
        {
            stream.ReadExactly(buffer);
            return true;
        }
        catch (EndOfStreamException)
        {
            return false;
        }
    }

    [GeneratedRegex(@"'descr'\s*:\s*'([^']*)'")]
    private static partial Regex DescrRegex();

    [GeneratedRegex(@"'fortran_order'\s*:\s*(True|False)")]
    private static partial Regex FortranRegex();

    [GeneratedRegex(@"'shape'\s*:\s*\(([^)]*)\)")]
    private static partial Regex ShapeRegex();
}
