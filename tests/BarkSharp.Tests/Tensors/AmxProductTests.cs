using System.Collections.Concurrent;
using BarkSharp.Tensors;
using BarkSharp.Tensors.Jit;

namespace BarkSharp.Tests.Tensors;

/// <summary>
/// The whole AMX product path (weight packing, activation padding, row tiles, threads, epilogue) on this AMX-less host:
/// <see cref="IAmxExecutor"/> is the instruction interpreter of <see cref="AmxKernelTests"/> running the generated code.
/// </summary>
public class AmxProductTests
{
    /// <summary>Runs the emitted System V code of each kernel with the interpreter; counts the calls per row-tile count.</summary>
    private sealed unsafe class InterpretedAmx : IAmxExecutor
    {
        private readonly ConcurrentDictionary<(JitKernelKind, int), byte[]> _code = new();

        public ConcurrentDictionary<int, int> Calls { get; } = new();

        public void Run(JitKernelKind kind, int rowTiles, AmxKernelArgs* args)
        {
            byte[] code = _code.GetOrAdd((kind, rowTiles), key => AmxKernels.Generate(key.Item1, key.Item2, windowsAbi: false));
            Calls.AddOrUpdate(rowTiles, 1, (_, c) => c + 1);
            new AmxKernelTests.Interpreter().Run(code, args, windows: false);
        }
    }

    /// <summary>A stand-in for faulty hardware: the interpreter, then one sum changed.</summary>
    private sealed unsafe class BrokenAmx : IAmxExecutor
    {
        private readonly InterpretedAmx _inner = new();

        public void Run(JitKernelKind kind, int rowTiles, AmxKernelArgs* args)
        {
            _inner.Run(kind, rowTiles, args);
            ((int*)args->C)[5] ^= 1 << 28;   // an int8 sum off by 2^28, a float off by a factor of 2^±32
        }
    }

    private static (float[] W, float[] X, float[] Bias) Data(int n, int rows, int cols)
    {
        var rng = new Random(n * 1000 + rows * 7 + cols);
        float[] w = [.. Enumerable.Range(0, rows * cols).Select(_ => rng.NextSingle() - 0.5f)];
        float[] x = [.. Enumerable.Range(0, n * cols).Select(_ => rng.NextSingle() * 4 - 2)];
        float[] bias = [.. Enumerable.Range(0, rows).Select(_ => rng.NextSingle())];
        return (w, x, bias);
    }

    [Theory]
    [InlineData(1, 45, 70, 0, 45)]
    [InlineData(3, 33, 130, 0, 33)]
    [InlineData(17, 64, 200, 5, 50)]
    [InlineData(33, 70, 64, 31, 39)]
    [InlineData(40, 96, 257, 32, 32)]
    public void Int8_through_AMX_is_bit_identical_to_the_managed_int8_path(int n, int rows, int cols, int rowStart, int rowCount)
    {
        (float[] w, float[] x, float[] bias) = Data(n, rows, cols);
        foreach (float[]? b in new[] { bias, null })
        {
            var m = WeightMatrix.FromFloat32(w, rows, cols, b, WeightType.Int8);
            var amx = new InterpretedAmx();
            var got = new float[n * rowCount];
            Assert.True(MatMul.MultiplyJit(x, n, m, rowStart, rowCount, got, 2, JitKernelKind.AmxInt8, amx));
            var expected = new float[n * rowCount];
            MatMul.MultiplyRows(x, n, m, rowStart, rowCount, expected, 1, MatMul.BestInt8Kernel);
            Assert.Equal(expected, got);
            Assert.Equal((n + 31) / 32 * ((rowStart + rowCount - 1) / 32 - rowStart / 32 + 1), amx.Calls.Values.Sum());
            Assert.Equal(n % 32 is > 0 and <= 16, amx.Calls.ContainsKey(1));
        }
    }

    [Theory]
    [InlineData(1, 45, 70, 0, 45)]
    [InlineData(3, 33, 131, 0, 33)]
    [InlineData(17, 64, 200, 5, 50)]
    [InlineData(33, 70, 33, 31, 39)]
    public void Bf16_through_AMX_stays_within_the_bound_of_bf16_activations(int n, int rows, int cols, int rowStart, int rowCount)
    {
        (float[] w, float[] x, float[] bias) = Data(n, rows, cols);
        var m = WeightMatrix.FromFloat32(w, rows, cols, bias, WeightType.BFloat16);
        var got = new float[n * rowCount];
        Assert.True(MatMul.MultiplyJit(x, n, m, rowStart, rowCount, got, 2, JitKernelKind.AmxBf16, new InterpretedAmx()));
        var row = new float[cols];
        for (int j = 0; j < rowCount; j++)
        {
            m.CopyRow(rowStart + j, row);
            for (int i = 0; i < n; i++)
            {
                double exact = bias[rowStart + j], magnitude = 0;
                for (int k = 0; k < cols; k++)
                {
                    // The kernel's inputs: activations rounded to bf16, products exact in f32, sums rounded per step.
                    double p = (double)BitConverter.Int32BitsToSingle(WeightMatrix.ToBFloat16(x[i * cols + k]) << 16) * row[k];
                    exact += p;
                    magnitude += Math.Abs(p);
                }
                double error = Math.Abs(got[i * rowCount + j] - exact), bound = (cols + 1) * Math.Pow(2, -24) * (magnitude + Math.Abs(bias[rowStart + j]));
                Assert.True(error <= bound, $"({i}, {j}): {got[i * rowCount + j]} vs {exact}, bound {bound}");
            }
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void AMX_results_do_not_depend_on_threads_or_on_the_batch(bool int8)
    {
        (JitKernelKind kind, WeightType type) = int8 ? (JitKernelKind.AmxInt8, WeightType.Int8) : (JitKernelKind.AmxBf16, WeightType.BFloat16);
        const int n = 35, rows = 100, cols = 90;
        (float[] w, float[] x, float[] bias) = Data(n, rows, cols);
        var m = WeightMatrix.FromFloat32(w, rows, cols, bias, type);
        var amx = new InterpretedAmx();
        var one = new float[n * rows];
        var two = new float[n * rows];
        MatMul.MultiplyJit(x, n, m, 0, rows, one, 1, kind, amx);
        MatMul.MultiplyJit(x, n, m, 0, rows, two, 4, kind, amx);
        Assert.Equal(one, two);
        foreach (int i in new[] { 0, 16, 17, 34 })
        {
            var alone = new float[rows];
            MatMul.MultiplyJit(x.AsSpan(i * cols, cols), 1, m, 0, rows, alone, 1, kind, amx);
            Assert.Equal(one.AsSpan(i * rows, rows).ToArray(), alone);
        }
        Assert.Same(m.AmxPacked, MatMul.AmxWeights(m, kind));   // packed once, kept on the matrix
    }

    [Fact]
    public void The_self_check_passes_on_correct_kernels_and_catches_a_wrong_sum()
    {
        JitIsa amx = JitIsa.AmxTile | JitIsa.AmxOs | JitIsa.AmxInt8 | JitIsa.AmxBf16;
        Assert.Null(JitKernels.AmxSelfCheck(new InterpretedAmx(), amx));
        Assert.StartsWith("int8", JitKernels.AmxSelfCheck(new BrokenAmx(), amx));
        Assert.StartsWith("bf16", JitKernels.AmxSelfCheck(new BrokenAmx(), JitIsa.AmxTile | JitIsa.AmxOs | JitIsa.AmxBf16));
    }

    [Fact]
    public void AMX_is_chosen_only_where_the_machine_has_it_and_the_self_check_passed()
    {
        if (JitKernels.Isa.HasFlag(JitIsa.AmxTile | JitIsa.AmxInt8 | JitIsa.AmxOs))
        {
            // An AMX host: the real kernels were checked; either they serve int8, or the note says why not.
            Assert.True(JitKernels.KindFor(WeightType.Int8) == JitKernelKind.AmxInt8 ^ JitKernels.AmxNote.Length > 0);
            return;
        }
        Assert.Equal("", JitKernels.AmxNote);
        Assert.DoesNotContain("AMX", JitKernels.Describe());
        Assert.NotEqual(JitKernelKind.AmxInt8, JitKernels.KindFor(WeightType.Int8));
        Assert.NotEqual(JitKernelKind.AmxBf16, JitKernels.KindFor(WeightType.BFloat16));
    }
}
