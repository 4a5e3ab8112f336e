namespace BarkSharp.IO;

/// <summary>Element types a checkpoint or array file can store.</summary>
internal enum DType
{
    /// <summary>IEEE 754 single precision.</summary>
    Float32,
    /// <summary>IEEE 754 half precision.</summary>
    Float16,
    /// <summary>bfloat16: the upper 16 bits of a float32.</summary>
    BFloat16,
    /// <summary>IEEE 754 double precision.</summary>
    Float64,
    /// <summary>Signed 64-bit integer.</summary>
    Int64,
    /// <summary>Signed 32-bit integer.</summary>
    Int32,
    /// <summary>Signed 16-bit integer.</summary>
    Int16,
    /// <summary>Signed 8-bit integer.</summary>
    Int8,
    /// <summary>Unsigned 64-bit integer.</summary>
    UInt64,
    /// <summary>Unsigned 32-bit integer.</summary>
    UInt32,
    /// <summary>Unsigned 16-bit integer.</summary>
    UInt16,
    /// <summary>Unsigned 8-bit integer.</summary>
    UInt8,
    /// <summary>One byte per element, 0 or 1.</summary>
    Bool,
}

/// <summary>Sizes and conversions of <see cref="DType"/> values.</summary>
internal static class DTypeInfo
{
    /// <summary>Bytes per element.</summary>
    public static int SizeOf(this DType type) => type switch
    {
        DType.Float64 or DType.Int64 or DType.UInt64 => 8,
        DType.Float32 or DType.Int32 or DType.UInt32 => 4,
        DType.Float16 or DType.BFloat16 or DType.Int16 or DType.UInt16 => 2,
        _ => 1,
    };

    /// <summary>True for the floating-point types.</summary>
    public static bool IsFloatingPoint(this DType type) =>
        type is DType.Float32 or DType.Float16 or DType.BFloat16 or DType.Float64;

    /// <summary>True for the integer types (bool excluded).</summary>
    public static bool IsInteger(this DType type) => !type.IsFloatingPoint() && type != DType.Bool;
}
