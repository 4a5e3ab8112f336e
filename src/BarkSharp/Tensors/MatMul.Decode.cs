using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace BarkSharp.Tensors;

/// <summary>
/// The decode path of <see cref="MatMul"/> (one activation row): four panels at a time, eight independent FMA chains,
/// the weights widened in registers straight from their stored type, so a step streams each weight byte once.
/// Each output is still one chain over the input index in order — the same numbers the tiled path computes.
/// </summary>
public static partial class MatMul
{
    /// <summary>Loads 32 weights (one panel row) as two float vectors.</summary>
    private interface IPanelLoader
    {
        static abstract unsafe (Vector512<float> Lo, Vector512<float> Hi) Load(void* panel, long element);
    }

    private readonly struct Float32Loader : IPanelLoader
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static unsafe (Vector512<float>, Vector512<float>) Load(void* panel, long element)
        {
            float* p = (float*)panel + element;
            return (Vector512.Load(p), Vector512.Load(p + 16));
        }
    }

    private readonly struct BFloat16Loader : IPanelLoader
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static unsafe (Vector512<float>, Vector512<float>) Load(void* panel, long element)
        {
            ushort* p = (ushort*)panel + element;
            return (WeightMatrix.WidenBFloat16(p), WeightMatrix.WidenBFloat16(p + 16));
        }
    }

    /// <summary>True when <see cref="DecodeRows"/> handles this weight type.</summary>
    private static bool HasDecodeKernel(WeightType type) => type is WeightType.Float32 or WeightType.BFloat16;

    /// <summary>
    /// <c>y[r, p·32 + j] = Σ_k x[r, k] · W(p, k, j)</c> for one or two rows and panels <c>[p0, p1)</c>, written to
    /// <paramref name="y"/> at column <c>p·32 − rowStart</c> (row stride <paramref name="rowCount"/>).
    /// </summary>
    private static unsafe void DecodeRows(float* x, int n, int k, WeightMatrix w, int firstPanel, int p0, int p1, int rowStart, int rowCount, float* y)
    {
        switch (w.Type)
        {
            case WeightType.Float32:
                fixed (float* b = w.PackedF32) Dispatch<Float32Loader>(x, n, k, b, firstPanel, p0, p1, rowStart, rowCount, y);
                break;
            case WeightType.BFloat16:
                fixed (ushort* b = w.PackedU16) Dispatch<BFloat16Loader>(x, n, k, b, firstPanel, p0, p1, rowStart, rowCount, y);
                break;
            default:
                throw new InvalidOperationException($"no decode kernel for {w.Type}");
        }
    }

    private static unsafe void Dispatch<TLoader>(float* x, int n, int k, void* packed, int firstPanel, int p0, int p1, int rowStart, int rowCount, float* y)
        where TLoader : struct, IPanelLoader
    {
        if (n == 1) DecodePanels<TLoader>(x, k, packed, firstPanel, p0, p1, rowStart, rowCount, y);
        else DecodePanels2<TLoader>(x, k, packed, firstPanel, p0, p1, rowStart, rowCount, y);
    }

    /// <summary>Two rows (a batch of two decode steps): two panels at a time, eight chains, each weight widened once for both rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void DecodePanels2<TLoader>(float* x, int k, void* packed, int firstPanel, int p0, int p1, int rowStart, int rowCount, float* y)
        where TLoader : struct, IPanelLoader
    {
        float* tile = stackalloc float[2 * Nr];
        float* x1 = x + k;
        int p = p0;
        for (; p < p1; p += 2)
        {
            int panels = Math.Min(2, p1 - p);
            long s0 = (long)(firstPanel + p) * k * Nr, s1 = panels == 2 ? s0 + (long)k * Nr : s0;
            Vector512<float> a0 = default, a1 = default, b0 = default, b1 = default, c0 = default, c1 = default, d0 = default, d1 = default;
            for (int i = 0; i < k; i++)
            {
                Vector512<float> u = Vector512.Create(x[i]), v = Vector512.Create(x1[i]);
                long e = (long)i * Nr;
                var (l0, h0) = TLoader.Load(packed, s0 + e);
                var (l1, h1) = TLoader.Load(packed, s1 + e);
                a0 = Vector512.FusedMultiplyAdd(u, l0, a0); a1 = Vector512.FusedMultiplyAdd(u, h0, a1);
                b0 = Vector512.FusedMultiplyAdd(v, l0, b0); b1 = Vector512.FusedMultiplyAdd(v, h0, b1);
                c0 = Vector512.FusedMultiplyAdd(u, l1, c0); c1 = Vector512.FusedMultiplyAdd(u, h1, c1);
                d0 = Vector512.FusedMultiplyAdd(v, l1, d0); d1 = Vector512.FusedMultiplyAdd(v, h1, d1);
            }
            a0.Store(tile); a1.Store(tile + 16); c0.Store(tile + 32); c1.Store(tile + 48);
            Scatter(tile, panels, firstPanel + p, rowStart, rowCount, y);
            b0.Store(tile); b1.Store(tile + 16); d0.Store(tile + 32); d1.Store(tile + 48);
            Scatter(tile, panels, firstPanel + p, rowStart, rowCount, y + rowCount);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void DecodePanels<TLoader>(float* x, int k, void* packed, int firstPanel, int p0, int p1, int rowStart, int rowCount, float* y)
        where TLoader : struct, IPanelLoader
    {
        float* tile = stackalloc float[4 * Nr];
        int p = p0;
        for (; p + 4 <= p1; p += 4)
        {
            long s0 = (long)(firstPanel + p) * k * Nr, stride = (long)k * Nr;
            Vector512<float> a0 = default, a1 = default, b0 = default, b1 = default, c0 = default, c1 = default, d0 = default, d1 = default;
            for (int i = 0; i < k; i++)
            {
                Vector512<float> v = Vector512.Create(x[i]);
                long e = s0 + (long)i * Nr;
                var (l0, h0) = TLoader.Load(packed, e);
                var (l1, h1) = TLoader.Load(packed, e + stride);
                var (l2, h2) = TLoader.Load(packed, e + 2 * stride);
                var (l3, h3) = TLoader.Load(packed, e + 3 * stride);
                a0 = Vector512.FusedMultiplyAdd(v, l0, a0); a1 = Vector512.FusedMultiplyAdd(v, h0, a1);
                b0 = Vector512.FusedMultiplyAdd(v, l1, b0); b1 = Vector512.FusedMultiplyAdd(v, h1, b1);
                c0 = Vector512.FusedMultiplyAdd(v, l2, c0); c1 = Vector512.FusedMultiplyAdd(v, h2, c1);
                d0 = Vector512.FusedMultiplyAdd(v, l3, d0); d1 = Vector512.FusedMultiplyAdd(v, h3, d1);
            }
            a0.Store(tile); a1.Store(tile + 16); b0.Store(tile + 32); b1.Store(tile + 48);
            c0.Store(tile + 64); c1.Store(tile + 80); d0.Store(tile + 96); d1.Store(tile + 112);
            Scatter(tile, 4, firstPanel + p, rowStart, rowCount, y);
        }
        for (; p < p1; p++)
        {
            long s0 = (long)(firstPanel + p) * k * Nr;
            Vector512<float> a0 = default, a1 = default;
            for (int i = 0; i < k; i++)
            {
                Vector512<float> v = Vector512.Create(x[i]);
                var (l0, h0) = TLoader.Load(packed, s0 + (long)i * Nr);
                a0 = Vector512.FusedMultiplyAdd(v, l0, a0); a1 = Vector512.FusedMultiplyAdd(v, h0, a1);
            }
            a0.Store(tile); a1.Store(tile + 16);
            Scatter(tile, 1, firstPanel + p, rowStart, rowCount, y);
        }
    }

    /// <summary>Copies the computed panels' outputs that fall inside <c>[rowStart, rowStart + rowCount)</c>.</summary>
    private static unsafe void Scatter(float* tile, int panels, int panel, int rowStart, int rowCount, float* y)
    {
        for (int q = 0; q < panels; q++)
        {
            int col = (panel + q) * Nr - rowStart;
            int j0 = Math.Max(0, -col), j1 = Math.Min(Nr, rowCount - col);
            for (int j = j0; j < j1; j++) y[col + j] = tile[q * Nr + j];
        }
    }
}
