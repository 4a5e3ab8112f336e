using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;

namespace BarkSharp.Tensors;

/// <summary>
/// Arm64's int8 kernels (<see cref="Int8Kernel.DotProductArm64"/>): <c>SDOT</c> by element
/// (<see cref="Dp.DotProductBySelectedQuadruplet(Vector128{int}, Vector128{sbyte}, Vector128{sbyte}, byte)"/>), four
/// byte products summed into each of four int32 lanes per instruction. A panel group's 16-byte slice is four outputs ×
/// four inputs, exactly SDOT's layout; the activation operand is one 4-byte group of a 16-byte load of four groups.
/// <para>
/// SDOT multiplies signed by signed bytes and the activations are unsigned (0–255), so the kernels flip their top bit
/// (<c>q − 128</c>, exact in a signed byte) and add <c>128 · Σw</c> (the panel's weight sums) at the end:
/// <c>Σ q·w = Σ (q − 128)·w + 128 · Σ w</c>. Padding inputs are zero weights, so their <c>−128</c> adds nothing.
/// All integer, so the sums equal the other kernels' bit for bit.
/// </para>
/// </summary>
internal static partial class MatMul
{
    /// <summary>Four vectors of four int32 sums: 16 consecutive outputs of one activation row.</summary>
    private struct Sums16
    {
        public Vector128<int> C0, C1, C2, C3;
    }

    /// <summary>Four rows of one panel: each half of the panel's 32 outputs in turn (16 accumulators, four per row).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void DotSdotOnePanel(byte* a0, byte* a1, byte* a2, byte* a3, sbyte* b, int* weightSums, int groups, int* acc)
    {
        var flip = Vector128.Create(unchecked((sbyte)0x80));
        for (int half = 0; half < 2; half++)
        {
            Sums16 r0 = default, r1 = default, r2 = default, r3 = default;
            sbyte* p = b + half * (GroupBytes / 2);
            int g = 0;
            for (; g + 4 <= groups; g += 4, p += 4 * GroupBytes)
            {
                Vector128<sbyte> x0 = Vector128.Load((sbyte*)a0 + 4 * g) ^ flip, x1 = Vector128.Load((sbyte*)a1 + 4 * g) ^ flip;
                Vector128<sbyte> x2 = Vector128.Load((sbyte*)a2 + 4 * g) ^ flip, x3 = Vector128.Load((sbyte*)a3 + 4 * g) ^ flip;
                FourRows(ref r0, ref r1, ref r2, ref r3, p, x0, x1, x2, x3, 0);
                FourRows(ref r0, ref r1, ref r2, ref r3, p + GroupBytes, x0, x1, x2, x3, 1);
                FourRows(ref r0, ref r1, ref r2, ref r3, p + 2 * GroupBytes, x0, x1, x2, x3, 2);
                FourRows(ref r0, ref r1, ref r2, ref r3, p + 3 * GroupBytes, x0, x1, x2, x3, 3);
            }
            for (; g < groups; g++, p += GroupBytes)
            {
                // The last groups one at a time (a 16-byte load could read past the row): the group in every lane.
                FourRows(ref r0, ref r1, ref r2, ref r3, p, Group(a0, g), Group(a1, g), Group(a2, g), Group(a3, g), 0);
            }
            int* o = acc + half * 16, s = weightSums + half * 16;
            StoreSums(r0, s, o);
            StoreSums(r1, s, o + Nr);
            StoreSums(r2, s, o + 2 * Nr);
            StoreSums(r3, s, o + 3 * Nr);
        }
    }

    /// <summary>One lane of 32 outputs (a decode step's panels, or two rows of two panels): eight accumulators.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void DotSdot(byte* a, sbyte* b, int* weightSums, int groups, int* acc)
    {
        var flip = Vector128.Create(unchecked((sbyte)0x80));
        Sums16 lo = default, hi = default;
        sbyte* p = b;
        int g = 0;
        for (; g + 4 <= groups; g += 4, p += 4 * GroupBytes)
        {
            Vector128<sbyte> x = Vector128.Load((sbyte*)a + 4 * g) ^ flip;
            AllOutputs(ref lo, ref hi, p, x, 0);
            AllOutputs(ref lo, ref hi, p + GroupBytes, x, 1);
            AllOutputs(ref lo, ref hi, p + 2 * GroupBytes, x, 2);
            AllOutputs(ref lo, ref hi, p + 3 * GroupBytes, x, 3);
        }
        for (; g < groups; g++, p += GroupBytes) AllOutputs(ref lo, ref hi, p, Group(a, g), 0);
        StoreSums(lo, weightSums, acc);
        StoreSums(hi, weightSums + 16, acc + 16);
    }

    /// <summary>Group <paramref name="g"/> of a row, top bits flipped, in every 4-byte lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector128<sbyte> Group(byte* a, int g) => Vector128.Create(((int*)a)[g] ^ unchecked((int)0x80808080)).AsSByte();

    /// <summary>16 outputs of one group (64 bytes at <paramref name="p"/>) for four rows, each row's group in lane <paramref name="lane"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void FourRows(ref Sums16 r0, ref Sums16 r1, ref Sums16 r2, ref Sums16 r3, sbyte* p,
        Vector128<sbyte> x0, Vector128<sbyte> x1, Vector128<sbyte> x2, Vector128<sbyte> x3, [ConstantExpected(Max = (byte)3)] byte lane)
    {
        Vector128<sbyte> w0 = Vector128.Load(p), w1 = Vector128.Load(p + 16), w2 = Vector128.Load(p + 32), w3 = Vector128.Load(p + 48);
        Sdot(ref r0, w0, w1, w2, w3, x0, lane);
        Sdot(ref r1, w0, w1, w2, w3, x1, lane);
        Sdot(ref r2, w0, w1, w2, w3, x2, lane);
        Sdot(ref r3, w0, w1, w2, w3, x3, lane);
    }

    /// <summary>All 32 outputs of one group (128 bytes at <paramref name="p"/>) for one row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void AllOutputs(ref Sums16 lo, ref Sums16 hi, sbyte* p, Vector128<sbyte> x, [ConstantExpected(Max = (byte)3)] byte lane)
    {
        Sdot(ref lo, Vector128.Load(p), Vector128.Load(p + 16), Vector128.Load(p + 32), Vector128.Load(p + 48), x, lane);
        Sdot(ref hi, Vector128.Load(p + 64), Vector128.Load(p + 80), Vector128.Load(p + 96), Vector128.Load(p + 112), x, lane);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Sdot(ref Sums16 c, Vector128<sbyte> w0, Vector128<sbyte> w1, Vector128<sbyte> w2, Vector128<sbyte> w3,
        Vector128<sbyte> x, [ConstantExpected(Max = (byte)3)] byte lane)
    {
        c.C0 = Dp.DotProductBySelectedQuadruplet(c.C0, w0, x, lane);
        c.C1 = Dp.DotProductBySelectedQuadruplet(c.C1, w1, x, lane);
        c.C2 = Dp.DotProductBySelectedQuadruplet(c.C2, w2, x, lane);
        c.C3 = Dp.DotProductBySelectedQuadruplet(c.C3, w3, x, lane);
    }

    /// <summary><c>acc = c + 128 · Σw</c> for 16 outputs: the sums of the unsigned activations.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void StoreSums(in Sums16 c, int* weightSums, int* acc)
    {
        (c.C0 + Vector128.ShiftLeft(Vector128.Load(weightSums), 7)).Store(acc);
        (c.C1 + Vector128.ShiftLeft(Vector128.Load(weightSums + 4), 7)).Store(acc + 4);
        (c.C2 + Vector128.ShiftLeft(Vector128.Load(weightSums + 8), 7)).Store(acc + 8);
        (c.C3 + Vector128.ShiftLeft(Vector128.Load(weightSums + 12), 7)).Store(acc + 12);
    }
}
