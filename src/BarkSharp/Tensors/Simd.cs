using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace BarkSharp.Tensors;

/// <summary>The vector width the kernels run with.</summary>
internal enum VectorPath
{
    /// <summary>128-bit vectors: Arm64 NEON, or x86 without AVX2 (where .NET 10 also drops FMA: see <see cref="Simd"/>).</summary>
    Vector128,
    /// <summary>256-bit vectors: x86 with AVX2 and FMA.</summary>
    Vector256,
    /// <summary>512-bit vectors: x86 with AVX-512.</summary>
    Vector512,
}

/// <summary>
/// The kernels' vector-width toolkit. Every kernel body is written once, generic over a width struct
/// (<see cref="Simd512"/>, <see cref="Simd256"/>, <see cref="Simd128"/>) implementing <see cref="ISimd{TVec}"/>;
/// the JIT specializes it per width. <see cref="Path"/> is the one place the width is chosen: the widest vectors the
/// hardware accelerates, so a kernel never calls a vector type .NET would emulate in software.
/// <para>
/// Every operation is lane-wise IEEE arithmetic, so a body gives the same bits per element at every width; the
/// kernels keep each output's fused-multiply-add chain in one fixed order whatever the width or tile shape.
/// On x86 without AVX2 (<c>DOTNET_EnableAVX2=0</c>) .NET 10 also reports no FMA: <see cref="Simd128.Fma"/> is then
/// computed exactly in double arithmetic (one rounding, the same bits), about 30 times slower than the instruction —
/// correct but slow; only Arm64 (NEON has FMA) runs the 128-bit path at full speed.
/// </para>
/// </summary>
internal static class Simd
{
    [ThreadStatic]
    private static VectorPath? t_forced;

    /// <summary>The widest hardware-accelerated width.</summary>
    public static VectorPath Detected { get; } =
        Vector512.IsHardwareAccelerated ? VectorPath.Vector512 : Vector256.IsHardwareAccelerated ? VectorPath.Vector256 : VectorPath.Vector128;

    /// <summary>The width kernels called on this thread use: <see cref="Detected"/> unless a test forced one.</summary>
    public static VectorPath Path => t_forced ?? Detected;

    /// <summary>The width forced on this thread (<see cref="Force"/>), or null; kernel threads take the caller's.</summary>
    public static VectorPath? ForcedPath => t_forced;

    /// <summary>A readable name of <paramref name="path"/>, saying so when the 128-bit FMA is emulated.</summary>
    public static string Describe(VectorPath path) => path switch
    {
        VectorPath.Vector512 => "AVX-512",
        VectorPath.Vector256 => "AVX2",
        _ => Vector128.IsHardwareAccelerated && (Fma.IsSupported || System.Runtime.Intrinsics.Arm.AdvSimd.IsSupported)
            ? "Vector128" : "Vector128 (FMA emulated)",
    };

    /// <summary>
    /// Makes kernels called on this thread use <paramref name="path"/> until the result is disposed (tests compare
    /// the widths in one process; a width the CPU lacks is emulated by .NET, correct but slow). Kernels choose the
    /// width before they fan out to other threads.
    /// </summary>
    public static Forced Force(VectorPath? path)
    {
        var previous = t_forced;
        t_forced = path;
        return new Forced(previous);
    }

    /// <summary>
    /// <see cref="Map{TSimd, TVec, TMap}(TMap, float*, float*, int)"/> at the width <see cref="Path"/> chooses.
    /// </summary>
    public static unsafe void Map<TMap>(TMap map, ReadOnlySpan<float> x, Span<float> y)
        where TMap : struct, IVectorMap
    {
        if (y.Length < x.Length) throw new ArgumentException("y shorter than x.", nameof(y));
        fixed (float* px = x)
        fixed (float* py = y)
        {
            switch (Path)
            {
                case VectorPath.Vector512: Map<Simd512, Vector512<float>, TMap>(map, px, py, x.Length); break;
                case VectorPath.Vector256: Map<Simd256, Vector256<float>, TMap>(map, px, py, x.Length); break;
                default: Map<Simd128, Vector128<float>, TMap>(map, px, py, x.Length); break;
            }
        }
    }

    /// <summary>
    /// <c>destination[i] = x[i] + y[i]</c>: <c>TensorPrimitives.Add</c>'s bits (lane-wise IEEE), compiled optimized on
    /// first call (<c>System.Numerics.Tensors</c> ships without precompiled code, so its generic operators run
    /// unoptimized until the JIT tiers them up — during the first prefill of a run). Any of the spans may be the same memory.
    /// </summary>
    public static unsafe void Add(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> destination)
    {
        if (y.Length < x.Length || destination.Length < x.Length) throw new ArgumentException("y or destination shorter than x.");
        fixed (float* px = x)
        fixed (float* py = y)
        fixed (float* pd = destination)
        {
            switch (Path)
            {
                case VectorPath.Vector512: Add<Simd512, Vector512<float>>(px, py, pd, x.Length); break;
                case VectorPath.Vector256: Add<Simd256, Vector256<float>>(px, py, pd, x.Length); break;
                default: Add<Simd128, Vector128<float>>(px, py, pd, x.Length); break;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Add<TSimd, TVec>(float* x, float* y, float* d, int length)
        where TSimd : struct, ISimd<TVec>
        where TVec : struct
    {
        int n = TSimd.Count, i = 0;
        for (; i + n <= length; i += n) TSimd.Store(TSimd.Add(TSimd.Load(x + i), TSimd.Load(y + i)), d + i);
        for (; i < length; i++) d[i] = x[i] + y[i];
    }

    /// <summary><c>x[i] = x[i] · factor</c> in place (the bits of <c>TensorPrimitives.Multiply</c>; see <see cref="Add"/>).</summary>
    public static void Scale(Span<float> x, float factor) => Map(new ScaleMap(factor), x, x);

    private readonly struct ScaleMap(float factor) : IVectorMap
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TVec Apply<TSimd, TVec>(TVec x)
            where TSimd : struct, ISimd<TVec>
            where TVec : struct => TSimd.Multiply(x, TSimd.Broadcast(factor));
    }

    /// <summary>
    /// <c>y[i] = f(x[i])</c> for a lane-wise <typeparamref name="TMap"/>; the last partial vector is staged through a
    /// buffer so every element takes the same vector formula. <paramref name="x"/> and <paramref name="y"/> may be
    /// the same memory.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Map<TSimd, TVec, TMap>(TMap map, float* x, float* y, int length)
        where TSimd : struct, ISimd<TVec>
        where TVec : struct
        where TMap : struct, IVectorMap
    {
        int n = TSimd.Count, i = 0;
        // Four independent vectors per step: a long formula (GELU's erfc, an exponential) is a chain of dependent
        // operations, and interleaving four chains keeps the vector units busy during each one's latency.
        for (; i + 4 * n <= length; i += 4 * n)
        {
            TVec a = map.Apply<TSimd, TVec>(TSimd.Load(x + i)), b = map.Apply<TSimd, TVec>(TSimd.Load(x + i + n));
            TVec c = map.Apply<TSimd, TVec>(TSimd.Load(x + i + 2 * n)), d = map.Apply<TSimd, TVec>(TSimd.Load(x + i + 3 * n));
            TSimd.Store(a, y + i);
            TSimd.Store(b, y + i + n);
            TSimd.Store(c, y + i + 2 * n);
            TSimd.Store(d, y + i + 3 * n);
        }
        for (; i + n <= length; i += n) TSimd.Store(map.Apply<TSimd, TVec>(TSimd.Load(x + i)), y + i);
        if (i < length)
        {
            float* last = stackalloc float[16];
            new Span<float>(last, 16).Clear();
            new ReadOnlySpan<float>(x + i, length - i).CopyTo(new Span<float>(last, 16));
            TSimd.Store(map.Apply<TSimd, TVec>(TSimd.Load(last)), last);
            new ReadOnlySpan<float>(last, length - i).CopyTo(new Span<float>(y + i, length - i));
        }
    }

    /// <summary>
    /// <c>Σ x[i]</c> in one order whatever the width: element <c>i</c> goes to running sum <c>i mod 16</c> (one
    /// vector of them with AVX-512, two with AVX2, four with 128-bit vectors), then the sixteen sums are added
    /// pairwise in a fixed tree — so a softmax or a layer norm gives the same bits on every path.
    /// </summary>
    public static unsafe float Sum(ReadOnlySpan<float> x)
    {
        fixed (float* p = x)
        {
            return Path switch
            {
                VectorPath.Vector512 => Sum<Simd512, Vector512<float>>(p, x.Length),
                VectorPath.Vector256 => Sum<Simd256, Vector256<float>>(p, x.Length),
                _ => Sum<Simd128, Vector128<float>>(p, x.Length),
            };
        }
    }

    /// <summary><see cref="Sum(ReadOnlySpan{float})"/> at one width.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe float Sum<TSimd, TVec>(float* x, int length)
        where TSimd : struct, ISimd<TVec>
        where TVec : struct
    {
        int n = TSimd.Count, i = 0;
        TVec s0 = TSimd.Zero, s1 = s0, s2 = s0, s3 = s0;
        for (; i + 16 <= length; i += 16)
        {
            s0 = TSimd.Add(s0, TSimd.Load(x + i));
            if (n <= 8) s1 = TSimd.Add(s1, TSimd.Load(x + i + n));
            if (n <= 4)
            {
                s2 = TSimd.Add(s2, TSimd.Load(x + i + 2 * n));
                s3 = TSimd.Add(s3, TSimd.Load(x + i + 3 * n));
            }
        }
        float* lanes = stackalloc float[16];
        TSimd.Store(s0, lanes);
        if (n <= 8) TSimd.Store(s1, lanes + n);
        if (n <= 4)
        {
            TSimd.Store(s2, lanes + 2 * n);
            TSimd.Store(s3, lanes + 3 * n);
        }
        for (int j = 0; i < length; i++, j++) lanes[j] += x[i];
        for (int width = 8; width >= 1; width /= 2)
            for (int j = 0; j < width; j++) lanes[j] += lanes[j + width];
        return lanes[0];
    }

    /// <summary>Restores the width in force before <see cref="Force"/>.</summary>
    public readonly struct Forced(VectorPath? previous) : IDisposable
    {
        /// <summary>Restores the previous width.</summary>
        public void Dispose() => t_forced = previous;
    }
}

/// <summary>The vector operations kernel bodies use, for one vector width of float32 lanes.</summary>
/// <typeparam name="TVec">The vector type (<c>Vector512&lt;float&gt;</c>, …).</typeparam>
internal unsafe interface ISimd<TVec>
    where TVec : struct
{
    /// <summary>Lanes per vector.</summary>
    static abstract int Count { get; }

    /// <summary>All lanes zero.</summary>
    static abstract TVec Zero { get; }

    /// <summary>Loads <see cref="Count"/> floats.</summary>
    static abstract TVec Load(float* p);

    /// <summary>Stores <see cref="Count"/> floats.</summary>
    static abstract void Store(TVec v, float* p);

    /// <summary>Every lane <paramref name="v"/>.</summary>
    static abstract TVec Broadcast(float v);

    /// <summary><c>a · b + c</c> with one rounding.</summary>
    static abstract TVec Fma(TVec a, TVec b, TVec c);

    /// <summary><c>a + b</c>.</summary>
    static abstract TVec Add(TVec a, TVec b);

    /// <summary><c>a − b</c>.</summary>
    static abstract TVec Subtract(TVec a, TVec b);

    /// <summary><c>a · b</c>.</summary>
    static abstract TVec Multiply(TVec a, TVec b);

    /// <summary><c>a / b</c>.</summary>
    static abstract TVec Divide(TVec a, TVec b);

    /// <summary>|a|.</summary>
    static abstract TVec Abs(TVec a);

    /// <summary>Lane-wise minimum.</summary>
    static abstract TVec Min(TVec a, TVec b);

    /// <summary>Lane-wise maximum.</summary>
    static abstract TVec Max(TVec a, TVec b);

    /// <summary>
    /// Lane-wise maximum by the hardware's own instruction: <see cref="Max"/> wherever neither lane is NaN and the
    /// two are not zeros of opposite sign; otherwise either operand (x86's <c>maxps</c> returns the second).
    /// </summary>
    static abstract TVec MaxNative(TVec a, TVec b);

    /// <summary>Lane-wise minimum by the hardware's own instruction: <see cref="Min"/> under the same conditions as <see cref="MaxNative"/>.</summary>
    static abstract TVec MinNative(TVec a, TVec b);

    /// <summary>
    /// <c>max(x, low)</c> for a number <paramref name="low"/>, with a NaN <paramref name="x"/> kept: the bits of
    /// <see cref="Max"/> there, by whichever instructions the width runs fastest (.NET's IEEE <c>Vector256.Max</c> is
    /// seven x86 instructions; maxps with <paramref name="x"/> second is one).
    /// </summary>
    static abstract TVec ClampBelow(TVec x, TVec low);

    /// <summary>Rounds to the nearest integer, ties to even.</summary>
    static abstract TVec Round(TVec a);

    /// <summary>
    /// <c>p · 2^⌊n/2⌋ · 2^(n − ⌊n/2⌋)</c> for integral <paramref name="n"/> in [−252, 254], the two powers built in the
    /// exponent bits (two factors, so the ends of float's exponent range stay representable). <paramref name="n"/> is
    /// converted by the hardware's own instruction, without .NET's saturation (several more instructions on x86): a
    /// lane outside that range, or NaN, gives a meaningless result that the caller must replace.
    /// </summary>
    static abstract TVec ScaleByPow2(TVec p, TVec n);

    /// <summary><c>2^n</c> for integral <paramref name="n"/> in [−126, 127], built in the exponent bits (one factor: normal floats only).</summary>
    static abstract TVec Pow2(TVec n);

    /// <summary>All-ones lanes where <c>a &gt; b</c>.</summary>
    static abstract TVec GreaterThan(TVec a, TVec b);

    /// <summary>All-ones lanes where <c>a ≥ b</c>.</summary>
    static abstract TVec GreaterThanOrEqual(TVec a, TVec b);

    /// <summary>All-ones lanes where <c>a &lt; b</c>.</summary>
    static abstract TVec LessThan(TVec a, TVec b);

    /// <summary>All-ones lanes where <c>a = b</c> (false for NaN).</summary>
    static abstract TVec Equal(TVec a, TVec b);

    /// <summary><paramref name="a"/> where <paramref name="mask"/> is set, else <paramref name="b"/>; each lane of <paramref name="mask"/> all ones or all zeros (a comparison's result).</summary>
    static abstract TVec Select(TVec mask, TVec a, TVec b);

    /// <summary>Widens <see cref="Count"/> bfloat16 values (zero-extend, shift into the high half).</summary>
    static abstract TVec WidenBFloat16(ushort* p);

    /// <summary>Loads <see cref="Count"/> 32-bit integers as floats (each rounded to nearest, as a scalar cast).</summary>
    static abstract TVec LoadInt32(int* p);
}

/// <summary>512-bit vectors.</summary>
internal readonly unsafe struct Simd512 : ISimd<Vector512<float>>
{
    public static int Count => Vector512<float>.Count;
    public static Vector512<float> Zero => Vector512<float>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Load(float* p) => Vector512.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector512<float> v, float* p) => v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Broadcast(float v) => Vector512.Create(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Fma(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Vector512.FusedMultiplyAdd(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Subtract(Vector512<float> a, Vector512<float> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Multiply(Vector512<float> a, Vector512<float> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Divide(Vector512<float> a, Vector512<float> b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Abs(Vector512<float> a) => Vector512.Abs(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Min(Vector512<float> a, Vector512<float> b) => Vector512.Min(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Max(Vector512<float> a, Vector512<float> b) => Vector512.Max(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> MaxNative(Vector512<float> a, Vector512<float> b) => Vector512.MaxNative(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> MinNative(Vector512<float> a, Vector512<float> b) => Vector512.MinNative(a, b);
    // vmaxps returns its second operand when either is NaN: max(low, x) keeps a NaN x, one instruction (Simd256's).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ClampBelow(Vector512<float> x, Vector512<float> low) =>
        Avx512F.IsSupported ? Avx512F.Max(low, x) : Vector512.ConditionalSelect(Vector512.LessThan(x, low), low, x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Round(Vector512<float> a) => Vector512.Round(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Pow2(Vector512<float> n) =>
        Vector512.ShiftLeft(Vector512.ConvertToInt32Native(n) + Vector512.Create(127), 23).AsSingle();   // n is in range: no saturation needed
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ScaleByPow2(Vector512<float> p, Vector512<float> n)
    {
        Vector512<int> ni = Vector512.ConvertToInt32Native(n), half = Vector512.ShiftRightArithmetic(ni, 1), bias = Vector512.Create(127);
        return p * Vector512.ShiftLeft(half + bias, 23).AsSingle() * Vector512.ShiftLeft(ni - half + bias, 23).AsSingle();
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> GreaterThan(Vector512<float> a, Vector512<float> b) => Vector512.GreaterThan(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> GreaterThanOrEqual(Vector512<float> a, Vector512<float> b) => Vector512.GreaterThanOrEqual(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> LessThan(Vector512<float> a, Vector512<float> b) => Vector512.LessThan(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Equal(Vector512<float> a, Vector512<float> b) => Vector512.Equals(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Select(Vector512<float> mask, Vector512<float> a, Vector512<float> b) => Vector512.ConditionalSelect(mask, a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> LoadInt32(int* p) => Vector512.ConvertToSingle(Vector512.Load(p));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> WidenBFloat16(ushort* p)
    {
        Vector512<uint> bits;
        if (Avx512F.IsSupported)
        {
            bits = Avx512F.ConvertToVector512UInt32(Vector256.Load(p));         // vpmovzxwd
        }
        else
        {
            Vector256<ushort> v = Vector256.Load(p);
            bits = Vector512.Create(Vector256.WidenLower(v), Vector256.WidenUpper(v));
        }
        return Vector512.ShiftLeft(bits, 16).AsSingle();
    }
}

/// <summary>256-bit vectors.</summary>
internal readonly unsafe struct Simd256 : ISimd<Vector256<float>>
{
    public static int Count => Vector256<float>.Count;
    public static Vector256<float> Zero => Vector256<float>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Load(float* p) => Vector256.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector256<float> v, float* p) => v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Broadcast(float v) => Vector256.Create(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Fma(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Vector256.FusedMultiplyAdd(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Subtract(Vector256<float> a, Vector256<float> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Multiply(Vector256<float> a, Vector256<float> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Divide(Vector256<float> a, Vector256<float> b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Abs(Vector256<float> a) => Vector256.Abs(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Min(Vector256<float> a, Vector256<float> b) => Vector256.Min(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Max(Vector256<float> a, Vector256<float> b) => Vector256.Max(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> MaxNative(Vector256<float> a, Vector256<float> b) => Vector256.MaxNative(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> MinNative(Vector256<float> a, Vector256<float> b) => Vector256.MinNative(a, b);
    // vmaxps returns its second operand when either is NaN: max(low, x) keeps a NaN x, one instruction. (Elsewhere, as
    // when tests force this width on Arm64, .NET emulates the vector: a compare and select.)
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ClampBelow(Vector256<float> x, Vector256<float> low) =>
        Avx.IsSupported ? Avx.Max(low, x) : Vector256.ConditionalSelect(Vector256.LessThan(x, low), low, x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Round(Vector256<float> a) => Vector256.Round(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Pow2(Vector256<float> n) =>
        Vector256.ShiftLeft(Vector256.ConvertToInt32Native(n) + Vector256.Create(127), 23).AsSingle();   // n is in range: no saturation needed
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ScaleByPow2(Vector256<float> p, Vector256<float> n)
    {
        Vector256<int> ni = Vector256.ConvertToInt32Native(n), half = Vector256.ShiftRightArithmetic(ni, 1), bias = Vector256.Create(127);
        return p * Vector256.ShiftLeft(half + bias, 23).AsSingle() * Vector256.ShiftLeft(ni - half + bias, 23).AsSingle();
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> GreaterThan(Vector256<float> a, Vector256<float> b) => Vector256.GreaterThan(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> GreaterThanOrEqual(Vector256<float> a, Vector256<float> b) => Vector256.GreaterThanOrEqual(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> LessThan(Vector256<float> a, Vector256<float> b) => Vector256.LessThan(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Equal(Vector256<float> a, Vector256<float> b) => Vector256.Equals(a, b);
    // A comparison's mask: vblendvps (one instruction; the JIT does not always fuse ConditionalSelect's and/andn/or).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Select(Vector256<float> mask, Vector256<float> a, Vector256<float> b) =>
        Avx.IsSupported ? Avx.BlendVariable(b, a, mask) : Vector256.ConditionalSelect(mask, a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> LoadInt32(int* p) => Vector256.ConvertToSingle(Vector256.Load(p));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> WidenBFloat16(ushort* p)
    {
        Vector256<uint> bits = Avx2.IsSupported
            ? Avx2.ConvertToVector256Int32(p).AsUInt32()                           // vpmovzxwd
            : Vector256.Create(Vector128.WidenLower(Vector128.Load(p)), Vector128.WidenUpper(Vector128.Load(p)));
        return Vector256.ShiftLeft(bits, 16).AsSingle();
    }
}

/// <summary>128-bit vectors (Arm64 NEON; x86 SSE).</summary>
internal readonly unsafe struct Simd128 : ISimd<Vector128<float>>
{
    public static int Count => Vector128<float>.Count;
    public static Vector128<float> Zero => Vector128<float>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Load(float* p) => Vector128.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector128<float> v, float* p) => v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Broadcast(float v) => Vector128.Create(v);
    /// <summary>
    /// <c>a · b + c</c> with one rounding: the FMA instruction where the CPU has one (Arm64; x86 with AVX2), else
    /// <see cref="FusedMultiplyAddViaDouble"/> (x86 before AVX2, where .NET's own fallback is a software call per lane).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Fma(Vector128<float> a, Vector128<float> b, Vector128<float> c) =>
        System.Runtime.Intrinsics.X86.Fma.IsSupported || System.Runtime.Intrinsics.Arm.AdvSimd.IsSupported || !Sse41.IsSupported
            ? Vector128.FusedMultiplyAdd(a, b, c)
            : FusedMultiplyAddViaDouble(a, b, c);

    /// <summary>
    /// The correctly rounded <c>a · b + c</c> from double arithmetic: the product of two floats is exact in double; the
    /// sum is rounded to odd (its exact error from TwoSum decides the last bit), and a double rounded to odd rounds
    /// to the same float as the exact value (double has more than two bits beyond float's 24), so no double rounding.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<float> FusedMultiplyAddViaDouble(Vector128<float> a, Vector128<float> b, Vector128<float> c) =>
        Vector128.Narrow(
            SumRoundedToOdd(Vector128.WidenLower(a) * Vector128.WidenLower(b), Vector128.WidenLower(c)),
            SumRoundedToOdd(Vector128.WidenUpper(a) * Vector128.WidenUpper(b), Vector128.WidenUpper(c)));

    /// <summary><c>p + c</c> rounded to odd: the nearest double, moved one step towards the exact sum when it is inexact and even.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<double> SumRoundedToOdd(Vector128<double> p, Vector128<double> c)
    {
        Vector128<double> s = p + c, bb = s - p;
        Vector128<double> error = (p - (s - bb)) + (c - bb);                                  // s + error = p + c exactly
        Vector128<long> bits = s.AsInt64();
        Vector128<long> fix = ~Vector128.Equals(error, Vector128<double>.Zero).AsInt64()
            & Vector128.Equals(bits & Vector128<long>.One, Vector128<long>.Zero)
            & Vector128.LessThan(Vector128.Abs(s), Vector128.Create(double.PositiveInfinity)).AsInt64();
        // One step up in magnitude when the error has the sign of s, else one step down.
        Vector128<long> towardsExact = ~(Vector128.GreaterThan(s, Vector128<double>.Zero) ^ Vector128.GreaterThan(error, Vector128<double>.Zero)).AsInt64();
        Vector128<long> step = Vector128.ConditionalSelect(towardsExact, Vector128<long>.One, Vector128<long>.AllBitsSet);
        return (bits + (step & fix)).AsDouble();
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Add(Vector128<float> a, Vector128<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Subtract(Vector128<float> a, Vector128<float> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Multiply(Vector128<float> a, Vector128<float> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Divide(Vector128<float> a, Vector128<float> b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Abs(Vector128<float> a) => Vector128.Abs(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Min(Vector128<float> a, Vector128<float> b) => Vector128.Min(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Max(Vector128<float> a, Vector128<float> b) => Vector128.Max(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> MaxNative(Vector128<float> a, Vector128<float> b) => Vector128.MaxNative(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> MinNative(Vector128<float> a, Vector128<float> b) => Vector128.MinNative(a, b);
    // Arm64's fmax is one instruction and keeps NaN; x86's maxps returns its second operand for a NaN, so max(low, x).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> ClampBelow(Vector128<float> x, Vector128<float> low) =>
        Sse.IsSupported ? Sse.Max(low, x) : Vector128.Max(x, low);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Round(Vector128<float> a) => Vector128.Round(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Pow2(Vector128<float> n) =>
        Vector128.ShiftLeft(Vector128.ConvertToInt32Native(n) + Vector128.Create(127), 23).AsSingle();   // n is in range: no saturation needed
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> ScaleByPow2(Vector128<float> p, Vector128<float> n)
    {
        Vector128<int> ni = Vector128.ConvertToInt32Native(n), half = Vector128.ShiftRightArithmetic(ni, 1), bias = Vector128.Create(127);
        return p * Vector128.ShiftLeft(half + bias, 23).AsSingle() * Vector128.ShiftLeft(ni - half + bias, 23).AsSingle();
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> GreaterThan(Vector128<float> a, Vector128<float> b) => Vector128.GreaterThan(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> GreaterThanOrEqual(Vector128<float> a, Vector128<float> b) => Vector128.GreaterThanOrEqual(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> LessThan(Vector128<float> a, Vector128<float> b) => Vector128.LessThan(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Equal(Vector128<float> a, Vector128<float> b) => Vector128.Equals(a, b);
    // A comparison's mask: blendvps on x86 (Arm64's ConditionalSelect is one bsl).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Select(Vector128<float> mask, Vector128<float> a, Vector128<float> b) =>
        Sse41.IsSupported ? Sse41.BlendVariable(b, a, mask) : Vector128.ConditionalSelect(mask, a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> LoadInt32(int* p) => Vector128.ConvertToSingle(Vector128.Load(p));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> WidenBFloat16(ushort* p)
    {
        Vector128<ushort> four = Vector128.CreateScalarUnsafe(Unsafe.ReadUnaligned<ulong>(p)).AsUInt16();
        return Vector128.ShiftLeft(Vector128.WidenLower(four), 16).AsSingle();
    }
}

/// <summary>An element-wise function written once for every width (<c>Simd.Map</c> applies it).</summary>
internal interface IVectorMap
{
    /// <summary>The function, lane-wise.</summary>
    TVec Apply<TSimd, TVec>(TVec x)
        where TSimd : struct, ISimd<TVec>
        where TVec : struct;
}
