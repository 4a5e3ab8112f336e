using System.Runtime.CompilerServices;

namespace BarkSharp.Tensors;

/// <summary>
/// How one stored element is widened to float32: the element loader the kernels share for weight panels
/// (<see cref="MatMul"/>'s decode path) and key/value caches (<see cref="Attention"/>) — narrowed from float32 when
/// written, widened back in registers when read. The kernels take the element as a struct type parameter, so one
/// kernel body serves every storage type and vector width, and the conversion inlines into its loops.
/// </summary>
/// <typeparam name="T">The stored element.</typeparam>
internal unsafe interface IKvElement<T> where T : unmanaged
{
    /// <summary>Widens <c>TSimd.Count</c> consecutive elements.</summary>
    static abstract TVec Load<TSimd, TVec>(T* source)
        where TSimd : struct, ISimd<TVec>
        where TVec : struct;

    /// <summary>Widens one element.</summary>
    static abstract float ToSingle(T value);

    /// <summary>Narrows one value, rounding to nearest even.</summary>
    static abstract T FromSingle(float value);
}

/// <summary>float32 elements: stored as computed.</summary>
internal readonly unsafe struct KvFloat32 : IKvElement<float>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TVec Load<TSimd, TVec>(float* source)
        where TSimd : struct, ISimd<TVec>
        where TVec : struct => TSimd.Load(source);

    public static float ToSingle(float value) => value;

    public static float FromSingle(float value) => value;
}

/// <summary>
/// bfloat16 elements (the high half of a float32, rounded to nearest even): float32's range, 8 significant bits;
/// widening is one zero-extension and one shift.
/// </summary>
internal readonly unsafe struct KvBFloat16 : IKvElement<ushort>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TVec Load<TSimd, TVec>(ushort* source)
        where TSimd : struct, ISimd<TVec>
        where TVec : struct => TSimd.WidenBFloat16(source);

    public static float ToSingle(ushort value) => BitConverter.UInt32BitsToSingle((uint)value << 16);

    public static ushort FromSingle(float value) => WeightMatrix.ToBFloat16(value);
}
