using System.Buffers;
using BarkSharp.Tensors.Jit;

namespace BarkSharp.Tensors;

/// <summary>
/// The AMX side of <see cref="MatMul"/>: weights copied once into the tile layout (<see cref="WeightMatrix.AmxPacked"/>),
/// activations quantized (int8) or rounded (bf16) into a zero-padded block of whole tiles — rows to a multiple of 16,
/// inputs to whole 64-byte steps — then, per panel, blocks of 32 (or a last 16) rows through the kernel and the same
/// epilogue as the other paths. All through <see cref="IAmxExecutor"/>, so the path runs in tests without AMX.
/// <list type="bullet">
/// <item><b>int8</b>: <c>tdpbusd</c> sums the same u8 × s8 products in int32 as the managed and <c>vpdpbusd</c> kernels
/// (integer addition, so the order does not matter) and the epilogue is <see cref="Vnni512Job"/>'s: bit-identical to the
/// managed int8 path.</item>
/// <item><b>bf16</b>: per output one f32 chain over the input pairs in order; by Intel's definition of <c>tdpbf16ps</c>
/// the even product is added before the odd one, each addition rounded (denormals flushed), while <c>vdpbf16ps</c> adds
/// the odd product first. The bits can therefore differ from the <c>vdpbf16ps</c> kernel's (and the hardware may fuse
/// differently from the pseudocode); the bound is the same — k roundings of exact bf16 products — and every row of a
/// batch gets the same chain, so results stay thread- and batch-invariant.</item>
/// </list>
/// </summary>
internal static partial class MatMul
{
    private static unsafe void MultiplyAmx(float* x, int n, WeightMatrix w, int rowStart, int rowCount, float* y, int firstPanel, int panels, int threads, JitKernelKind kind, IAmxExecutor amx)
    {
        int k = w.Cols, steps = AmxKernels.Steps(kind, k), height = (n + 15) / 16 * 16;
        Array packed = AmxWeights(w, kind);
        if (kind == JitKernelKind.AmxInt8)
        {
            int lda = steps * 64, width = w.KGroups * 4;
            using QuantizedRows rows = QuantizeRows(x, n, k, width, lda, height, threads);
            fixed (byte* q = rows.Bytes)
            fixed (float* r = rows.Ranges)
            fixed (sbyte* b = (sbyte[])packed)
            fixed (float* scales = w.Scales)
            fixed (int* sums = w.WeightSums)
            fixed (float* bias = w.Bias)
            {
                var epilogue = new Vnni512Job(q, r, n, width, null, scales, sums, bias, rowStart, rowCount, y, firstPanel);
                KernelParallel.For(new AmxJob(kind, amx, q, lda, b, steps, n, bias, rowStart, rowCount, y, firstPanel, epilogue), panels, threads);
            }
        }
        else
        {
            int lda = steps * 32;
            ushort[] rounded = ArrayPool<ushort>.Shared.Rent(height * lda);
            try
            {
                Array.Clear(rounded, 0, height * lda);
                for (int i = 0; i < n; i++) RoundToBFloat16(new ReadOnlySpan<float>(x + (long)i * k, k), rounded.AsSpan(i * lda, k));
                fixed (ushort* a = rounded)
                fixed (ushort* b = (ushort[])packed)
                fixed (float* bias = w.Bias)
                    KernelParallel.For(new AmxJob(kind, amx, a, 2L * lda, b, steps, n, bias, rowStart, rowCount, y, firstPanel, default), panels, threads);
            }
            finally
            {
                ArrayPool<ushort>.Shared.Return(rounded);
            }
        }
    }

    /// <summary><paramref name="w"/> in the AMX layout, packed on first use and kept on the matrix.</summary>
    internal static Array AmxWeights(WeightMatrix w, JitKernelKind kind)
    {
        if (w.AmxPacked is { } done) return done;
        Array packed = kind == JitKernelKind.AmxInt8 ? AmxKernels.PackInt8(w) : AmxKernels.PackBf16(w);
        return Interlocked.CompareExchange(ref w.AmxPacked, packed, null) ?? packed;
    }

    /// <summary>Panels × blocks of 32 (then 16) padded rows through the AMX kernel; the int8 or bf16 epilogue on the real rows.</summary>
    private readonly unsafe struct AmxJob(
        JitKernelKind kind, IAmxExecutor amx, void* a, long lda, void* packed, int steps, int n, float* bias,
        int rowStart, int rowCount, float* y, int firstPanel, Vnni512Job int8Epilogue) : IRangeJob
    {
        public void Run(int p0, int p1)
        {
            byte* config = stackalloc byte[128];
            AmxKernels.TileConfig(1).CopyTo(new Span<byte>(config, 64));
            AmxKernels.TileConfig(2).CopyTo(new Span<byte>(config + 64, 64));
            int* acc = stackalloc int[32 * Nr];
            long panelBytes = (long)steps * 2048;
            AmxKernelArgs args;
            args.Lda = lda;
            args.Steps = steps;
            args.C = acc;
            for (int p = p0; p < p1; p++)
            {
                int panel = firstPanel + p;
                args.B = (byte*)packed + panel * panelBytes;
                int col = panel * Nr - rowStart, j0 = Math.Max(0, -col), j1 = Math.Min(Nr, rowCount - col), o = panel * Nr;
                for (int i = 0; i < n; i += 32)
                {
                    int rowTiles = n - i > 16 ? 2 : 1, rows = Math.Min(16 * rowTiles, n - i);
                    args.A = (byte*)a + i * lda;
                    args.Config = config + 64 * (rowTiles - 1);
                    amx.Run(kind, rowTiles, &args);
                    for (int r = 0; r < rows; r++)
                    {
                        if (kind == JitKernelKind.AmxInt8)
                        {
                            int8Epilogue.Store(acc + r * Nr, i + r, panel);
                            continue;
                        }
                        float* t = (float*)acc + r * Nr, dst = y + (long)(i + r) * rowCount + col;
                        for (int j = j0; j < j1; j++) dst[j] = bias != null ? t[j] + bias[o + j] : t[j];
                    }
                }
            }
        }
    }
}
