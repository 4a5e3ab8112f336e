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
    /// <summary>
    /// 8-bit integers with one float32 scale per output row (symmetric, max-abs): a quarter of the bandwidth. The
    /// activations are quantized too, per row to unsigned 8 bits (asymmetric, min to max), and the products summed
    /// exactly in 32-bit integers — with AVX-VNNI dot products where the CPU has them.
    /// </summary>
    Int8,
}

/// <summary>
/// A linear layer's weight, <c>[Rows = out features, Cols = in features]</c> as PyTorch stores <c>nn.Linear.weight</c>,
/// optionally with a bias of length <see cref="Rows"/>. Multiplied as <c>y = x · Wᵀ + b</c> by <see cref="MatMul"/>.
/// <para>
/// Stored packed for the kernels: output rows are grouped in panels of <see cref="PanelWidth"/>; each panel holds
/// its <c>Cols × 32</c> elements input-major (<c>panel[k · 32 + j] = W[32p + j, k]</c>), the last panel zero-padded.
/// A decode step then streams every panel contiguously and a prefill multiplies 12 activation rows by one panel
/// with the whole tile in registers. 16-bit types are widened to float32 a panel slice at a time.
/// </para>
/// <para>
/// Int8 panels group the input dimension by four for 4-byte integer dot products:
/// <c>panel[(k / 4) · 128 + j · 4 + k % 4] = W[32p + j, k]</c>, the input dimension zero-padded to a multiple of four.
/// </para>
/// </summary>
internal sealed class WeightMatrix
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
        WeightType.Int8 => PackedI8!.Length + Scales!.Length * 8L,
        _ => PackedU16!.Length * 2L,
    };

    internal float[]? PackedF32 { get; private init; }

    internal ushort[]? PackedU16 { get; private init; }

    internal sbyte[]? PackedI8 { get; private init; }

    /// <summary>
    /// The weights again in the AMX tile layout (<see cref="Jit.AmxKernels.PackBf16"/> / <see cref="Jit.AmxKernels.PackInt8"/>),
    /// made on first use by an AMX product and kept (null until then, and on every host without AMX).
    /// </summary>
    internal Array? AmxPacked;

    /// <summary>Int8 only: the scale of each output row, padded to whole panels.</summary>
    internal float[]? Scales { get; private init; }

    /// <summary>Int8 only: the sum of each output row's stored integers (for the activations' zero point), padded to whole panels.</summary>
    internal int[]? WeightSums { get; private init; }

    /// <summary>Int8 only: groups of four inputs per panel row (<c>⌈Cols / 4⌉</c>).</summary>
    internal int KGroups => (Cols + 3) / 4;

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
                return new WeightMatrix(type, rows, cols, bias) { PackedF32 = Pack<float, ToFloat32>(data, rows, cols, size) };
            case WeightType.BFloat16:
                return new WeightMatrix(type, rows, cols, bias) { PackedU16 = Pack<ushort, ToBFloat16Bits>(data, rows, cols, size) };
            case WeightType.Float16:
                return new WeightMatrix(type, rows, cols, bias) { PackedU16 = Pack<ushort, ToFloat16Bits>(data, rows, cols, size) };
            case WeightType.Int8:
                return PackInt8(data, rows, cols, bias);
            default:
                throw new ArgumentOutOfRangeException(nameof(type));
        }
    }

    /// <summary>Copies row <paramref name="r"/> (one output feature's weights, as the kernels see them) into <paramref name="destination"/>.</summary>
    public void CopyRow(int r, Span<float> destination)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)r, (uint)Rows, nameof(r));
        if (Type == WeightType.Int8)
        {
            long panelStart = (long)(r / PanelWidth) * KGroups * 4 * PanelWidth + r % PanelWidth * 4;
            for (int k = 0; k < Cols; k++) destination[k] = PackedI8![panelStart + (long)(k / 4) * 4 * PanelWidth + k % 4] * Scales![r];
            return;
        }
        var slice = new float[Cols * PanelWidth];
        WidenSlice(r / PanelWidth, 0, Cols, slice);
        for (int k = 0; k < Cols; k++) destination[k] = slice[k * PanelWidth + r % PanelWidth] * (Scales?[r] ?? 1f);
    }

    /// <summary>
    /// Widens rows <c>[k0, k0 + kc)</c> of panel <paramref name="panel"/> to float32 <c>[kc, 32]</c> (16-bit types
    /// only; int8 panels are multiplied as integers).
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
                    {
                        switch (Simd.Path)
                        {
                            case VectorPath.Vector512: WidenBFloat16<Simd512, Vector512<float>>(src, dst, count); break;
                            case VectorPath.Vector256: WidenBFloat16<Simd256, Vector256<float>>(src, dst, count); break;
                            default: WidenBFloat16<Simd128, Vector128<float>>(src, dst, count); break;
                        }
                    }
                    break;
                case WeightType.Float16:
                    System.Numerics.Tensors.TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<ushort, Half>(PackedU16.AsSpan(offset, count)), destination);
                    break;
                default:
                    throw new InvalidOperationException($"{Type} panels are not widened to float32.");
            }
        }
    }

    /// <summary>Widens <paramref name="count"/> bfloat16 values (a multiple of the vector width).</summary>
    private static unsafe void WidenBFloat16<TSimd, TVec>(ushort* source, float* destination, int count)
        where TSimd : struct, ISimd<TVec>
        where TVec : struct
    {
        for (int i = 0; i < count; i += TSimd.Count) TSimd.Store(TSimd.WidenBFloat16(source + i), destination + i);
    }

    /// <summary>
    /// Int8: each row scaled by its max-abs / 127 and rounded, laid out in four-input groups (see the class remarks),
    /// with the row's integer sum kept for the activations' zero point.
    /// </summary>
    private static WeightMatrix PackInt8(ReadOnlySpan<float> data, int rows, int cols, float[]? bias)
    {
        int panels = (rows + PanelWidth - 1) / PanelWidth, groups = (cols + 3) / 4;
        var scales = new float[panels * PanelWidth];
        var sums = new int[panels * PanelWidth];
        var packed = new sbyte[(long)panels * groups * 4 * PanelWidth];
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<float> row = data.Slice(r * cols, cols);
            float max = 0;
            foreach (float v in row) max = Math.Max(max, Math.Abs(v));
            scales[r] = max > 0 ? max / 127f : 1f;
            float inverseScale = 1f / scales[r];
            long start = (long)(r / PanelWidth) * groups * 4 * PanelWidth + r % PanelWidth * 4;
            for (int k = 0; k < cols; k++)
            {
                var q = (sbyte)Math.Clamp(MathF.Round(row[k] * inverseScale), -127, 127);
                packed[start + (long)(k / 4) * 4 * PanelWidth + k % 4] = q;
                sums[r] += q;
            }
        }
        return new WeightMatrix(WeightType.Int8, rows, cols, bias) { PackedI8 = packed, Scales = scales, WeightSums = sums };
    }

    /// <summary>Lays row-major <paramref name="data"/> out in panels (see the class remarks), converting each element.</summary>
    private static T[] Pack<T, TConvert>(ReadOnlySpan<float> data, int rows, int cols, long size)
        where TConvert : struct, IElementConversion<T>
    {
        var packed = new T[size];
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<float> row = data.Slice(r * cols, cols);
            long at = (long)(r / PanelWidth) * cols * PanelWidth + r % PanelWidth;
            for (int k = 0; k < cols; k++, at += PanelWidth) packed[at] = TConvert.Convert(row[k]);
        }
        return packed;
    }

    private interface IElementConversion<T>
    {
        static abstract T Convert(float value);
    }

    private readonly struct ToFloat32 : IElementConversion<float>
    {
        public static float Convert(float value) => value;
    }

    private readonly struct ToBFloat16Bits : IElementConversion<ushort>
    {
        public static ushort Convert(float value) => ToBFloat16(value);
    }

    private readonly struct ToFloat16Bits : IElementConversion<ushort>
    {
        public static ushort Convert(float value) => BitConverter.HalfToUInt16Bits((Half)value);
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
