using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace BarkSharp.Tensors;

/// <summary>Which integer dot-product kernel multiplies int8 panels (all three compute the same integers).</summary>
internal enum Int8Kernel
{
    /// <summary>AVX-VNNI <c>vpdpbusd</c>: 32 byte products summed into eight int32 lanes per instruction.</summary>
    Vnni,
    /// <summary>AVX2 <c>vpmaddwd</c> on bytes widened to 16 bits.</summary>
    PairwiseAvx2,
    /// <summary>Arm64 <c>SDOT</c> (the dot-product extension, <c>Dp</c>): see MatMul.Int8.Arm64.cs.</summary>
    DotProductArm64,
    /// <summary>
    /// Portable 128-bit vectors (Arm64 NEON, x86 SSE4.1): bytes widened to 16 bits, multiplied exactly in 16 bits
    /// (|255 · 127| &lt; 2¹⁵) and widened again into 32-bit sums.
    /// </summary>
    Widening128,
    /// <summary>Plain loops (any CPU).</summary>
    Scalar,
}

/// <summary>
/// The int8 path of <see cref="MatMul"/>. Each activation row is quantized to unsigned bytes,
/// <c>x ≈ xScale · q + xMin</c> with <c>q ∈ [0, 255]</c>, and multiplied with the int8 panels as exact 32-bit integer
/// sums over groups of four inputs; then <c>y = wScale · (xScale · Σ q·w + xMin · Σ w) (+ b)</c>.
/// <para>
/// Four lanes — (activation row, panel) pairs — run together: four rows of one panel in a prefill (the panel stays
/// in L1; six rows with AVX2), four panels of one row in a decode step (four independent weight streams), two and two
/// for a pair of rows.
/// The integer sums are exact and the epilogue is fixed, so the result does not depend on the kernel, thread count,
/// tile shape or row count.
/// </para>
/// </summary>
internal static partial class MatMul
{
    private const int GroupBytes = 4 * Nr;     // one four-input group of a panel: 32 outputs × 4 bytes

    /// <summary>The fastest integer kernel this CPU runs.</summary>
    internal static Int8Kernel BestInt8Kernel =>
        AvxVnni.IsSupported ? Int8Kernel.Vnni
        : Avx2.IsSupported ? Int8Kernel.PairwiseAvx2
        : System.Runtime.Intrinsics.Arm.Dp.IsSupported ? Int8Kernel.DotProductArm64
        : Vector128.IsHardwareAccelerated ? Int8Kernel.Widening128
        : Int8Kernel.Scalar;

    /// <summary>The instruction (or method) of a managed int8 kernel, for <c>bark info</c> and <c>bark bench</c>.</summary>
    internal static string Int8KernelName(Int8Kernel kernel) => kernel switch
    {
        Int8Kernel.Vnni => "vpdpbusd ymm",
        Int8Kernel.PairwiseAvx2 => "vpmaddwd ymm",
        Int8Kernel.DotProductArm64 => "Arm64 sdot",
        Int8Kernel.Widening128 => "128-bit widening",
        _ => "scalar",
    };

    /// <summary>
    /// Quantizes one activation row to bytes over its own range: <c>q = round((x − min) / scale)</c>,
    /// <c>scale = (max − min) / 255</c> (0 when the row is constant, every q then 0). <paramref name="q"/> may be longer
    /// than <paramref name="x"/>; the rest is zeroed.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void QuantizeRow(ReadOnlySpan<float> x, Span<byte> q, out float scale, out float min)
    {
        MinMax(x, out min, out float max);
        scale = (max - min) / 255f;
        float inverse = scale > 0 ? 1f / scale : 0f;
        int k = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> vMin = Vector512.Create(min), vInverse = Vector512.Create(inverse), top = Vector512.Create(255f);
            for (; k + 64 <= x.Length; k += 64)
            {
                Vector512<uint> u0 = Level(x, k), u1 = Level(x, k + 16), u2 = Level(x, k + 32), u3 = Level(x, k + 48);
                Vector512.Narrow(Vector512.Narrow(u0, u1), Vector512.Narrow(u2, u3)).CopyTo(q[k..]);
            }

            // The native max and min, as the AVX2 path below: NaN becomes 0 (vmaxps returns its second operand) as the
            // saturating conversion made it, and the levels are then integers in [0, 255], which need no saturation.
            Vector512<uint> Level(ReadOnlySpan<float> x, int at) => Vector512.ConvertToUInt32Native(
                Vector512.MinNative(Vector512.MaxNative(Vector512.Round((Vector512.Create(x.Slice(at, 16)) - vMin) * vInverse), Vector512<float>.Zero), top));
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> vMin = Vector256.Create(min), vInverse = Vector256.Create(inverse), top = Vector256.Create(255f);
            for (; k + 32 <= x.Length; k += 32)
            {
                // Signed conversions (levels are 0–255): AVX2 has no unsigned one.
                Vector256<int> u0 = Level(x, k), u1 = Level(x, k + 8), u2 = Level(x, k + 16), u3 = Level(x, k + 24);
                Vector256.Narrow(Vector256.Narrow(u0, u1), Vector256.Narrow(u2, u3)).AsByte().CopyTo(q[k..]);
            }

            // The native max and min (one instruction each; .NET's IEEE Vector256.Max is seven): they differ from the
            // IEEE ones only for NaN, which becomes 0 here (vmaxps returns its second operand) as the conversion
            // makes it 0 on the other paths, and for a zero's sign, which the conversion drops.
            Vector256<int> Level(ReadOnlySpan<float> x, int at) => Vector256.ConvertToInt32(
                Vector256.MinNative(Vector256.MaxNative(Vector256.Round((Vector256.Create(x.Slice(at, 8)) - vMin) * vInverse), Vector256<float>.Zero), top));
        }
        for (; k < x.Length; k++) q[k] = (byte)Math.Clamp(MathF.Round((x[k] - min) * inverse), 0f, 255f);
        q[x.Length..].Clear();
    }

    /// <summary>
    /// The minimum and maximum of <paramref name="x"/>, the values of <c>TensorPrimitives.Min</c> and <c>Max</c>: two
    /// running vectors each by the native instructions, NaN looked for alongside; a row with a NaN, or whose minimum or
    /// maximum is zero (where the native ones need not tell −0 from +0), is left to <c>TensorPrimitives</c>. (Its own
    /// loops ship without precompiled code, so a process's first products ran them unoptimized.)
    /// </summary>
    private static unsafe void MinMax(ReadOnlySpan<float> x, out float min, out float max)
    {
        bool exact;
        fixed (float* p = x)
        {
            exact = Vector512.IsHardwareAccelerated ? TryMinMax<Simd512, Vector512<float>>(p, x.Length, out min, out max)
                : Vector256.IsHardwareAccelerated ? TryMinMax<Simd256, Vector256<float>>(p, x.Length, out min, out max)
                : TryMinMax<Simd128, Vector128<float>>(p, x.Length, out min, out max);
        }
        if (!exact)
        {
            min = TensorPrimitives.Min(x);
            max = TensorPrimitives.Max(x);
        }
    }

    /// <summary><see cref="MinMax"/> at one width; false (values to be discarded) for an empty row, a NaN or a zero extreme.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe bool TryMinMax<TSimd, TVec>(float* x, int length, out float min, out float max)
        where TSimd : struct, ISimd<TVec>
        where TVec : struct
    {
        min = float.PositiveInfinity;
        max = float.NegativeInfinity;
        int n = TSimd.Count, i = 0;
        if (length >= 2 * n)
        {
            TVec lo0 = TSimd.Load(x), lo1 = TSimd.Load(x + n), hi0 = lo0, hi1 = lo1;
            TVec ordered = TSimd.Equal(TSimd.Add(lo0, lo1), TSimd.Add(lo0, lo1));   // false where a lane is NaN
            for (i = 2 * n; i + 2 * n <= length; i += 2 * n)
            {
                TVec a = TSimd.Load(x + i), b = TSimd.Load(x + i + n);
                lo0 = TSimd.MinNative(lo0, a);
                hi0 = TSimd.MaxNative(hi0, a);
                lo1 = TSimd.MinNative(lo1, b);
                hi1 = TSimd.MaxNative(hi1, b);
                ordered = TSimd.Select(TSimd.Equal(TSimd.Add(a, b), TSimd.Add(a, b)), ordered, TSimd.Zero);
            }
            float* lanes = stackalloc float[3 * 16];
            TSimd.Store(TSimd.MinNative(lo0, lo1), lanes);
            TSimd.Store(TSimd.MaxNative(hi0, hi1), lanes + 16);
            TSimd.Store(ordered, lanes + 32);
            for (int l = 0; l < n; l++)
            {
                if (BitConverter.SingleToInt32Bits(lanes[32 + l]) == 0) return false;
                min = Math.Min(min, lanes[l]);
                max = Math.Max(max, lanes[16 + l]);
            }
        }
        for (; i < length; i++)
        {
            if (float.IsNaN(x[i])) return false;
            min = Math.Min(min, x[i]);
            max = Math.Max(max, x[i]);
        }
        return length > 0 && min != 0 && max != 0;
    }

    private static unsafe void MultiplyInt8(float* x, int n, WeightMatrix w, int rowStart, int rowCount, float* y, int firstPanel, int panels, int threads, Int8Kernel kernel)
    {
        int width = w.KGroups * 4;
        // The AVX2 kernel reads each row's activations widened to 16 bits once here: one group is one 64-bit broadcast.
        using QuantizedRows rows = QuantizeRows(x, n, w.Cols, width, width, n, threads, widen: kernel == Int8Kernel.PairwiseAvx2);
        fixed (byte* q = rows.Bytes)
        fixed (ushort* q16 = rows.Wide)
        fixed (float* r = rows.Ranges)
        fixed (sbyte* packed = w.PackedI8)
        fixed (float* scales = w.Scales)
        fixed (int* sums = w.WeightSums)
        fixed (float* bias = w.Bias)
        {
            var job = new Int8Job(q, q16, r, n, width, packed, scales, sums, bias, rowStart, rowCount, y, firstPanel, kernel);
            KernelParallel.For(job, panels, threads);
        }
    }

    /// <summary>
    /// Activation rows quantized for an int8 product (every int8 path: managed, <c>vpdpbusd zmm</c>, AMX), in rented
    /// buffers returned by <see cref="Dispose"/>: <see cref="Bytes"/> holds row <c>i</c> at <c>i · lda</c> (its
    /// <c>width</c> bytes, zero past the inputs), <see cref="Ranges"/> its <c>(scale, min)</c> at <c>2i</c>, and
    /// <see cref="Wide"/>, when asked for, the same bytes as 16-bit values at <c>i · width</c>.
    /// </summary>
    private readonly struct QuantizedRows(byte[] bytes, float[] ranges, ushort[]? wide) : IDisposable
    {
        public readonly byte[] Bytes = bytes;
        public readonly float[] Ranges = ranges;
        public readonly ushort[]? Wide = wide;

        public void Dispose()
        {
            ArrayPool<byte>.Shared.Return(Bytes);
            ArrayPool<float>.Shared.Return(Ranges);
            if (Wide != null) ArrayPool<ushort>.Shared.Return(Wide);
        }
    }

    /// <summary>
    /// Quantizes rows <c>[0, n)</c> of <paramref name="x"/> (<c>[n, k]</c>) with <see cref="QuantizeRow"/>, rows split
    /// between up to <paramref name="threads"/> threads (each row is quantized alone, so the bytes do not depend on the
    /// split). With <paramref name="lda"/> &gt; <paramref name="width"/> or <paramref name="height"/> &gt; <paramref name="n"/>
    /// (AMX's whole tiles) the padding is zero.
    /// </summary>
    private static unsafe QuantizedRows QuantizeRows(float* x, int n, int k, int width, int lda, int height, int threads, bool widen = false)
    {
        var rows = new QuantizedRows(ArrayPool<byte>.Shared.Rent(height * lda), ArrayPool<float>.Shared.Rent(2 * n),
            widen ? ArrayPool<ushort>.Shared.Rent(n * width) : null);
        if (lda != width || height != n) Array.Clear(rows.Bytes, 0, height * lda);
        fixed (byte* q = rows.Bytes)
        fixed (float* r = rows.Ranges)
        fixed (ushort* q16 = rows.Wide)
            KernelParallel.For(new QuantizeJob(x, k, q, width, lda, r, q16), n, (long)n * k >= 1 << 15 ? threads : 1);
        return rows;
    }

    /// <summary>Rows of <see cref="QuantizeRows"/>.</summary>
    private readonly unsafe struct QuantizeJob(float* x, int k, byte* q, int width, int lda, float* ranges, ushort* q16) : IRangeJob
    {
        public void Run(int begin, int end)
        {
            for (int i = begin; i < end; i++)
            {
                var row = new Span<byte>(q + (long)i * lda, width);
                QuantizeRow(new ReadOnlySpan<float>(x + (long)i * k, k), row, out ranges[2 * i], out ranges[2 * i + 1]);
                if (q16 != null) Widen(row, new Span<ushort>(q16 + (long)i * width, width));
            }
        }
    }

    /// <summary>Copies bytes into 16-bit values.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Widen(ReadOnlySpan<byte> q, Span<ushort> wide)
    {
        int i = 0;
        for (; i + 32 <= q.Length; i += 32)
        {
            Vector256<byte> v = Vector256.Create(q.Slice(i, 32));
            Vector256.WidenLower(v).CopyTo(wide[i..]);
            Vector256.WidenUpper(v).CopyTo(wide[(i + 16)..]);
        }
        for (; i < q.Length; i++) wide[i] = q[i];
    }

    private readonly unsafe struct Int8Job(
        byte* q, ushort* q16, float* ranges, int n, int width, sbyte* packed, float* scales, int* sums, float* bias,
        int rowStart, int rowCount, float* y, int firstPanel, Int8Kernel kernel) : IRangeJob
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(int p0, int p1)
        {
            int groups = width / 4;
            long panelBytes = (long)groups * GroupBytes;
            int* acc = stackalloc int[6 * Nr];
            if (kernel == Int8Kernel.PairwiseAvx2 && n > 2)
            {
                RunSixRows(p0, p1, groups, panelBytes, acc);
                return;
            }
            int tileRows = n <= 2 ? n : 4, tilePanels = 4 / tileRows;
            byte** a = stackalloc byte*[4];
            ulong** a16 = stackalloc ulong*[4];
            sbyte** b = stackalloc sbyte*[4];
            for (int p = p0; p < p1; p += tilePanels)
            {
                for (int i = 0; i < n; i += tileRows)
                {
                    // Lanes past the last row or panel repeat the last one; their sums are dropped.
                    for (int l = 0; l < 4; l++)
                    {
                        long row = Math.Min(i + l % tileRows, n - 1);
                        a[l] = q + row * width;
                        a16[l] = (ulong*)(q16 + row * width);
                        b[l] = packed + (firstPanel + Math.Min(p + l / tileRows, p1 - 1)) * panelBytes;
                    }
                    switch (kernel)
                    {
                        case Int8Kernel.Vnni when tilePanels == 1:
                            DotVnniOnePanel(a[0], a[1], a[2], a[3], b[0], groups, acc);
                            break;
                        case Int8Kernel.Vnni:
                            DotVnni(a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3], groups, acc);
                            break;
                        case Int8Kernel.PairwiseAvx2:
                            for (int l = 0; l < 4; l++) DotPairwiseAvx2(a16[l], b[l], groups, acc + l * Nr);
                            break;
                        case Int8Kernel.DotProductArm64 when tilePanels == 1:
                            DotSdotOnePanel(a[0], a[1], a[2], a[3], b[0], sums + (long)(firstPanel + p) * Nr, groups, acc);
                            break;
                        case Int8Kernel.DotProductArm64:
                            for (int l = 0; l < 4; l++) DotSdot(a[l], b[l], sums + (long)(firstPanel + Math.Min(p + l / tileRows, p1 - 1)) * Nr, groups, acc + l * Nr);
                            break;
                        case Int8Kernel.Widening128:
                            for (int l = 0; l < 4; l++) DotWidening128(a[l], b[l], groups, acc + l * Nr);
                            break;
                        default:
                            for (int l = 0; l < 4; l++) DotScalar(a[l], b[l], groups, acc + l * Nr);
                            break;
                    }
                    for (int l = 0; l < 4; l++)
                    {
                        int row = i + l % tileRows, panel = p + l / tileRows;
                        if (row < n && panel < p1) Store(acc + l * Nr, row, firstPanel + panel);
                    }
                }
            }
        }

        /// <summary>A prefill with AVX2: six rows of one panel per call (<see cref="DotPairwiseAvx2SixRows"/>).</summary>
        private void RunSixRows(int p0, int p1, int groups, long panelBytes, int* acc)
        {
            ulong** a = stackalloc ulong*[6];
            for (int p = p0; p < p1; p++)
            {
                int panel = firstPanel + p;
                sbyte* b = packed + panel * panelBytes;
                for (int i = 0; i < n; i += 6)
                {
                    // Rows past the last one repeat it; their sums are dropped.
                    for (int l = 0; l < 6; l++) a[l] = (ulong*)(q16 + (long)Math.Min(i + l, n - 1) * width);
                    DotPairwiseAvx2SixRows(a[0], a[1], a[2], a[3], a[4], a[5], b, groups, acc);
                    for (int l = 0; l < Math.Min(6, n - i); l++) Store(acc + l * Nr, i + l, panel);
                }
            }
        }

        /// <summary><c>y = wScale · (xScale · acc + xMin · Σw) + b</c> for the panel's outputs inside the requested rows.</summary>
        private void Store(int* acc, int row, int panel) =>
            StoreInt8(acc, ranges[2 * row], ranges[2 * row + 1], scales, sums, bias, y, rowStart, rowCount, row, panel);
    }

    /// <summary>Four lanes of 32 outputs: <c>acc[l · 32 + j] = Σ_k a_l[k] · panel_l[k, j]</c> with AVX-VNNI.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void DotVnni(byte* a0, byte* a1, byte* a2, byte* a3, sbyte* b0, sbyte* b1, sbyte* b2, sbyte* b3, int groups, int* acc)
    {
        Vector256<int> c00 = default, c01 = default, c02 = default, c03 = default, c10 = default, c11 = default, c12 = default, c13 = default;
        Vector256<int> c20 = default, c21 = default, c22 = default, c23 = default, c30 = default, c31 = default, c32 = default, c33 = default;
        for (int g = 0; g < groups; g++)
        {
            long o = (long)g * GroupBytes;
            Vector256<byte> v = Vector256.Create(((int*)a0)[g]).AsByte();
            c00 = AvxVnni.MultiplyWideningAndAdd(c00, v, Vector256.Load(b0 + o));
            c01 = AvxVnni.MultiplyWideningAndAdd(c01, v, Vector256.Load(b0 + o + 32));
            c02 = AvxVnni.MultiplyWideningAndAdd(c02, v, Vector256.Load(b0 + o + 64));
            c03 = AvxVnni.MultiplyWideningAndAdd(c03, v, Vector256.Load(b0 + o + 96));
            v = Vector256.Create(((int*)a1)[g]).AsByte();
            c10 = AvxVnni.MultiplyWideningAndAdd(c10, v, Vector256.Load(b1 + o));
            c11 = AvxVnni.MultiplyWideningAndAdd(c11, v, Vector256.Load(b1 + o + 32));
            c12 = AvxVnni.MultiplyWideningAndAdd(c12, v, Vector256.Load(b1 + o + 64));
            c13 = AvxVnni.MultiplyWideningAndAdd(c13, v, Vector256.Load(b1 + o + 96));
            v = Vector256.Create(((int*)a2)[g]).AsByte();
            c20 = AvxVnni.MultiplyWideningAndAdd(c20, v, Vector256.Load(b2 + o));
            c21 = AvxVnni.MultiplyWideningAndAdd(c21, v, Vector256.Load(b2 + o + 32));
            c22 = AvxVnni.MultiplyWideningAndAdd(c22, v, Vector256.Load(b2 + o + 64));
            c23 = AvxVnni.MultiplyWideningAndAdd(c23, v, Vector256.Load(b2 + o + 96));
            v = Vector256.Create(((int*)a3)[g]).AsByte();
            c30 = AvxVnni.MultiplyWideningAndAdd(c30, v, Vector256.Load(b3 + o));
            c31 = AvxVnni.MultiplyWideningAndAdd(c31, v, Vector256.Load(b3 + o + 32));
            c32 = AvxVnni.MultiplyWideningAndAdd(c32, v, Vector256.Load(b3 + o + 64));
            c33 = AvxVnni.MultiplyWideningAndAdd(c33, v, Vector256.Load(b3 + o + 96));
        }
        c00.Store(acc); c01.Store(acc + 8); c02.Store(acc + 16); c03.Store(acc + 24);
        c10.Store(acc + 32); c11.Store(acc + 40); c12.Store(acc + 48); c13.Store(acc + 56);
        c20.Store(acc + 64); c21.Store(acc + 72); c22.Store(acc + 80); c23.Store(acc + 88);
        c30.Store(acc + 96); c31.Store(acc + 104); c32.Store(acc + 112); c33.Store(acc + 120);
    }

    /// <summary>
    /// Four rows of one panel with AVX-VNNI: each group of the panel is loaded once for all four rows (a load per two
    /// dot products would otherwise cap the rate below the two dot products a cycle the CPU can issue).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void DotVnniOnePanel(byte* a0, byte* a1, byte* a2, byte* a3, sbyte* b, int groups, int* acc)
    {
        Vector256<int> c00 = default, c01 = default, c02 = default, c03 = default, c10 = default, c11 = default, c12 = default, c13 = default;
        Vector256<int> c20 = default, c21 = default, c22 = default, c23 = default, c30 = default, c31 = default, c32 = default, c33 = default;
        for (int g = 0; g < groups; g++)
        {
            sbyte* p = b + (long)g * GroupBytes;
            Vector256<sbyte> w0 = Vector256.Load(p), w1 = Vector256.Load(p + 32), w2 = Vector256.Load(p + 64), w3 = Vector256.Load(p + 96);
            Vector256<byte> v = Vector256.Create(((int*)a0)[g]).AsByte();
            c00 = AvxVnni.MultiplyWideningAndAdd(c00, v, w0); c01 = AvxVnni.MultiplyWideningAndAdd(c01, v, w1);
            c02 = AvxVnni.MultiplyWideningAndAdd(c02, v, w2); c03 = AvxVnni.MultiplyWideningAndAdd(c03, v, w3);
            v = Vector256.Create(((int*)a1)[g]).AsByte();
            c10 = AvxVnni.MultiplyWideningAndAdd(c10, v, w0); c11 = AvxVnni.MultiplyWideningAndAdd(c11, v, w1);
            c12 = AvxVnni.MultiplyWideningAndAdd(c12, v, w2); c13 = AvxVnni.MultiplyWideningAndAdd(c13, v, w3);
            v = Vector256.Create(((int*)a2)[g]).AsByte();
            c20 = AvxVnni.MultiplyWideningAndAdd(c20, v, w0); c21 = AvxVnni.MultiplyWideningAndAdd(c21, v, w1);
            c22 = AvxVnni.MultiplyWideningAndAdd(c22, v, w2); c23 = AvxVnni.MultiplyWideningAndAdd(c23, v, w3);
            v = Vector256.Create(((int*)a3)[g]).AsByte();
            c30 = AvxVnni.MultiplyWideningAndAdd(c30, v, w0); c31 = AvxVnni.MultiplyWideningAndAdd(c31, v, w1);
            c32 = AvxVnni.MultiplyWideningAndAdd(c32, v, w2); c33 = AvxVnni.MultiplyWideningAndAdd(c33, v, w3);
        }
        c00.Store(acc); c01.Store(acc + 8); c02.Store(acc + 16); c03.Store(acc + 24);
        c10.Store(acc + 32); c11.Store(acc + 40); c12.Store(acc + 48); c13.Store(acc + 56);
        c20.Store(acc + 64); c21.Store(acc + 72); c22.Store(acc + 80); c23.Store(acc + 88);
        c30.Store(acc + 96); c31.Store(acc + 104); c32.Store(acc + 112); c33.Store(acc + 120);
    }

    /// <summary>
    /// Six rows of one panel with AVX2 (a prefill), eight outputs at a time: each 16-byte slice of a group (four outputs ×
    /// four inputs) is widened to 16 bits once and multiplied (<c>vpmaddwd</c>) with the six rows' broadcast activations
    /// (four 16-bit values, see <see cref="QuantizeRows"/>); each output keeps two partial sums, added at the end.
    /// 12 accumulators, two weight slices and a broadcast fill 15 of the 16 ymm registers. AVX2 has no integer
    /// multiply-add, so every <c>vpmaddwd</c> needs its <c>vpaddd</c>; six rows rather than four share each widening
    /// (1.15× the four-row kernel's rate on Zen 4; blocking the groups to keep the panel in L1 gained nothing).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void DotPairwiseAvx2SixRows(ulong* a0, ulong* a1, ulong* a2, ulong* a3, ulong* a4, ulong* a5, sbyte* b, int groups, int* acc)
    {
        for (int s = 0; s < Nr / 8; s++)
        {
            Vector256<int> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
            Vector256<int> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
            sbyte* p = b + 32 * s;
            for (int g = 0; g < groups; g++, p += GroupBytes)
            {
                Vector256<short> w0 = Avx2.ConvertToVector256Int16(p), w1 = Avx2.ConvertToVector256Int16(p + 16);
                Vector256<short> v = Vector256.Create(a0[g]).AsInt16();
                c00 = Avx2.Add(c00, Avx2.MultiplyAddAdjacent(w0, v));
                c01 = Avx2.Add(c01, Avx2.MultiplyAddAdjacent(w1, v));
                v = Vector256.Create(a1[g]).AsInt16();
                c10 = Avx2.Add(c10, Avx2.MultiplyAddAdjacent(w0, v));
                c11 = Avx2.Add(c11, Avx2.MultiplyAddAdjacent(w1, v));
                v = Vector256.Create(a2[g]).AsInt16();
                c20 = Avx2.Add(c20, Avx2.MultiplyAddAdjacent(w0, v));
                c21 = Avx2.Add(c21, Avx2.MultiplyAddAdjacent(w1, v));
                v = Vector256.Create(a3[g]).AsInt16();
                c30 = Avx2.Add(c30, Avx2.MultiplyAddAdjacent(w0, v));
                c31 = Avx2.Add(c31, Avx2.MultiplyAddAdjacent(w1, v));
                v = Vector256.Create(a4[g]).AsInt16();
                c40 = Avx2.Add(c40, Avx2.MultiplyAddAdjacent(w0, v));
                c41 = Avx2.Add(c41, Avx2.MultiplyAddAdjacent(w1, v));
                v = Vector256.Create(a5[g]).AsInt16();
                c50 = Avx2.Add(c50, Avx2.MultiplyAddAdjacent(w0, v));
                c51 = Avx2.Add(c51, Avx2.MultiplyAddAdjacent(w1, v));
            }
            int* o = acc + 8 * s;
            PairSums(c00, c01).Store(o);
            PairSums(c10, c11).Store(o + Nr);
            PairSums(c20, c21).Store(o + 2 * Nr);
            PairSums(c30, c31).Store(o + 3 * Nr);
            PairSums(c40, c41).Store(o + 4 * Nr);
            PairSums(c50, c51).Store(o + 5 * Nr);
        }
    }

    /// <summary>Eight outputs in order from two vectors of four outputs' two partial sums each.</summary>
    private static Vector256<int> PairSums(Vector256<int> lo, Vector256<int> hi) =>
        Avx2.Permute4x64(Avx2.HorizontalAdd(lo, hi).AsInt64(), 0b11_01_10_00).AsInt32();

    /// <summary>
    /// One lane of 32 outputs with AVX2 (a decode step's panels): <c>vpmaddwd</c> of the group's 128 bytes widened to
    /// 16 bits and the row's four broadcast 16-bit activations; each output keeps two partial sums, added at the end.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void DotPairwiseAvx2(ulong* a, sbyte* b, int groups, int* acc)
    {
        Vector256<int> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
        sbyte* p = b;
        for (int g = 0; g < groups; g++, p += GroupBytes)
        {
            Vector256<short> v = Vector256.Create(a[g]).AsInt16();
            c0 = Avx2.Add(c0, Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(p), v));
            c1 = Avx2.Add(c1, Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(p + 16), v));
            c2 = Avx2.Add(c2, Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(p + 32), v));
            c3 = Avx2.Add(c3, Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(p + 48), v));
            c4 = Avx2.Add(c4, Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(p + 64), v));
            c5 = Avx2.Add(c5, Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(p + 80), v));
            c6 = Avx2.Add(c6, Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(p + 96), v));
            c7 = Avx2.Add(c7, Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(p + 112), v));
        }
        PairSums(c0, c1).Store(acc);
        PairSums(c2, c3).Store(acc + 8);
        PairSums(c4, c5).Store(acc + 16);
        PairSums(c6, c7).Store(acc + 24);
    }

    /// <summary>
    /// One lane with portable 128-bit vectors, in two passes of 16 outputs (one 64-byte half of each group, so each
    /// pass reads whole cache lines): each output keeps one vector of four partial sums (one per input of a group),
    /// added at the end. Integer sums are exact, so the order does not matter.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void DotWidening128(byte* a, sbyte* b, int groups, int* acc)
    {
        for (int half = 0; half < 2; half++)
        {
            Vector128<int> s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
            Vector128<int> s8 = default, s9 = default, sa = default, sb = default, sc = default, sd = default, se = default, sf = default;
            sbyte* bh = b + half * (GroupBytes / 2);
            for (int g = 0; g < groups; g++)
            {
                // The group's four activations as 16-bit values, repeated for two outputs.
                byte* x = a + 4 * g;
                Vector128<short> v = Vector128.Create(x[0] | (ulong)x[1] << 16 | (ulong)x[2] << 32 | (ulong)x[3] << 48).AsInt16();
                sbyte* p = bh + (long)g * GroupBytes;
                Vector128<sbyte> w = Vector128.Load(p);
                Vector128<short> lo = Vector128.WidenLower(w) * v, hi = Vector128.WidenUpper(w) * v;
                s0 += Vector128.WidenLower(lo); s1 += Vector128.WidenUpper(lo); s2 += Vector128.WidenLower(hi); s3 += Vector128.WidenUpper(hi);
                w = Vector128.Load(p + 16);
                lo = Vector128.WidenLower(w) * v;
                hi = Vector128.WidenUpper(w) * v;
                s4 += Vector128.WidenLower(lo); s5 += Vector128.WidenUpper(lo); s6 += Vector128.WidenLower(hi); s7 += Vector128.WidenUpper(hi);
                w = Vector128.Load(p + 32);
                lo = Vector128.WidenLower(w) * v;
                hi = Vector128.WidenUpper(w) * v;
                s8 += Vector128.WidenLower(lo); s9 += Vector128.WidenUpper(lo); sa += Vector128.WidenLower(hi); sb += Vector128.WidenUpper(hi);
                w = Vector128.Load(p + 48);
                lo = Vector128.WidenLower(w) * v;
                hi = Vector128.WidenUpper(w) * v;
                sc += Vector128.WidenLower(lo); sd += Vector128.WidenUpper(lo); se += Vector128.WidenLower(hi); sf += Vector128.WidenUpper(hi);
            }
            int* o = acc + half * 16;
            o[0] = Vector128.Sum(s0); o[1] = Vector128.Sum(s1); o[2] = Vector128.Sum(s2); o[3] = Vector128.Sum(s3);
            o[4] = Vector128.Sum(s4); o[5] = Vector128.Sum(s5); o[6] = Vector128.Sum(s6); o[7] = Vector128.Sum(s7);
            o[8] = Vector128.Sum(s8); o[9] = Vector128.Sum(s9); o[10] = Vector128.Sum(sa); o[11] = Vector128.Sum(sb);
            o[12] = Vector128.Sum(sc); o[13] = Vector128.Sum(sd); o[14] = Vector128.Sum(se); o[15] = Vector128.Sum(sf);
        }
    }

    /// <summary>One lane, plain loops.</summary>
    private static unsafe void DotScalar(byte* a, sbyte* b, int groups, int* acc)
    {
        for (int j = 0; j < Nr; j++) acc[j] = 0;
        for (int g = 0; g < groups; g++)
        {
            sbyte* p = b + (long)g * GroupBytes;
            for (int j = 0; j < Nr; j++)
                for (int t = 0; t < 4; t++) acc[j] += a[4 * g + t] * p[4 * j + t];
        }
    }

    /// <summary>
    /// The int8 epilogue every int8 kernel (managed, <c>vpdpbusd zmm</c>, AMX) ends with, one code for all so their results
    /// are the same bits: <c>y = wScale · (xScale · acc + xMin · Σw) + b</c> for the panel's outputs inside the requested rows.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void StoreInt8(int* acc, float xScale, float xMin, float* scales, int* sums, float* bias, float* y,
        int rowStart, int rowCount, int row, int panel)
    {
        int col = panel * Nr - rowStart, o = panel * Nr;
        float* dst = y + (long)row * rowCount + col;
        if (col >= 0 && col + Nr <= rowCount)
        {
            // Whole panels a vector at a time, the scalar loop's operations in its order (no FMA), so the same bits. The
            // width is the hardware's (constants to the JIT), not Simd.Path: a thread-static read per tile costs ≈ 5 %.
            float* b = bias == null ? null : bias + o;
            if (Vector512.IsHardwareAccelerated) StoreInt8<Simd512, Vector512<float>>(acc, xScale, xMin, scales + o, sums + o, b, dst);
            else if (Vector256.IsHardwareAccelerated) StoreInt8<Simd256, Vector256<float>>(acc, xScale, xMin, scales + o, sums + o, b, dst);
            else StoreInt8<Simd128, Vector128<float>>(acc, xScale, xMin, scales + o, sums + o, b, dst);
            return;
        }
        for (int j = Math.Max(0, -col); j < Math.Min(Nr, rowCount - col); j++)
        {
            float v = scales[o + j] * (xScale * acc[j] + xMin * sums[o + j]);
            dst[j] = bias != null ? v + bias[o + j] : v;
        }
    }

    /// <summary><see cref="StoreInt8(int*, float, float, float*, int*, float*, float*, int, int, int, int)"/> for one whole panel of <see cref="Nr"/> outputs, <typeparamref name="TSimd"/>'s width at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void StoreInt8<TSimd, TVec>(int* acc, float xScale, float xMin, float* scales, int* sums, float* bias, float* dst)
        where TSimd : struct, ISimd<TVec>
        where TVec : struct
    {
        TVec vs = TSimd.Broadcast(xScale), vm = TSimd.Broadcast(xMin);
        for (int h = 0; h < Nr; h += TSimd.Count)
        {
            TVec v = TSimd.Multiply(TSimd.Load(scales + h),
                TSimd.Add(TSimd.Multiply(vs, TSimd.LoadInt32(acc + h)), TSimd.Multiply(vm, TSimd.LoadInt32(sums + h))));
            if (bias != null) v = TSimd.Add(v, TSimd.Load(bias + h));
            TSimd.Store(v, dst + h);
        }
    }
}
