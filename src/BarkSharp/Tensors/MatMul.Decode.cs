using System.Runtime.CompilerServices;

namespace BarkSharp.Tensors;

/// <summary>
/// The decode path of <see cref="MatMul"/> (one or two activation rows): the panels' outputs are taken in strips of
/// two vectors (a whole panel with AVX-512, half with AVX2, a quarter with 128-bit vectors), four strips at a time for
/// eight independent FMA chains, the weights widened in registers straight from their stored type
/// (<see cref="IKvElement{T}"/>), so a step streams each weight byte once. Each output is still one chain over the
/// input index in order — the same numbers the tiled path computes.
/// </summary>
internal static partial class MatMul
{
    /// <summary>True when <see cref="DecodeRows"/> handles this weight type.</summary>
    private static bool HasDecodeKernel(WeightType type) => type is WeightType.Float32 or WeightType.BFloat16;

    /// <summary>
    /// <c>y[r, p·32 + j] = Σ_k x[r, k] · W(p, k, j)</c> for one or two rows and panels <c>[p0, p1)</c>, written to
    /// <paramref name="args"/>' output at column <c>p·32 − rowStart</c>.
    /// </summary>
    private static unsafe void DecodeRows<TSimd, TVec>(in Product args, int p0, int p1)
        where TSimd : struct, ISimd<TVec>
        where TVec : struct
    {
        switch (args.W.Type)
        {
            case WeightType.Float32:
                fixed (float* b = args.W.PackedF32) Decode<float, KvFloat32, TSimd, TVec>(args, b, p0, p1);
                break;
            case WeightType.BFloat16:
                fixed (ushort* b = args.W.PackedU16) Decode<ushort, KvBFloat16, TSimd, TVec>(args, b, p0, p1);
                break;
            default:
                throw new InvalidOperationException($"no decode kernel for {args.W.Type}");
        }
    }

    private static unsafe void Decode<T, TElement, TSimd, TVec>(in Product args, T* packed, int p0, int p1)
        where T : unmanaged
        where TElement : struct, IKvElement<T>
        where TSimd : struct, ISimd<TVec>
        where TVec : struct
    {
        // Strips of 2 vectors; strip s of the range starts at output column (firstPanel + p0)·32 + s·width.
        int width = 2 * TSimd.Count, strips = (p1 - p0) * (Nr / width);
        long column0 = (long)(args.FirstPanel + p0) * Nr;
        if (args.N == 1) DecodeStrips<T, TElement, TSimd, TVec>(args.X, args.K, packed, column0, strips, args.RowStart, args.RowCount, args.Y);
        else DecodeStrips2<T, TElement, TSimd, TVec>(args.X, args.K, packed, column0, strips, args.RowStart, args.RowCount, args.Y);
    }

    /// <summary>Where strip <paramref name="s"/> (of two vectors, from output column <paramref name="column0"/>) starts in the packed panels.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long StripStart(long column0, int s, int width, int k)
    {
        long column = column0 + (long)s * width;
        return column / Nr * k * Nr + column % Nr;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void DecodeStrips<T, TElement, TSimd, TVec>(float* x, int k, T* packed, long column0, int strips, int rowStart, int rowCount, float* y)
        where T : unmanaged
        where TElement : struct, IKvElement<T>
        where TSimd : struct, ISimd<TVec>
        where TVec : struct
    {
        int h = TSimd.Count, width = 2 * h;
        float* tile = stackalloc float[4 * 32];
        int s = 0;
        for (; s + 4 <= strips; s += 4)
        {
            T* w0 = packed + StripStart(column0, s, width, k), w1 = packed + StripStart(column0, s + 1, width, k);
            T* w2 = packed + StripStart(column0, s + 2, width, k), w3 = packed + StripStart(column0, s + 3, width, k);
            TVec a0 = TSimd.Zero, a1 = a0, b0 = a0, b1 = a0, c0 = a0, c1 = a0, d0 = a0, d1 = a0;
            for (int i = 0; i < k; i++)
            {
                TVec v = TSimd.Broadcast(x[i]);
                long e = (long)i * Nr;
                a0 = TSimd.Fma(v, TElement.Load<TSimd, TVec>(w0 + e), a0); a1 = TSimd.Fma(v, TElement.Load<TSimd, TVec>(w0 + e + h), a1);
                b0 = TSimd.Fma(v, TElement.Load<TSimd, TVec>(w1 + e), b0); b1 = TSimd.Fma(v, TElement.Load<TSimd, TVec>(w1 + e + h), b1);
                c0 = TSimd.Fma(v, TElement.Load<TSimd, TVec>(w2 + e), c0); c1 = TSimd.Fma(v, TElement.Load<TSimd, TVec>(w2 + e + h), c1);
                d0 = TSimd.Fma(v, TElement.Load<TSimd, TVec>(w3 + e), d0); d1 = TSimd.Fma(v, TElement.Load<TSimd, TVec>(w3 + e + h), d1);
            }
            TSimd.Store(a0, tile); TSimd.Store(a1, tile + h); TSimd.Store(b0, tile + 2 * h); TSimd.Store(b1, tile + 3 * h);
            TSimd.Store(c0, tile + 4 * h); TSimd.Store(c1, tile + 5 * h); TSimd.Store(d0, tile + 6 * h); TSimd.Store(d1, tile + 7 * h);
            Scatter(tile, 4 * width, column0 + (long)s * width, rowStart, rowCount, y);
        }
        for (; s < strips; s++)
        {
            T* w0 = packed + StripStart(column0, s, width, k);
            TVec a0 = TSimd.Zero, a1 = a0;
            for (int i = 0; i < k; i++)
            {
                TVec v = TSimd.Broadcast(x[i]);
                long e = (long)i * Nr;
                a0 = TSimd.Fma(v, TElement.Load<TSimd, TVec>(w0 + e), a0); a1 = TSimd.Fma(v, TElement.Load<TSimd, TVec>(w0 + e + h), a1);
            }
            TSimd.Store(a0, tile); TSimd.Store(a1, tile + h);
            Scatter(tile, width, column0 + (long)s * width, rowStart, rowCount, y);
        }
    }

    /// <summary>Two rows (a batch of two decode steps): two strips at a time, eight chains, each weight widened once for both rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void DecodeStrips2<T, TElement, TSimd, TVec>(float* x, int k, T* packed, long column0, int strips, int rowStart, int rowCount, float* y)
        where T : unmanaged
        where TElement : struct, IKvElement<T>
        where TSimd : struct, ISimd<TVec>
        where TVec : struct
    {
        int h = TSimd.Count, width = 2 * h;
        float* tile = stackalloc float[2 * 32];
        float* x1 = x + k;
        for (int s = 0; s < strips; s += 2)
        {
            int count = Math.Min(2, strips - s);
            T* w0 = packed + StripStart(column0, s, width, k), w1 = count == 2 ? packed + StripStart(column0, s + 1, width, k) : w0;
            TVec a0 = TSimd.Zero, a1 = a0, b0 = a0, b1 = a0, c0 = a0, c1 = a0, d0 = a0, d1 = a0;
            for (int i = 0; i < k; i++)
            {
                TVec u = TSimd.Broadcast(x[i]), v = TSimd.Broadcast(x1[i]);
                long e = (long)i * Nr;
                TVec l0 = TElement.Load<TSimd, TVec>(w0 + e), h0 = TElement.Load<TSimd, TVec>(w0 + e + h);
                TVec l1 = TElement.Load<TSimd, TVec>(w1 + e), h1 = TElement.Load<TSimd, TVec>(w1 + e + h);
                a0 = TSimd.Fma(u, l0, a0); a1 = TSimd.Fma(u, h0, a1);
                b0 = TSimd.Fma(v, l0, b0); b1 = TSimd.Fma(v, h0, b1);
                c0 = TSimd.Fma(u, l1, c0); c1 = TSimd.Fma(u, h1, c1);
                d0 = TSimd.Fma(v, l1, d0); d1 = TSimd.Fma(v, h1, d1);
            }
            long column = column0 + (long)s * width;
            TSimd.Store(a0, tile); TSimd.Store(a1, tile + h); TSimd.Store(c0, tile + 2 * h); TSimd.Store(c1, tile + 3 * h);
            Scatter(tile, count * width, column, rowStart, rowCount, y);
            TSimd.Store(b0, tile); TSimd.Store(b1, tile + h); TSimd.Store(d0, tile + 2 * h); TSimd.Store(d1, tile + 3 * h);
            Scatter(tile, count * width, column, rowStart, rowCount, y + rowCount);
        }
    }

    /// <summary>Copies <paramref name="count"/> outputs from panel column <paramref name="column"/> on, those inside <c>[rowStart, rowStart + rowCount)</c>.</summary>
    private static unsafe void Scatter(float* tile, int count, long column, int rowStart, int rowCount, float* y)
    {
        long col = column - rowStart;
        long j0 = Math.Max(0, -col), j1 = Math.Min(count, rowCount - col);
        for (long j = j0; j < j1; j++) y[col + j] = tile[j];
    }
}
