using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace BarkSharp.Tensors;

/// <summary>
/// The weights of one unidirectional LSTM layer (PyTorch <c>nn.LSTM</c> <c>weight_ih_lk</c>, <c>weight_hh_lk</c>,
/// <c>bias_ih_lk</c>, <c>bias_hh_lk</c>; gate rows in PyTorch order i, f, g, o), repacked in panels of
/// <see cref="Units"/> hidden units: panel <c>p</c> holds the 4·32 gate rows of units <c>32p … 32p + 31</c>, gate-major
/// (i, f, g, o), so one thread computes all four gates of its units and applies the cell update itself. The input
/// projection is one <see cref="MatMul"/> product over all steps (rows in panel order, bias <c>b_ih + b_hh</c>); the recurrent
/// weight is stored column-major per panel, <c>[panel, H, 128]</c>, so that a step streams each panel once with
/// vector loads along its rows. Units past <c>H</c> in the last panel have zero weights and are never stored.
/// </summary>
internal sealed class LstmLayerWeight
{
    /// <summary>Hidden units per panel.</summary>
    internal const int Units = 32;

    /// <summary>Gate rows per panel.</summary>
    internal const int PanelRows = 4 * Units;

    private LstmLayerWeight(WeightMatrix input, float[] recurrent, int recurrentOrigin, int inputSize, int hiddenSize)
    {
        Input = input;
        Recurrent = recurrent;
        RecurrentOrigin = recurrentOrigin;
        InputSize = inputSize;
        HiddenSize = hiddenSize;
    }

    /// <summary>Features of the input.</summary>
    public int InputSize { get; }

    /// <summary>Features of the hidden state (and output).</summary>
    public int HiddenSize { get; }

    /// <summary>Panels of <see cref="Units"/> hidden units.</summary>
    internal int Panels => (HiddenSize + Units - 1) / Units;

    /// <summary><c>W_ih</c> <c>[Panels·128, In]</c> (rows in panel order) with bias <c>b_ih + b_hh</c>.</summary>
    internal WeightMatrix Input { get; }

    /// <summary>
    /// <c>W_hh</c> as <c>[Panels, H, 128]</c> from <see cref="RecurrentOrigin"/> on: <c>R[p, c, q·32 + u] = W_hh[q·H + 32p + u, c]</c>.
    /// The array is pinned and its origin starts a cache line (<see cref="CacheLineArray"/>): a step streams all of it from
    /// beyond L2 with a vector load per multiply-add, and loads split across two lines made that a third slower on AVX2.
    /// </summary>
    internal float[] Recurrent { get; }

    /// <summary>Index of <see cref="Recurrent"/>'s first element.</summary>
    internal int RecurrentOrigin { get; }

    /// <summary>The PyTorch gate row of panel row <paramref name="row"/>, or −1 for a padding unit.</summary>
    internal static int TorchRow(int row, int hiddenSize)
    {
        int panel = row / PanelRows, gate = row % PanelRows / Units, unit = panel * Units + row % Units;
        return unit < hiddenSize ? gate * hiddenSize + unit : -1;
    }

    /// <summary>
    /// Builds a layer from PyTorch tensors: <paramref name="weightIh"/> <c>[4H, In]</c>, <paramref name="weightHh"/>
    /// <c>[4H, H]</c>, biases <c>[4H]</c> (null = zero). The arrays are copied or repacked.
    /// </summary>
    public static LstmLayerWeight FromTorch(float[] weightIh, float[] weightHh, float[]? biasIh, float[]? biasHh, int inputSize, int hiddenSize)
    {
        int gates = 4 * hiddenSize;
        if (inputSize <= 0 || hiddenSize <= 0) throw new ArgumentException($"invalid LSTM sizes input {inputSize}, hidden {hiddenSize}.");
        if (weightIh.Length != (long)gates * inputSize) throw new ArgumentException($"weight_ih has {weightIh.Length} elements, expected {gates}×{inputSize}.", nameof(weightIh));
        if (weightHh.Length != (long)gates * hiddenSize) throw new ArgumentException($"weight_hh has {weightHh.Length} elements, expected {gates}×{hiddenSize}.", nameof(weightHh));
        if (biasIh is not null && biasIh.Length != gates) throw new ArgumentException($"bias_ih has {biasIh.Length} elements, expected {gates}.", nameof(biasIh));
        if (biasHh is not null && biasHh.Length != gates) throw new ArgumentException($"bias_hh has {biasHh.Length} elements, expected {gates}.", nameof(biasHh));
        int panels = (hiddenSize + Units - 1) / Units, rows = panels * PanelRows;
        var input = new float[(long)rows * inputSize];
        var bias = new float[rows];
        var recurrent = CacheLineArray.Allocate<float>((long)rows * hiddenSize, out int origin);
        for (int row = 0; row < rows; row++)
        {
            int r = TorchRow(row, hiddenSize);
            if (r < 0) continue;
            weightIh.AsSpan(r * inputSize, inputSize).CopyTo(input.AsSpan(row * inputSize, inputSize));
            bias[row] = (biasIh is null ? 0f : biasIh[r]) + (biasHh is null ? 0f : biasHh[r]);
            int panel = row / PanelRows, q = row % PanelRows;
            for (int c = 0; c < hiddenSize; c++)
                recurrent[origin + ((long)panel * hiddenSize + c) * PanelRows + q] = weightHh[(long)r * hiddenSize + c];
        }
        return new LstmLayerWeight(WeightMatrix.FromFloat32(input, rows, inputSize, bias), recurrent, origin, inputSize, hiddenSize);
    }
}

/// <summary>
/// One LSTM layer over a whole sequence with zero initial state, on channel-major activations (the layout of the
/// convolutions around it): <c>i, f, g, o = σ, σ, tanh, σ(W_ih·x_t + b_ih + b_hh + W_hh·h_{t−1})</c>,
/// <c>c_t = f·c_{t−1} + i·g</c>, <c>h_t = o·tanh(c_t)</c>. The input projections of all steps are one
/// multithreaded GEMM. The recurrence runs panel by panel (<see cref="LstmLayerWeight"/>): each gate row is
/// its input projection followed by one fused-multiply-add chain over <c>h_{t−1}</c> in column order, then the gate
/// functions (<see cref="Exp"/>-based σ and tanh, lane-wise) and the cell update, fused in registers. The threads
/// claim the panels of a step (their own share first) and wait only for the previous step to be complete, so no
/// thread ever waits for work nobody has claimed, even when the threads do not all run at once; every panel is computed by the same code whichever thread takes it, so the result
/// depends neither on the thread count nor on the vector width.
/// </summary>
internal static class Lstm
{
    /// <summary>
    /// Runs the layer over <paramref name="x"/> <c>[InputSize, steps]</c> and writes the hidden states to
    /// <paramref name="y"/> <c>[HiddenSize, steps]</c>. <paramref name="x"/> and <paramref name="y"/> must not overlap.
    /// </summary>
    public static unsafe void Forward(ReadOnlySpan<float> x, int steps, LstmLayerWeight w, Span<float> y, int maxThreads = 1, CancellationToken cancellationToken = default)
    {
        int hidden = w.HiddenSize, panels = w.Panels, rows = panels * LstmLayerWeight.PanelRows, width = panels * LstmLayerWeight.Units;
        ArgumentOutOfRangeException.ThrowIfNegative(steps);
        if (x.Length < (long)w.InputSize * steps) throw new ArgumentException($"x has {x.Length} elements, expected {w.InputSize}×{steps}.", nameof(x));
        if (y.Length < (long)hidden * steps) throw new ArgumentException($"y has {y.Length} elements, expected {hidden}×{steps}.", nameof(y));
        cancellationToken.ThrowIfCancellationRequested();
        if (steps == 0) return;

        // All input projections at once, one GEMM into step-major gT[T, rows], so that a step reads its panel's 128
        // gate inputs with vector loads; the hidden states are kept step-major too and transposed at the end.
        float[] xT = GC.AllocateUninitializedArray<float>(checked(steps * w.InputSize));
        float[] gT = GC.AllocateUninitializedArray<float>(checked(steps * rows));
        float[] states = GC.AllocateUninitializedArray<float>(checked(steps * width));   // h_t, step-major [T, width]
        float[] cell = new float[width];
        fixed (float* px = x)
        fixed (float* pxt = xT)
            Transpose(px, w.InputSize, steps, pxt);
        MatMul.Multiply(xT, steps, w.Input, gT, maxThreads);
        fixed (float* pgt = gT)
        fixed (float* ph = states)
        fixed (float* pc = cell)
        fixed (float* recurrent = w.Recurrent)
        {
            float* pw = recurrent + w.RecurrentOrigin;
            int threads = Math.Clamp(maxThreads, 1, panels);
            var state = new Progress(panels);
            switch (Simd.Path)
            {
                case VectorPath.Vector512: KernelParallel.For(new Recurrence<Simd512, Vector512<float>>(pgt, pw, ph, pc, hidden, panels, steps, threads, state, cancellationToken), threads, threads); break;
                case VectorPath.Vector256: KernelParallel.For(new Recurrence<Simd256, Vector256<float>>(pgt, pw, ph, pc, hidden, panels, steps, threads, state, cancellationToken), threads, threads); break;
                default: KernelParallel.For(new Recurrence<Simd128, Vector128<float>>(pgt, pw, ph, pc, hidden, panels, steps, threads, state, cancellationToken), threads, threads); break;
            }
            cancellationToken.ThrowIfCancellationRequested();
            fixed (float* py = y)
                Transpose(ph, steps, width, hidden, py);
        }
    }

    /// <summary><c>dst[c, r] = src[r, c]</c> for <c>src [rows, cols]</c>, in 16×16 blocks.</summary>
    private static unsafe void Transpose(float* src, int rows, int cols, float* dst) => Transpose(src, rows, cols, cols, dst);

    /// <summary><c>dst[c, r] = src[r, c]</c> for the first <paramref name="cols"/> columns of <c>src [rows, ld]</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Transpose(float* src, int rows, int ld, int cols, float* dst)
    {
        for (int r0 = 0; r0 < rows; r0 += 16)
            for (int c0 = 0; c0 < cols; c0 += 16)
                for (int r = r0, r1 = Math.Min(rows, r0 + 16); r < r1; r++)
                    for (int c = c0, c1 = Math.Min(cols, c0 + 16); c < c1; c++) dst[(long)c * rows + r] = src[(long)r * ld + c];
    }

    /// <summary>The shared state of one run: the step each panel was last claimed for, panels finished, threads in.</summary>
    private sealed class Progress(int panels)
    {
        public readonly int[] Claimed = Enumerable.Repeat(-1, panels).ToArray();
        public int Finished;
        public int Threads;
        public volatile bool Stop;
    }

    private readonly unsafe struct Recurrence<TSimd, TVec>(float* gates, float* weights, float* states, float* cell, int hidden,
        int panels, int steps, int threads, Progress progress, CancellationToken cancellationToken) : IRangeJob
        where TSimd : struct, ISimd<TVec>
        where TVec : struct
    {
        /// <summary>
        /// Runs the steps: each thread first claims its own share of a step's panels, walking it forwards on even steps
        /// and backwards on odd ones (the panels it finished last are still in its cache when it starts the next step),
        /// then any panel nobody claimed yet; then it waits for the step to be finished before starting the next.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(int begin, int end)
        {
            int index = Interlocked.Increment(ref progress.Threads) - 1;
            int own0 = (int)((long)panels * (index % threads) / threads), own1 = (int)((long)panels * (index % threads + 1) / threads);
            for (int t = 0; t < steps; t++)
            {
                if ((t & 63) == 0 && cancellationToken.IsCancellationRequested) progress.Stop = true;
                // Step t reads every unit of h_{t−1}: wait until all panels of the previous steps are finished.
                var spinner = default(SpinWait);
                while (Volatile.Read(ref progress.Finished) < t * panels)
                {
                    if (progress.Stop) return;
                    spinner.SpinOnce(-1);
                }
                if (progress.Stop) return;
                for (int i = own0; i < own1; i++) TryPanel(t, (t & 1) == 0 ? i : own0 + own1 - 1 - i);
                for (int p = 0; p < panels; p++)
                    if (p < own0 || p >= own1) TryPanel(t, p);
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void TryPanel(int t, int p)
        {
            if (Volatile.Read(ref progress.Claimed[p]) != t - 1 || Interlocked.CompareExchange(ref progress.Claimed[p], t, t - 1) != t - 1) return;
            int width = panels * LstmLayerWeight.Units;
            float* previous = t == 0 ? null : states + (long)(t - 1) * width;
            for (int s = 0; s < LstmLayerWeight.Units; s += 2 * TSimd.Count)
                Panel(gates + ((long)t * panels + p) * LstmLayerWeight.PanelRows + s, weights + (long)p * hidden * LstmLayerWeight.PanelRows + s,
                    previous, cell + p * LstmLayerWeight.Units + s, states + (long)t * width + p * LstmLayerWeight.Units + s);
            Interlocked.Increment(ref progress.Finished);
        }

        /// <summary>
        /// 2·Count units of one panel for one step: <paramref name="g"/> points at their input gate inputs (the
        /// other gates 32, 64, 96 further), <paramref name="w"/> at their recurrent weights of column 0 (next column
        /// 128 further), <paramref name="h"/> at <c>h_{t−1}</c> (null at t = 0).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Panel(float* g, float* w, float* h, float* c, float* hOut)
        {
            const int U = LstmLayerWeight.Units, R = LstmLayerWeight.PanelRows;
            int n = TSimd.Count;
            TVec i0 = TSimd.Load(g), i1 = TSimd.Load(g + n);
            TVec f0 = TSimd.Load(g + U), f1 = TSimd.Load(g + U + n);
            TVec g0 = TSimd.Load(g + 2 * U), g1 = TSimd.Load(g + 2 * U + n);
            TVec o0 = TSimd.Load(g + 3 * U), o1 = TSimd.Load(g + 3 * U + n);
            if (h is not null)
            {
                for (int col = 0; col < hidden; col++, w += R)
                {
                    TVec hv = TSimd.Broadcast(h[col]);
                    i0 = TSimd.Fma(TSimd.Load(w), hv, i0);
                    i1 = TSimd.Fma(TSimd.Load(w + n), hv, i1);
                    f0 = TSimd.Fma(TSimd.Load(w + U), hv, f0);
                    f1 = TSimd.Fma(TSimd.Load(w + U + n), hv, f1);
                    g0 = TSimd.Fma(TSimd.Load(w + 2 * U), hv, g0);
                    g1 = TSimd.Fma(TSimd.Load(w + 2 * U + n), hv, g1);
                    o0 = TSimd.Fma(TSimd.Load(w + 3 * U), hv, o0);
                    o1 = TSimd.Fma(TSimd.Load(w + 3 * U + n), hv, o1);
                }
            }
            TSimd.Store(Cell(i0, f0, g0, o0, c), hOut);
            TSimd.Store(Cell(i1, f1, g1, o1, c + n), hOut + n);
        }

        /// <summary>Gate functions and cell update for one vector of units: updates <paramref name="c"/>, returns <c>h</c>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static TVec Cell(TVec i, TVec f, TVec g, TVec o, float* c)
        {
            TVec cNew = TSimd.Fma(Sigmoid<TSimd, TVec>(i), Tanh<TSimd, TVec>(g), TSimd.Multiply(Sigmoid<TSimd, TVec>(f), TSimd.Load(c)));
            TSimd.Store(cNew, c);
            return TSimd.Multiply(Sigmoid<TSimd, TVec>(o), Tanh<TSimd, TVec>(cNew));
        }
    }

    /// <summary><c>1 / (1 + e^−x)</c> lane-wise.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static TVec Sigmoid<TSimd, TVec>(TVec x)
        where TSimd : struct, ISimd<TVec>
        where TVec : struct
    {
        TVec one = TSimd.Broadcast(1f);
        return TSimd.Divide(one, TSimd.Add(one, Exp.Vector<TSimd, TVec>(TSimd.Subtract(TSimd.Zero, x))));
    }

    /// <summary>
    /// <c>tanh x</c> lane-wise: <c>±(1 − e^−2|x|) / (1 + e^−2|x|)</c>, and below |x| = 1/4 (where that difference
    /// would lose relative accuracy) its odd Taylor polynomial to x⁹, whose remainder is under 10⁻⁸ relative.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static TVec Tanh<TSimd, TVec>(TVec x)
        where TSimd : struct, ISimd<TVec>
        where TVec : struct
    {
        TVec one = TSimd.Broadcast(1f), a = TSimd.Abs(x);
        TVec e = Exp.Vector<TSimd, TVec>(TSimd.Multiply(a, TSimd.Broadcast(-2f)));
        TVec t = TSimd.Divide(TSimd.Subtract(one, e), TSimd.Add(one, e));
        t = TSimd.Select(TSimd.LessThan(x, TSimd.Zero), TSimd.Subtract(TSimd.Zero, t), t);
        TVec x2 = TSimd.Multiply(x, x);
        TVec p = TSimd.Broadcast(62f / 2835f);
        p = TSimd.Fma(p, x2, TSimd.Broadcast(-17f / 315f));
        p = TSimd.Fma(p, x2, TSimd.Broadcast(2f / 15f));
        p = TSimd.Fma(p, x2, TSimd.Broadcast(-1f / 3f));
        TVec small = TSimd.Fma(TSimd.Multiply(p, x2), x, x);
        return TSimd.Select(TSimd.LessThan(a, TSimd.Broadcast(0.25f)), small, t);
    }
}
