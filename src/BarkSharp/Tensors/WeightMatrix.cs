using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace BarkSharp.Tensors;

/// <summary>How the elements of a <see cref="WeightMatrix"/> are stored.</summary>
public enum WeightType
{
    /// <summary>The checkpoint's own floating-point type (float32 for the hub's Bark checkpoints).</summary>
    Auto,
    /// <summary>32-bit float: exact.</summary>
    Float32,
    /// <summary>bfloat16 (round to nearest even): half the memory and bandwidth, ~3 significant digits.</summary>
    BFloat16,
    /// <summary>IEEE half precision: half the memory and bandwidth, ~3.3 significant digits, range ±65504.</summary>
    Float16,
    /// <summary>8-bit integers with one float32 scale per output row (symmetric, max-abs): a quarter of the bandwidth.</summary>
    Int8,
}

/// <summary>
/// A linear layer's weight, <c>[Rows = out features, Cols = in features]</c> as PyTorch stores <c>nn.Linear.weight</c>,
/// optionally with a bias of length <see cref="Rows"/>. Multiplied as <c>y = x · Wᵀ + b</c> by <see cref="MatMul"/>.
/// <para>
/// Stored packed for the kernels: output rows are grouped in panels of <see cref="PanelWidth"/>; each panel holds
/// its <c>Cols × 32</c> elements input-major (<c>panel[k · 32 + j] = W[32p + j, k]</c>), the last panel zero-padded.
/// A decode step then streams every panel contiguously and a prefill multiplies 12 activation rows by one panel
/// with the whole tile in registers. Reduced types are widened to float32 a panel slice at a time.
/// </para>
/// </summary>
public sealed class WeightMatrix
{
    /// <summary>Output rows per packed panel.</summary>
    public const int PanelWidth = 32;

    private WeightMatrix(WeightType type, int rows, int cols, float[]? bias)
    {
        Type = type;
        Rows = rows;
        Cols = cols;
        Bias = bias;
    }

    /// <summary>Output features.</summary>
    public int Rows { get; }

    /// <summary>Input features.</summary>
    public int Cols { get; }

    /// <summary>Storage type of the elements (never <see cref="WeightType.Auto"/>).</summary>
    public WeightType Type { get; }

    /// <summary>Number of panels.</summary>
    public int Panels => (Rows + PanelWidth - 1) / PanelWidth;

    /// <summary>Bytes the packed elements (and scales) occupy.</summary>
    public long StorageBytes => Type switch
    {
        WeightType.Float32 => PackedF32!.Length * 4L,
        WeightType.Int8 => PackedI8!.Length + Scales!.Length * 4L,
        _ => PackedU16!.Length * 2L,
    };

    internal float[]? PackedF32 { get; private init; }

    internal ushort[]? PackedU16 { get; private init; }

    internal sbyte[]? PackedI8 { get; private init; }

    /// <summary>Int8 only: the scale of each output row, padded to whole panels.</summary>
    internal float[]? Scales { get; private init; }

    /// <summary>Optional bias, one per row.</summary>
    internal float[]? Bias { get; }

    /// <summary>Packs row-major float32 <c>[rows, cols]</c> data into <paramref name="type"/> (the source is not kept).</summary>
    public static WeightMatrix FromFloat32(ReadOnlySpan<float> data, int rows, int cols, float[]? bias = null, WeightType type = WeightType.Float32)
    {
        if (data.Length != (long)rows * cols)
            throw new ArgumentException($"data has {data.Length} elements, expected {rows}×{cols}.", nameof(data));
        if (bias is not null && bias.Length != rows)
            throw new ArgumentException($"bias has {bias.Length} elements, expected {rows}.", nameof(bias));
        if (type == WeightType.Auto) type = WeightType.Float32;
        int panels = (rows + PanelWidth - 1) / PanelWidth;
        long size = (long)panels * cols * PanelWidth;
        switch (type)
        {
            case WeightType.Float32:
                return new WeightMatrix(type, rows, cols, bias) { PackedF32 = Pack<float, ToFloat32>(data, rows, cols, size, null) };
            case WeightType.BFloat16:
                return new WeightMatrix(type, rows, cols, bias) { PackedU16 = Pack<ushort, ToBFloat16Bits>(data, rows, cols, size, null) };
            case WeightType.Float16:
                return new WeightMatrix(type, rows, cols, bias) { PackedU16 = Pack<ushort, ToFloat16Bits>(data, rows, cols, size, null) };
            case WeightType.Int8:
                {
                    var scales = new float[panels * PanelWidth];
                    for (int r = 0; r < rows; r++)
                    {
                        float max = 0;
                        foreach (float v in data.Slice(r * cols, cols)) max = Math.Max(max, Math.Abs(v));
                        scales[r] = max > 0 ? max / 127f : 1f;
                    }
                    return new WeightMatrix(type, rows, cols, bias) { PackedI8 = Pack<sbyte, ToInt8>(data, rows, cols, size, scales), Scales = scales };
                }
            default:
                throw new ArgumentOutOfRangeException(nameof(type));
        }
    }

    /// <summary>Copies row <paramref name="r"/> (one output feature's weights, as the kernels see them) into <paramref name="destination"/>.</summary>
    public void CopyRow(int r, Span<float> destination)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)r, (uint)Rows, nameof(r));
        var slice = new float[Cols * PanelWidth];
        WidenSlice(r / PanelWidth, 0, Cols, slice);
        for (int k = 0; k < Cols; k++) destination[k] = slice[k * PanelWidth + r % PanelWidth] * (Scales?[r] ?? 1f);
    }

    /// <summary>
    /// Widens rows <c>[k0, k0 + kc)</c> of panel <paramref name="panel"/> to float32 <c>[kc, 32]</c> (int8 without its
    /// scales, which <see cref="MatMul"/> applies to the finished sums).
    /// </summary>
    internal unsafe void WidenSlice(int panel, int k0, int kc, Span<float> destination)
    {
        int offset = (panel * Cols + k0) * PanelWidth, count = kc * PanelWidth;
        if (destination.Length < count) throw new ArgumentException("destination too short.", nameof(destination));
        fixed (float* dst = destination)
        {
            switch (Type)
            {
                case WeightType.Float32:
                    PackedF32.AsSpan(offset, count).CopyTo(destination);
                    break;
                case WeightType.BFloat16:
                    fixed (ushort* src = &PackedU16![offset])
                        for (int i = 0; i < count; i += 32)
                        {
                            Vector512<ushort> v = Vector512.Load(src + i);
                            Vector512.ShiftLeft(Vector512.WidenLower(v), 16).AsSingle().Store(dst + i);
                            Vector512.ShiftLeft(Vector512.WidenUpper(v), 16).AsSingle().Store(dst + i + 16);
                        }
                    break;
                case WeightType.Float16:
                    System.Numerics.Tensors.TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<ushort, Half>(PackedU16.AsSpan(offset, count)), destination);
                    break;
                case WeightType.Int8:
                    fixed (sbyte* src = &PackedI8![offset])
                    {
                        int i = 0;
                        for (; i + 64 <= count; i += 64)
                        {
                            Vector512<sbyte> v = Vector512.Load(src + i);
                            Vector512<short> lo = Vector512.WidenLower(v), hi = Vector512.WidenUpper(v);
                            Vector512.ConvertToSingle(Vector512.WidenLower(lo)).Store(dst + i);
                            Vector512.ConvertToSingle(Vector512.WidenUpper(lo)).Store(dst + i + 16);
                            Vector512.ConvertToSingle(Vector512.WidenLower(hi)).Store(dst + i + 32);
                            Vector512.ConvertToSingle(Vector512.WidenUpper(hi)).Store(dst + i + 48);
                        }
                        for (; i < count; i++) dst[i] = src[i];
                    }
                    break;
            }
        }
    }

    /// <summary>
    /// Lays row-major <paramref name="data"/> out in panels (see the class remarks), converting each element; for int8
    /// each row is divided by its scale first.
    /// </summary>
    private static T[] Pack<T, TConvert>(ReadOnlySpan<float> data, int rows, int cols, long size, float[]? scales)
        where TConvert : struct, IElementConversion<T>
    {
        var packed = new T[size];
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<float> row = data.Slice(r * cols, cols);
            float inverseScale = scales is null ? 1f : 1f / scales[r];
            long at = (long)(r / PanelWidth) * cols * PanelWidth + r % PanelWidth;
            for (int k = 0; k < cols; k++, at += PanelWidth) packed[at] = TConvert.Convert(row[k], inverseScale);
        }
        return packed;
    }

    private interface IElementConversion<T>
    {
        static abstract T Convert(float value, float inverseScale);
    }

    private readonly struct ToFloat32 : IElementConversion<float>
    {
        public static float Convert(float value, float inverseScale) => value;
    }

    private readonly struct ToBFloat16Bits : IElementConversion<ushort>
    {
        public static ushort Convert(float value, float inverseScale) => ToBFloat16(value);
    }

    private readonly struct ToFloat16Bits : IElementConversion<ushort>
    {
        public static ushort Convert(float value, float inverseScale) => BitConverter.HalfToUInt16Bits((Half)value);
    }

    private readonly struct ToInt8 : IElementConversion<sbyte>
    {
        public static sbyte Convert(float value, float inverseScale) => (sbyte)Math.Clamp(MathF.Round(value * inverseScale), -127, 127);
    }

    /// <summary>float32 → bfloat16 bits, rounding to nearest even (NaN stays NaN).</summary>
    internal static ushort ToBFloat16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value)) return (ushort)((bits >> 16) | 0x40);
        bits += 0x7FFF + ((bits >> 16) & 1);
        return (ushort)(bits >> 16);
    }
}
