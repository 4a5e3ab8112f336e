using BarkSharp.Tensors;
using BenchmarkDotNet.Attributes;

namespace BarkSharp.Benchmarks;

/// <summary>The matrix products of bark-small at its real shapes: decode (one row) and prefill (513 rows).</summary>
[MemoryDiagnoser]
public class MatMulBenchmarks
{
    private WeightMatrix _mlpIn = null!;
    private float[] _x = null!;
    private float[] _y = null!;

    [Params(1, 513)]
    public int Rows { get; set; }

    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(1);
        _mlpIn = WeightMatrix.FromFloat32(Enumerable.Range(0, 3072 * 768).Select(_ => rng.NextSingle() - 0.5f).ToArray(), 3072, 768);
        _x = Enumerable.Range(0, Rows * 768).Select(_ => rng.NextSingle() - 0.5f).ToArray();
        _y = new float[Rows * 3072];
    }

    [Benchmark]
    public void MlpInProjection() => MatMul.Multiply(_x, Rows, _mlpIn, _y, Threads);
}
