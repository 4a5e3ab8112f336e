using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using BarkSharp.Tensors.Jit;

namespace BarkSharp.Tensors;

/// <summary>
/// The generated kernels' side of <see cref="MatMul"/> (<c>Tensors/Jit</c>): int8 weights through 512-bit
/// <c>vpdpbusd</c>, with the same quantized activations, integers and epilogue as the managed int8 path, so the
/// results are bit-identical to it; bf16 weights through <c>vdpbf16ps</c>, with activations rounded to bf16.
/// </summary>
internal static partial class MatMul
{
    /// <summary>Runs the product with a generated kernel when one serves <paramref name="w"/>'s type; false when none does.</summary>
    internal static unsafe bool TryMultiplyJit(ReadOnlySpan<float> x, int n, WeightMatrix w, int rowStart, int rowCount, Span<float> y, int maxThreads)
    {
        JitKernelKind kind = JitKernels.KindFor(w.Type);
        // Int8 decode steps (one or two rows) stay managed: its four-panel kernel streams the weights faster than one
        // generated panel at a time (0.92× measured), and the integers, so the bits, are the same either way. bf16 cannot
        // switch: its results depend on the kernel, and a row must get the same bits in any batch.
        if (kind == JitKernelKind.None || (kind is (JitKernelKind.Vnni512 or JitKernelKind.AmxInt8) && n <= 2)) return false;
        return MultiplyJit(x, n, w, rowStart, rowCount, y, maxThreads, kind);
    }

    /// <summary>The product with generated kernel <paramref name="kind"/> (tests call it directly); false when it does not apply.</summary>
    /// <remarks>AMX kinds run through <paramref name="amx"/> (tests: an interpreter; default the hardware).</remarks>
    internal static unsafe bool MultiplyJit(ReadOnlySpan<float> x, int n, WeightMatrix w, int rowStart, int rowCount, Span<float> y, int maxThreads, JitKernelKind kind, IAmxExecutor? amx = null)
    {
        bool fits = kind switch
        {
            JitKernelKind.Vnni512 => w.Type == WeightType.Int8,
            JitKernelKind.Bf16Avx512 => w.Type == WeightType.BFloat16 && w.Cols % 2 == 0,
            JitKernelKind.AmxInt8 => w.Type == WeightType.Int8,
            JitKernelKind.AmxBf16 => w.Type == WeightType.BFloat16,
            _ => false,
        };
        if (!fits) return false;
        if (!PlanProduct(x, n, w, rowStart, rowCount, y, maxThreads, out int firstPanel, out int panels, out int threads)) return true;
        fixed (float* px = x)
        fixed (float* py = y)
        {
            if (kind is JitKernelKind.AmxInt8 or JitKernelKind.AmxBf16)
                MultiplyAmx(px, n, w, rowStart, rowCount, py, firstPanel, panels, threads, kind, amx ?? HardwareAmxExecutor.Instance);
            else if (kind == JitKernelKind.Vnni512) MultiplyVnni512(px, n, w, rowStart, rowCount, py, firstPanel, panels, threads);
            else MultiplyBf16Jit(px, n, w, rowStart, rowCount, py, firstPanel, panels, threads);
        }
        return true;
    }

    private static unsafe void MultiplyVnni512(float* x, int n, WeightMatrix w, int rowStart, int rowCount, float* y, int firstPanel, int panels, int threads)
    {
        int width = w.KGroups * 4;
        using QuantizedRows rows = QuantizeRows(x, n, w.Cols, width, width, n, threads);
        fixed (byte* q = rows.Bytes)
        fixed (float* r = rows.Ranges)
        fixed (sbyte* packed = w.PackedI8)
        fixed (float* scales = w.Scales)
        fixed (int* sums = w.WeightSums)
        fixed (float* bias = w.Bias)
            KernelParallel.For(new Vnni512Job(q, r, n, width, packed, scales, sums, bias, rowStart, rowCount, y, firstPanel), panels, threads);
    }

    /// <summary>Panels × blocks of up to 12 rows through the generated kernel, then the managed int8 epilogue.</summary>
    private readonly unsafe struct Vnni512Job(
        byte* q, float* ranges, int n, int width, sbyte* packed, float* scales, int* sums, float* bias,
        int rowStart, int rowCount, float* y, int firstPanel) : IRangeJob
    {
        public void Run(int p0, int p1)
        {
            int groups = width / 4;
            long panelBytes = (long)groups * GroupBytes;
            int* acc = stackalloc int[PanelKernels.MaxRows * Nr];
            PanelKernelArgs args;
            args.Lda = width;
            args.Groups = groups;
            args.C = acc;
            for (int p = p0; p < p1; p++)
            {
                int panel = firstPanel + p;
                args.B = packed + panel * panelBytes;
                for (int i = 0; i < n; i += PanelKernels.MaxRows)
                {
                    int rows = Math.Min(PanelKernels.MaxRows, n - i);
                    args.A = q + (long)i * width;
                    JitKernels.Panel(JitKernelKind.Vnni512, rows)(&args);
                    for (int r = 0; r < rows; r++) Store(acc + r * Nr, i + r, panel);
                }
            }
        }

        /// <summary>The managed int8 path's epilogue, operation for operation: <c>y = wScale · (xScale · acc + xMin · Σw) + b</c>.</summary>
        internal void Store(int* acc, int row, int panel) =>
            StoreInt8(acc, ranges[2 * row], ranges[2 * row + 1], scales, sums, bias, y, rowStart, rowCount, row, panel);
    }

    private static unsafe void MultiplyBf16Jit(float* x, int n, WeightMatrix w, int rowStart, int rowCount, float* y, int firstPanel, int panels, int threads)
    {
        int k = w.Cols;
        ushort[] rounded = ArrayPool<ushort>.Shared.Rent(n * k);
        try
        {
            RoundToBFloat16(new ReadOnlySpan<float>(x, n * k), rounded.AsSpan(0, n * k));
            fixed (ushort* a = rounded)
            fixed (ushort* packed = w.PackedU16)
            fixed (float* bias = w.Bias)
                KernelParallel.For(new Bf16Job(a, n, k, packed, bias, rowStart, rowCount, y, firstPanel), panels, threads);
        }
        finally
        {
            ArrayPool<ushort>.Shared.Return(rounded);
        }
    }

    /// <summary>float32 → bfloat16 bits, round to nearest even (as <see cref="WeightMatrix.ToBFloat16"/> and <c>vcvtne2ps2bf16</c> on normal numbers).</summary>
    internal static void RoundToBFloat16(ReadOnlySpan<float> source, Span<ushort> destination)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i + 32 <= source.Length; i += 32)
            {
                Vector512<ushort> r = Vector512.Narrow(RoundToBFloat16(Vector512.Create(source.Slice(i, 16))), RoundToBFloat16(Vector512.Create(source.Slice(i + 16, 16))));
                r.CopyTo(destination[i..]);
            }
        }
        for (; i < source.Length; i++) destination[i] = WeightMatrix.ToBFloat16(source[i]);
    }

    /// <summary>
    /// 16 float32 → bfloat16 bits in the low half of each lane, round to nearest even; a NaN stays a (quiet) NaN. The one
    /// rounding the vector paths share (<see cref="RoundToBFloat16(ReadOnlySpan{float}, Span{ushort})"/>, bf16 attention).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<uint> RoundToBFloat16(Vector512<float> v)
    {
        Vector512<uint> bits = v.AsUInt32();
        Vector512<uint> rounded = (bits + Vector512.Create(0x7FFFu) + ((bits >> 16) & Vector512<uint>.One)) >> 16;
        Vector512<uint> nan = (bits >> 16) | Vector512.Create(0x40u);
        return Vector512.ConditionalSelect(Vector512.Equals(v, v).AsUInt32(), rounded, nan);
    }

    /// <summary>Panels × blocks of up to 12 rows through the generated bf16 kernel; bias added.</summary>
    private readonly unsafe struct Bf16Job(ushort* a, int n, int k, ushort* packed, float* bias, int rowStart, int rowCount, float* y, int firstPanel) : IRangeJob
    {
        public void Run(int p0, int p1)
        {
            float* acc = stackalloc float[PanelKernels.MaxRows * Nr];
            PanelKernelArgs args;
            args.Lda = 2L * k;
            args.Groups = k / 2;
            args.C = acc;
            args.Ldb = 2 * Nr;
            int p = p0;
            if (n == 1 && JitKernels.WideBf16Decode)
            {
                // Decode step: four panels per call (four weight streams), the same chain per output as below.
                args.PanelBytes = 2L * k * Nr;
                for (; p + PanelKernels.DecodePanels <= p1; p += PanelKernels.DecodePanels)
                {
                    args.A = a;
                    args.B = packed + (long)(firstPanel + p) * k * Nr;
                    JitKernels.Bf16Decode(&args);
                    for (int q = 0; q < PanelKernels.DecodePanels; q++) Unpack(acc + q * Nr, 0, firstPanel + p + q);
                }
            }
            for (; p < p1; p++)
            {
                int panel = firstPanel + p;
                args.B = packed + (long)panel * k * Nr;
                for (int i = 0; i < n; i += PanelKernels.MaxRows)
                {
                    int rows = Math.Min(PanelKernels.MaxRows, n - i);
                    args.A = a + (long)i * k;
                    JitKernels.Panel(JitKernelKind.Bf16Avx512, rows)(&args);
                    for (int r = 0; r < rows; r++) Unpack(acc + r * Nr, i + r, panel);
                }
            }
        }

        /// <summary>One row of a panel's tile to its outputs: clipped to the requested rows, bias added.</summary>
        private void Unpack(float* t, int row, int panel)
        {
            int col = panel * Nr - rowStart, j0 = Math.Max(0, -col), j1 = Math.Min(Nr, rowCount - col), o = panel * Nr;
            var sums = new ReadOnlySpan<float>(t + j0, j1 - j0);
            var dst = new Span<float>(y + (long)row * rowCount + col + j0, j1 - j0);
            if (bias != null) TensorPrimitives.Add(sums, new ReadOnlySpan<float>(bias + o + j0, j1 - j0), dst);
            else sums.CopyTo(dst);
        }
    }
}
