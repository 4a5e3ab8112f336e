using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace BarkSharp.IO;

/// <summary>Typed reads from an <see cref="ITensorStore"/>: dtype conversion and shape checks in one place.</summary>
internal static class TensorStoreExtensions
{
    /// <summary>Gets a tensor's info or throws a <see cref="BarkWeightException"/> naming the missing key.</summary>
    public static TensorInfo GetInfo(this ITensorStore store, string key)
    {
        if (!store.TryGetInfo(key, out TensorInfo info))
            throw new BarkWeightException(key, $"{store.SourcePath}: the checkpoint has no tensor '{key}'.");
        return info;
    }

    /// <summary>True when the store has <paramref name="key"/>.</summary>
    public static bool Contains(this ITensorStore store, string key) => store.TryGetInfo(key, out _);

    /// <summary>
    /// Reads a floating-point tensor as float32, checking its shape against <paramref name="expectedShape"/>
    /// (when given). Float16, BFloat16 and Float64 are converted.
    /// </summary>
    public static float[] ReadFloat32(this ITensorStore store, string key, ReadOnlySpan<long> expectedShape = default)
    {
        TensorInfo info = store.GetInfo(key);
        var result = new float[checked((int)info.ElementCount)];
        store.ReadFloat32Into(key, result, expectedShape);
        return result;
    }

    /// <summary>
    /// Reads a floating-point tensor as float32 into <paramref name="destination"/> (exactly its element count),
    /// checking its shape against <paramref name="expectedShape"/> (when given); lets a loader reuse one buffer.
    /// </summary>
    public static void ReadFloat32Into(this ITensorStore store, string key, Span<float> destination, ReadOnlySpan<long> expectedShape = default)
    {
        TensorInfo info = store.GetInfo(key);
        if (!expectedShape.IsEmpty || info.Shape.Length == 0)
            CheckShape(store, info, expectedShape);
        if (!info.DType.IsFloatingPoint())
            throw new BarkWeightException(key, $"{store.SourcePath}: tensor '{key}' has dtype {info.DType}; a floating-point tensor was expected.");
        if (destination.Length != info.ElementCount)
            throw new ArgumentException($"destination has {destination.Length} elements; '{key}' has {info.ElementCount}.", nameof(destination));
        if (info.DType == DType.Float32)
        {
            store.CopyBytes(key, MemoryMarshal.AsBytes(destination));
        }
        else
        {
            var bytes = new byte[info.ByteLength];
            store.CopyBytes(key, bytes);
            ConvertToFloat32(bytes, info.DType, destination);
        }
    }

    /// <summary>Throws a <see cref="BarkWeightException"/> naming both shapes when <paramref name="info"/> does not have <paramref name="expected"/>.</summary>
    public static void CheckShape(ITensorStore store, TensorInfo info, ReadOnlySpan<long> expected)
    {
        if (!info.Shape.AsSpan().SequenceEqual(expected))
            throw new BarkWeightException(info.Name,
                $"{store.SourcePath}: tensor '{info.Name}' has shape {info.ShapeText} but the configuration expects {TensorInfo.FormatShape(expected)}. " +
                "Check that config.json belongs to this checkpoint.");
    }

    /// <summary>Converts little-endian elements of a floating-point <paramref name="type"/> to float32.</summary>
    public static void ConvertToFloat32(ReadOnlySpan<byte> source, DType type, Span<float> destination)
    {
        switch (type)
        {
            case DType.Float32:
                MemoryMarshal.Cast<byte, float>(source).CopyTo(destination);
                break;
            case DType.Float16:
                {
                    ReadOnlySpan<Half> h = MemoryMarshal.Cast<byte, Half>(source);
                    System.Numerics.Tensors.TensorPrimitives.ConvertToSingle(h, destination);
                    break;
                }
            case DType.BFloat16:
                {
                    ReadOnlySpan<ushort> b = MemoryMarshal.Cast<byte, ushort>(source);
                    Span<uint> bits = MemoryMarshal.Cast<float, uint>(destination);
                    for (int i = 0; i < b.Length; i++) bits[i] = (uint)b[i] << 16;
                    break;
                }
            case DType.Float64:
                {
                    ReadOnlySpan<double> d = MemoryMarshal.Cast<byte, double>(source);
                    for (int i = 0; i < d.Length; i++) destination[i] = (float)d[i];
                    break;
                }
            default:
                throw new ArgumentException($"{type} is not a floating-point type.", nameof(type));
        }
    }

    /// <summary>Converts little-endian integer (or bool) elements to int64.</summary>
    public static void ConvertToInt64(ReadOnlySpan<byte> source, DType type, Span<long> destination)
    {
        int size = type.SizeOf();
        for (int i = 0; i < destination.Length; i++)
        {
            ReadOnlySpan<byte> e = source.Slice(i * size, size);
            destination[i] = type switch
            {
                DType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(e),
                DType.UInt64 => checked((long)BinaryPrimitives.ReadUInt64LittleEndian(e)),
                DType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(e),
                DType.UInt32 => BinaryPrimitives.ReadUInt32LittleEndian(e),
                DType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(e),
                DType.UInt16 => BinaryPrimitives.ReadUInt16LittleEndian(e),
                DType.Int8 => (sbyte)e[0],
                DType.UInt8 or DType.Bool => e[0],
                _ => throw new ArgumentException($"{type} is not an integer type.", nameof(type)),
            };
        }
    }
}
