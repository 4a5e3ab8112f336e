using BarkSharp.Diagnostics;
using BenchmarkDotNet.Running;

// `stages [--shape bark-small|bark] [--weights T] [--kv-cache K] [--threads N] [--batch B]` runs the fixed Bark workload;
// anything else goes to BenchmarkDotNet (e.g. `--filter *MatMul*`).
if (args.Length > 0 && args[0] == "stages")
{
    string Arg(string name, string fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
    }
    var options = new BenchmarkOptions
    {
        Shape = Arg("--shape", "bark-small"),
        Threads = int.Parse(Arg("--threads", Environment.ProcessorCount.ToString())),
        Batch = int.Parse(Arg("--batch", "1")),
        Weights = BarkBenchmark.ParseWeightType(Arg("--weights", "f32")),
        KvCache = BarkBenchmark.ParseKvCacheType(Arg("--kv-cache", "auto")),
    };
    BenchmarkReport report = BarkBenchmark.Run(options, new Progress<string>(Console.Error.WriteLine));
    Console.WriteLine(report.ToJson());
    return 0;
}
if (args.Length > 0 && args[0] == "probe")
{
    for (int i = 0; i < 3; i++)
        Console.WriteLine($"fma 1t {MachineProbe.FmaGflops(1):F1}  2t {MachineProbe.FmaGflops(2):F1}  int8 ({MachineProbe.Int8Probe}) 1t {MachineProbe.Int8Gops(1):F1}  2t {MachineProbe.Int8Gops(2):F1}  read 1t {MachineProbe.ReadGBs(1):F1}  2t {MachineProbe.ReadGBs(2):F1}");
    return 0;
}
if (args.Length > 1 && args[0] == "make-checkpoint")
{
    // make-checkpoint FOLDER [--large]: random weights in the real hub layout (about 1.7 GB for bark-small).
    string root = AppContext.BaseDirectory;
    while (!File.Exists(Path.Combine(root, "tests", "fixtures", "state-dict-layout.md"))) root = Path.GetDirectoryName(root)!;
    BarkSharp.Benchmarks.RandomCheckpoint.Write(args[1], Path.Combine(root, "tests", "fixtures", "state-dict-layout.md"),
        Path.Combine(root, "tests", "fixtures", "tiny-bark"), args.Contains("--large"));
    return 0;
}
if (args.Length > 0 && args[0] == "decode")
{
    // decode [THREADS] [STRIDE]: one bark-small decode step's pieces for one layer, 200 repetitions each, and attention
    // over caches of STRIDE positions per head (default 1040, what KvCache allocates for the semantic cache's 1024).
    int h = 768, threads = args.Length > 1 ? int.Parse(args[1]) : Environment.ProcessorCount;
    var rng = new Random(1);
    float[] R(int count) => Enumerable.Range(0, count).Select(_ => rng.NextSingle() - 0.5f).ToArray();
    float[] wIn = R(4 * h * h);
    float[] x = R(4 * h), y = new float[4 * h];
    int stride = args.Length > 2 ? int.Parse(args[2]) : 1040;
    float[] keys = R(12 * stride * 64), values = R(12 * stride * 64), scratch = new float[BarkSharp.Tensors.Attention.ScratchSize(12, 1024)];
    foreach (var type in new[] { BarkSharp.Tensors.WeightType.Float32, BarkSharp.Tensors.WeightType.BFloat16, BarkSharp.Tensors.WeightType.Int8 })
    {
        var m = BarkSharp.Tensors.WeightMatrix.FromFloat32(wIn, 4 * h, h, null, type);
        for (int rep = 0; rep < 3; rep++)
        {
            var sw = System.Diagnostics.Stopwatch.StartNew();
            for (int i = 0; i < 200; i++) BarkSharp.Tensors.MatMul.Multiply(x, 1, m, y, threads);
            double us = sw.Elapsed.TotalMilliseconds * 1000 / 200;
            Console.WriteLine($"{type} mlp_in 3072x768 one row: {us:F0} us ({m.StorageBytes / us / 1000:F1} GB/s)");
        }
    }
    // Attention of one query over 700 cached positions of 12 layers' caches in turn (as a decode step reads them,
    // 52 MB in float32: more than the last-level cache), for each storage type, the same values rounded once.
    void TimeAttention<T, TElement>(string name) where T : unmanaged where TElement : struct, BarkSharp.Tensors.IKvElement<T>
    {
        T[][] k = [.. Enumerable.Range(0, 12).Select(_ => keys.Select(TElement.FromSingle).ToArray())];
        T[][] v = [.. Enumerable.Range(0, 12).Select(_ => values.Select(TElement.FromSingle).ToArray())];
        for (int rep = 0; rep < 8; rep++)
        {
            var sw = System.Diagnostics.Stopwatch.StartNew();
            for (int i = 0; i < 50; i++)
                for (int layer = 0; layer < 12; layer++)
                    BarkSharp.Tensors.Attention.Forward<T, TElement>(x, 3 * h, k[layer], v[layer], stride, 12, 64, 699, 1, true, default, y, scratch, threads);
            double us = sw.Elapsed.TotalMilliseconds * 1000 / 600;
            if (rep >= 5)   // the first rounds let the JIT tier up the softmax helpers
                Console.WriteLine($"{name} attention 1 query x 700 keys x 12 heads: {us:F0} us per layer ({2.0 * 12 * 700 * 64 * System.Runtime.CompilerServices.Unsafe.SizeOf<T>() / us / 1000:F1} GB/s)");
        }
    }
    TimeAttention<float, BarkSharp.Tensors.KvFloat32>("Float32");
    TimeAttention<ushort, BarkSharp.Tensors.KvBFloat16>("BFloat16");
    return 0;
}
if (args.Length > 0 && args[0] == "kvcache")
{
    // kvcache [WEIGHTS] [THREADS] [POSITIONS]: cached decode steps of the bark-small coarse model (int8, one thread and
    // 700 cached positions by default) with each KV cache type, in alternating rounds so that drift in the machine's
    // speed touches every type alike. Prints the median and best ms per step.
    var weights = BarkBenchmark.ParseWeightType(args.Length > 1 ? args[1] : "int8");
    int threads = args.Length > 2 ? int.Parse(args[2]) : 1, positions = args.Length > 3 ? int.Parse(args[3]) : 700;
    var model = BarkSharp.Models.BarkCausalModel.CreateRandom(BarkSharp.Configuration.BarkConfig.BarkSmall.CoarseAcousticsConfig, 2, weights);
    model.MaxThreads = threads;
    var types = new[] { BarkSharp.KvCacheType.Float32, BarkSharp.KvCacheType.BFloat16 };
    var caches = types.Select(t =>
    {
        model.KvCacheType = t;
        return model.CreateCache(1, 946);                 // the coarse generator's cache: 256 + 1 + 630 + 59 positions
    }).ToArray();
    var ws = model.CreateWorkspace();
    var logits = new float[1024];
    int[] prompt = Enumerable.Range(0, positions).Select(i => 10_000 + i % 2048).ToArray(), next = [10_001];
    foreach (var cache in caches) model.Forward(prompt, 1, cache, ws, logits, lastPositionOnly: true, vocabStart: 10_000, vocabCount: 1024);
    const int steps = 32;
    var times = types.Select(_ => new List<double>()).ToArray();
    for (int round = 0; round < 14; round++)
        for (int t = 0; t < types.Length; t++)
        {
            caches[t].Length = positions;
            var sw = System.Diagnostics.Stopwatch.StartNew();
            for (int s = 0; s < steps; s++) model.Forward(next, 1, caches[t], ws, logits, lastPositionOnly: true, vocabStart: 10_000, vocabCount: 1024);
            if (round >= 4) times[t].Add(sw.Elapsed.TotalMilliseconds / steps);     // the first rounds let the JIT tier up
        }
    for (int t = 0; t < types.Length; t++)
    {
        double[] sorted = [.. times[t].Order()];
        Console.WriteLine($"{BarkBenchmark.ShortName(weights)} weights, {BarkBenchmark.ShortName(types[t])} KV cache, {threads} thread(s), {positions}+ positions: " +
            $"median {sorted[sorted.Length / 2]:F2} ms/step, best {sorted[0]:F2} ({caches[t].StorageBytes / 1e6:F0} MB cache)");
    }
    return 0;
}
if (args.Length > 0 && args[0] == "alloc")
{
    var rng = new Random(1);
    float[] R(int count) => Enumerable.Range(0, count).Select(_ => rng.NextSingle() - 0.5f).ToArray();
    var m = BarkSharp.Tensors.WeightMatrix.FromFloat32(R(192 * 64), 192, 64);
    float[] x = R(256), y = new float[256], w = R(64), keys = R(4 * 16 * 128), values = R(4 * 16 * 128), scratch = new float[BarkSharp.Tensors.Attention.ScratchSize(4, 128)];
    void Measure(string name, Action a)
    {
        for (int i = 0; i < 200; i++) a();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++) a();
        Console.WriteLine($"{name}: {GC.GetAllocatedBytesForCurrentThread() - before} bytes");
    }
    Measure("matmul", () => BarkSharp.Tensors.MatMul.Multiply(x.AsSpan(0, 64), 1, m, y, 1));
    Measure("matmul n=3", () => BarkSharp.Tensors.MatMul.Multiply(x.AsSpan(0, 192), 3, m, new float[3 * 192], 1));
    var mb = BarkSharp.Tensors.WeightMatrix.FromFloat32(R(192 * 64), 192, 64, null, BarkSharp.Tensors.WeightType.BFloat16);
    Measure("matmul bf16", () => BarkSharp.Tensors.MatMul.Multiply(x.AsSpan(0, 64), 1, mb, y, 1));
    for (int i = 0; i < 300; i++) BarkSharp.Tensors.MatMul.Multiply(x.AsSpan(0, 64), 1, m, y, 1);
    long b0 = GC.GetAllocatedBytesForCurrentThread();
    BarkSharp.Tensors.MatMul.Multiply(x.AsSpan(0, 64), 1, m, y, 1);
    Console.WriteLine($"direct matmul: {GC.GetAllocatedBytesForCurrentThread() - b0} bytes");
    Measure("layernorm", () => BarkSharp.Tensors.LayerNorm.Forward(x.AsSpan(0, 64), 1, w, w, y, 1e-5f, 1));
    Measure("gelu", () => BarkSharp.Tensors.Gelu.Forward(x, y, 1));
    Measure("attention", () => BarkSharp.Tensors.Attention.Forward(x, 64, keys, values, 128, 4, 16, 20, 1, true, default, y, scratch, 1));
    Measure("exp", () => BarkSharp.Tensors.Exp.Forward(x, y));
    return 0;
}
if (args.Length > 0 && args[0] == "kvwrite")
{
    // Writing 887 tokens' keys into the transposed cache: element by element vs 16×16 tiles.
    int n = 887, h = 768, heads = 12, hd = 64, stride = 1024;
    var qkv = new float[n * 3 * h];
    var cache = new float[heads * hd * stride];
    for (int rep = 0; rep < 5; rep++)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        for (int t = 0; t < n; t++)
            for (int head = 0; head < heads; head++)
                for (int d = 0; d < hd; d++) cache[(head * hd + d) * stride + t] = qkv[t * 3 * h + h + head * hd + d];
        double a = sw.Elapsed.TotalMilliseconds; sw.Restart();
        for (int t0 = 0; t0 < n; t0 += 16)
            for (int head = 0; head < heads; head++)
                for (int d0 = 0; d0 < hd; d0 += 16)
                    for (int d = d0; d < d0 + 16; d++)
                        for (int t = t0; t < Math.Min(n, t0 + 16); t++) cache[(head * hd + d) * stride + t] = qkv[t * 3 * h + h + head * hd + d];
        Console.WriteLine($"kv write: element order {a:F2} ms, 16x16 tiles {sw.Elapsed.TotalMilliseconds:F2} ms");
    }
    // The cache's own write, float32 and bfloat16 storage, a prefill's 887 rows.
    var f32 = new BarkSharp.Generation.KvCache(1, 1, heads, hd, 1024);
    var b16 = new BarkSharp.Generation.KvCache(1, 1, heads, hd, 1024, BarkSharp.KvCacheType.BFloat16);
    for (int rep = 0; rep < 5; rep++)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        f32.Write<float, BarkSharp.Tensors.KvFloat32>(0, 0, 0, qkv.AsSpan(h), qkv.AsSpan(2 * h), 3 * h, n);
        double tf = sw.Elapsed.TotalMilliseconds; sw.Restart();
        b16.Write<ushort, BarkSharp.Tensors.KvBFloat16>(0, 0, 0, qkv.AsSpan(h), qkv.AsSpan(2 * h), 3 * h, n);
        Console.WriteLine($"KvCache.Write: f32 {tf:F2} ms, bf16 {sw.Elapsed.TotalMilliseconds:F2} ms");
    }
    return 0;
}
if (args.Length > 0 && args[0] == "codec")
{
    // codec [THREADS] [--layers [--cpu]]: the EnCodec decoder on 385 frames (what `bark bench` decodes), 7 rounds; with --layers,
    // each layer of the SEANet decoder timed alone on its real shape (best of 7; with --cpu by the process CPU time, for one
    // thread on a crowded host), with its GFLOP/s.
    var config = new BarkSharp.Configuration.EncodecConfig();
    int threads = args.Length > 1 && int.TryParse(args[1], out int n) ? n : Environment.ProcessorCount;
    const int Frames = 385;
    var codec = BarkSharp.Models.Encodec.EncodecDecoder.CreateRandom(config, 4);
    codec.MaxThreads = threads;
    var rng = new Random(1);
    int[] codes = Enumerable.Range(0, 8 * Frames).Select(_ => rng.Next(1024)).ToArray();
    double flops = BarkBenchmark.CodecFlops(config, Frames);
    // The first decode of a fresh process, JIT included (what a stream's time to first audio pays once).
    var cold = System.Diagnostics.Stopwatch.StartNew();
    codec.Decode(codes, Frames);
    Console.WriteLine($"first decode in this process: {cold.Elapsed.TotalMilliseconds:F0} ms");
    codec.Decode(codes.AsSpan(0, 8 * 4), 4);            // as `bark bench`: a short warm-up, then the first real decode
    var all = new List<double>();
    for (int rep = 0; rep < 7; rep++)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        codec.Decode(codes, Frames);
        all.Add(sw.Elapsed.TotalSeconds);
        Console.Write($"{sw.Elapsed.TotalMilliseconds:F0} (gc {GC.CollectionCount(0)}/{GC.CollectionCount(2)}, {GC.GetTotalPauseDuration().TotalMilliseconds:F0} ms) ");
    }
    double median = all.Order().ElementAt(all.Count / 2);
    Console.WriteLine($"codec {Frames} frames, {threads} thread(s), {BarkSharp.Tensors.Simd.Path}: median {median * 1000:F0} ms, best {all.Min() * 1000:F0} ms ({flops / median / 1e9:F1} GFLOP/s)");
    if (args.Contains("--layers")) BarkSharp.Benchmarks.CodecLayers.Run(config, Frames, threads, cpuTime: args.Contains("--cpu"));
    return 0;
}
if (args.Length > 0 && args[0] == "gelu")
{
    var x = Enumerable.Range(0, 887 * 3072).Select(i => (i % 1000) / 100f - 5f).ToArray();
    var y = new float[x.Length];
    for (int rep = 0; rep < 6; rep++)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        BarkSharp.Tensors.Gelu.Forward(x, y, 1);
        double t1 = sw.Elapsed.TotalMilliseconds; sw.Restart();
        BarkSharp.Tensors.Gelu.Forward(x, y, 2);
        double t2 = sw.Elapsed.TotalMilliseconds; sw.Restart();
        System.Numerics.Tensors.TensorPrimitives.Exp(x, y);
        double te = sw.Elapsed.TotalMilliseconds; sw.Restart();
        BarkSharp.Tensors.Exp.Forward(x, y);
        double tb = sw.Elapsed.TotalMilliseconds;
        Console.WriteLine($"gelu 1t {t1:F1} ms, 2t {t2:F1} ms, exp {te:F1} ms (TensorPrimitives), {tb:F1} ms (BarkSharp's)");
    }
    return 0;
}
if (args.Length > 0 && args[0] == "models")
{
    // bark-small's fine pass (1024 frames, non-causal) and a coarse-window prefill (`--rows N` positions, default 608: the
    // bench's average window), whole models on random weights, alternating in one process: f32, bf16 with float32
    // attention over the bf16 cache, bf16 with bf16 attention (vdpbf16ps), int8. `--threads N`, `--reps N` (5),
    // `--only I` runs the I-th of those alone (for a profiler).
    int ti = Array.IndexOf(args, "--threads"), ri = Array.IndexOf(args, "--reps"), ni = Array.IndexOf(args, "--rows");
    int threads = ti > 0 ? int.Parse(args[ti + 1]) : Environment.ProcessorCount, reps = ri > 0 ? int.Parse(args[ri + 1]) : 5;
    int rows = ni > 0 ? int.Parse(args[ni + 1]) : 608;
    var config = BarkSharp.Diagnostics.BarkBenchmark.ShapeConfig("bark-small");
    int oi = Array.IndexOf(args, "--only"), only = oi > 0 ? int.Parse(args[oi + 1]) : -1;
    var types = new[] { BarkSharp.Tensors.WeightType.Float32, BarkSharp.Tensors.WeightType.BFloat16, BarkSharp.Tensors.WeightType.BFloat16, BarkSharp.Tensors.WeightType.Int8 };
    string[] names = ["f32", "bf16, f32 attention", "bf16, bf16 attention", "int8"];
    var fine = types.Select(t => BarkSharp.Models.BarkFineModel.CreateRandom(config.FineAcousticsConfig, 3, t)).ToArray();
    var coarse = types.Select(t => BarkSharp.Models.BarkCausalModel.CreateRandom(config.CoarseAcousticsConfig, 2, t)).ToArray();
    var rng = new Random(1);
    int[] codes = [.. Enumerable.Range(0, 1024 * 8).Select(_ => rng.Next(1024))];
    int[] ids = [.. Enumerable.Range(0, rows).Select(_ => rng.Next(12_096))];
    var fineTimes = names.Select(_ => new List<double>()).ToArray();
    var coarseTimes = names.Select(_ => new List<double>()).ToArray();
    var logits = new float[1024 * 1056];
    Console.WriteLine($"{BarkSharp.Diagnostics.MachineProbe.CpuName()}, {threads} thread(s); {BarkSharp.Diagnostics.MachineProbe.GeneratedKernels}");
    for (int rep = 0; rep <= reps; rep++)
        for (int c = 0; c < names.Length; c++)
        {
            if (only >= 0 && c != only) continue;
            BarkSharp.Tensors.Jit.JitKernels.Bf16Attention = c == 2;
            fine[c].MaxThreads = coarse[c].MaxThreads = threads;
            var ws = fine[c].CreateWorkspace();
            var sw = System.Diagnostics.Stopwatch.StartNew();
            fine[c].Forward(2, codes, 1, ws, logits, 1024);
            double tf = sw.Elapsed.TotalMilliseconds;
            var cache = coarse[c].CreateCache(1);
            var cws = coarse[c].CreateWorkspace();
            sw.Restart();
            coarse[c].Forward(ids, 1, cache, cws, logits, lastPositionOnly: true);
            double tc = sw.Elapsed.TotalMilliseconds;
            if (rep == 0) continue;   // warm-up
            fineTimes[c].Add(tf);
            coarseTimes[c].Add(tc);
        }
    double Median(List<double> t) => t.Order().ElementAt(t.Count / 2);
    for (int c = 0; c < names.Length; c++)
        if (fineTimes[c].Count > 0)
            Console.WriteLine($"{names[c],-22} fine pass {Median(fineTimes[c]),7:F1} ms ({(fineTimes[0].Count > 0 ? Median(fineTimes[0]) / Median(fineTimes[c]) : 1):F2}× f32)   " +
                          $"coarse {rows}-position prefill {Median(coarseTimes[c]),7:F1} ms ({(coarseTimes[0].Count > 0 ? Median(coarseTimes[0]) / Median(coarseTimes[c]) : 1):F2}× f32)");
    return 0;
}
if (args.Length > 0 && args[0] == "jit")
{
    // The generated kernels against the managed ones in one process, alternating rounds: one bark-small layer's
    // three GEMMs (att_proj, mlp_in, mlp_out) over n rows (`--rows N`, default 1024: a fine pass; 887: a coarse prefill
    // window's history), for f32, bf16 managed / generated and int8 managed / generated. `--threads N`, `--reps N` (5).
    int ti = Array.IndexOf(args, "--threads"), ri = Array.IndexOf(args, "--reps"), ni = Array.IndexOf(args, "--rows");
    int threads = ti > 0 ? int.Parse(args[ti + 1]) : Environment.ProcessorCount, reps = ri > 0 ? int.Parse(args[ri + 1]) : 5;
    int n = ni > 0 ? int.Parse(args[ni + 1]) : 1024, h = 768;
    var rng = new Random(1);
    float[] R(int count) => Enumerable.Range(0, count).Select(_ => rng.NextSingle() - 0.5f).ToArray();
    float[] wa = R(3 * h * h), wi = R(4 * h * h), wo = R(4 * h * h), x = R(n * 4 * h), y = new float[n * 4 * h];
    var configs = new (string Name, BarkSharp.Tensors.WeightType Type, bool Jit)[]
    {
        ("f32", BarkSharp.Tensors.WeightType.Float32, false), ("bf16 managed", BarkSharp.Tensors.WeightType.BFloat16, false),
        ("bf16 generated", BarkSharp.Tensors.WeightType.BFloat16, true), ("int8 managed", BarkSharp.Tensors.WeightType.Int8, false),
        ("int8 generated", BarkSharp.Tensors.WeightType.Int8, true),
        ("bf16 gen 1-panel", BarkSharp.Tensors.WeightType.BFloat16, true),   // one row: the decode kernel off (one panel a call)
    };
    var layers = configs.Select(c => (
        Att: BarkSharp.Tensors.WeightMatrix.FromFloat32(wa, 3 * h, h, type: c.Type),
        In: BarkSharp.Tensors.WeightMatrix.FromFloat32(wi, 4 * h, h, type: c.Type),
        Out: BarkSharp.Tensors.WeightMatrix.FromFloat32(wo, h, 4 * h, type: c.Type))).ToArray();
    var times = configs.Select(_ => new List<double>()).ToArray();
    Console.WriteLine($"{BarkSharp.Diagnostics.MachineProbe.CpuName()}, {threads} thread(s), {n} rows; {BarkSharp.Diagnostics.MachineProbe.GeneratedKernels}");
    for (int rep = 0; rep <= reps; rep++)
        for (int c = 0; c < configs.Length; c++)
        {
            BarkSharp.Tensors.Jit.JitKernels.Enabled = configs[c].Jit;
            BarkSharp.Tensors.Jit.JitKernels.WideBf16Decode = configs[c].Name != "bf16 gen 1-panel";
            var sw = System.Diagnostics.Stopwatch.StartNew();
            BarkSharp.Tensors.MatMul.Multiply(x.AsSpan(0, n * h), n, layers[c].Att, y, threads);
            BarkSharp.Tensors.MatMul.Multiply(x.AsSpan(0, n * h), n, layers[c].In, y, threads);
            BarkSharp.Tensors.MatMul.Multiply(x, n, layers[c].Out, y, threads);
            if (rep > 0) times[c].Add(sw.Elapsed.TotalMilliseconds);   // round 0 warms up
        }
    double flops = 2.0 * n * (3 * h * h + 4 * h * h + 4 * h * h);
    double Median(List<double> v) => v.Order().ElementAt(v.Count / 2);
    for (int c = 0; c < configs.Length; c++)
        Console.WriteLine($"{configs[c].Name,-15} median {Median(times[c]),8:F1} ms ({flops / Median(times[c]) / 1e6,5:F0} GFLOP/s)  min {times[c].Min(),8:F1}  max {times[c].Max(),8:F1}" +
            $"  vs f32 {Median(times[0]) / Median(times[c]):F2}x");
    Console.WriteLine($"bf16 generated / managed {Median(times[1]) / Median(times[2]):F2}x; int8 generated / managed {Median(times[3]) / Median(times[4]):F2}x; " +
        $"bf16 generated / 1-panel {Median(times[5]) / Median(times[2]):F2}x");
    return 0;
}

if (args.Length > 0 && args[0] == "gemm")
{
    // gemm [f32|int8] [--threads N] [--reps N] [--cpu-time]: bark-small's three block products (att_proj, mlp_in, mlp_out) at the
    // semantic prefill's 257 rows, a coarse prefill's 887 and the fine pass's 1024; best and median of the rounds, and
    // the fraction of the best of three FMA probes of the same path (a shared machine's noise only ever slows a round).
    // --cpu-time (one thread, Linux): rounds timed by the thread's CPU time, for a host busy with other work.
    var type = BarkBenchmark.ParseWeightType(args.Skip(1).FirstOrDefault(a => a is "f32" or "bf16" or "f16" or "int8") ?? "f32");
    int ti = Array.IndexOf(args, "--threads"), ri = Array.IndexOf(args, "--reps");
    int threads = ti > 0 ? int.Parse(args[ti + 1]) : 1, reps = ri > 0 ? int.Parse(args[ri + 1]) : 7, h = 768;
    bool cpuTime = args.Contains("--cpu-time");
    if (cpuTime && (threads != 1 || !ThreadClock.IsSupported)) throw new ArgumentException("--cpu-time times one thread on Linux");
    double peak = Enumerable.Range(0, 3).Max(_ => MachineProbe.FmaGflops(threads));
    Console.WriteLine($"{MachineProbe.CpuName()}, {threads} thread(s), {type}, FMA peak {peak:F0} GFLOP/s (best of 3 probes)");
    var rng = new Random(1);
    float[] R(int count) => Enumerable.Range(0, count).Select(_ => rng.NextSingle() - 0.5f).ToArray();
    var shapes = new (string Name, BarkSharp.Tensors.WeightMatrix W)[]
    {
        ("att_proj", BarkSharp.Tensors.WeightMatrix.FromFloat32(R(3 * h * h), 3 * h, h, type: type)),
        ("mlp_in", BarkSharp.Tensors.WeightMatrix.FromFloat32(R(4 * h * h), 4 * h, h, type: type)),
        ("mlp_out", BarkSharp.Tensors.WeightMatrix.FromFloat32(R(4 * h * h), h, 4 * h, type: type)),
    };
    float[] x = R(1024 * 4 * h), y = new float[1024 * 4 * h];
    foreach (int n in new[] { 257, 887, 1024 })
    {
        var line = new List<string>();
        double flops = 0, bestSum = 0, medianSum = 0;
        foreach (var (name, w) in shapes)
        {
            var times = new List<double>();
            for (int rep = 0; rep < reps; rep++)
            {
                var sw = System.Diagnostics.Stopwatch.StartNew();
                double cpu0 = cpuTime ? ThreadClock.Milliseconds() : 0;
                BarkSharp.Tensors.MatMul.Multiply(x.AsSpan(0, n * w.Cols), n, w, y, threads);
                times.Add(cpuTime ? ThreadClock.Milliseconds() - cpu0 : sw.Elapsed.TotalMilliseconds);
            }
            times.Sort();
            double f = 2.0 * n * w.Rows * w.Cols;
            flops += f;
            bestSum += times[0];
            medianSum += times[times.Count / 2];
            line.Add($"{name} {f / times[0] / 1e6:F0}");
        }
        Console.WriteLine($"{n,5} rows: {string.Join("  ", line)} GF/s best; all three {flops / bestSum / 1e6:F0} GF/s best = {flops / bestSum / 1e6 / peak:P0} of peak, median {flops / medianSum / 1e6 / peak:P0}");
    }
    return 0;
}
if (args.Length > 0 && args[0] == "attention")
{
    // Attention alone, as a bark-small prefill runs it (12 heads of 64): `attention [fine] [--threads N] [--rows N] [--reps N]`,
    // 887 causal positions or (fine) 1024 non-causal ones; GFLOP/s count the products a causal pass needs (keys up to each query).
    bool fineAttention = args.Contains("fine");
    int ti = Array.IndexOf(args, "--threads"), ri = Array.IndexOf(args, "--reps"), ni = Array.IndexOf(args, "--rows");
    int threads = ti > 0 ? int.Parse(args[ti + 1]) : Environment.ProcessorCount, reps = ri > 0 ? int.Parse(args[ri + 1]) : 12;
    int n = ni > 0 ? int.Parse(args[ni + 1]) : fineAttention ? 1024 : 887, h = 768;
    var rng = new Random(1);
    float[] R(int count) => Enumerable.Range(0, count).Select(_ => rng.NextSingle() - 0.5f).ToArray();
    int kvStride = new BarkSharp.Generation.KvCache(1, 1, 1, 1, 1024).Stride;
    float[] x = R(n * 3 * h), y = new float[n * h], keys = R(12 * kvStride * 64), values = R(12 * kvStride * 64);
    float[] scratch = new float[BarkSharp.Tensors.Attention.ScratchSize(12, n)];
    // The float32 keys and values live in a KvCache, as the models keep them (its cache-line alignment included).
    var kv = new BarkSharp.Generation.KvCache(1, 1, 12, 64, 1024);
    keys.CopyTo(kv.Keys<float>(0, 0));
    values.CopyTo(kv.Values<float>(0, 0));
    double flops = 2.0 * 2 * 12 * 64 * (fineAttention ? (double)n * n : n * (n + 1) / 2.0);
    double peak = BarkSharp.Diagnostics.MachineProbe.FmaGflops(threads);
    Console.WriteLine($"{BarkSharp.Diagnostics.MachineProbe.CpuName()}, {threads} thread(s), FMA peak {peak:F0} GFLOP/s, {(fineAttention ? "non-causal" : "causal")} {n} positions");
    if (args.Contains("bf16"))
    {
        // `attention [fine] bf16`: over a bfloat16 cache, the float32 kernel (widening) alternating with the bf16 one
        // (vdpbf16ps, where the CPU has it) and with the float32 kernel over a float32 cache.
        bool dotSupported = BarkSharp.Tensors.Attention.Bf16Supported(64);
        var f32Cache = new List<double>();
        ushort[] k16 = [.. keys.Select(BarkSharp.Tensors.WeightMatrix.ToBFloat16)], v16 = [.. values.Select(BarkSharp.Tensors.WeightMatrix.ToBFloat16)];
        var widening = new List<double>();
        var dot = new List<double>();
        for (int rep = 0; rep < reps; rep++)
        {
            var sw = System.Diagnostics.Stopwatch.StartNew();
            BarkSharp.Tensors.Attention.Forward<ushort, BarkSharp.Tensors.KvBFloat16>(x, 3 * h, k16, v16, kvStride, 12, 64, 0, n, !fineAttention, default, y, scratch, threads);
            widening.Add(sw.Elapsed.TotalMilliseconds);
            sw.Restart();
            BarkSharp.Tensors.Attention.Forward(x, 3 * h, kv.Keys<float>(0, 0), kv.Values<float>(0, 0), kvStride, 12, 64, 0, n, !fineAttention, default, y, scratch, threads);
            f32Cache.Add(sw.Elapsed.TotalMilliseconds);
            if (!dotSupported) continue;
            sw.Restart();
            BarkSharp.Tensors.Attention.ForwardBf16(x, 3 * h, k16, v16, kvStride, 12, 64, 0, n, !fineAttention, default, y, threads);
            dot.Add(sw.Elapsed.TotalMilliseconds);
        }
        foreach ((string name, List<double> t) in new[] { ("bf16 cache, f32 arithmetic", widening), ("f32 cache", f32Cache), ("bf16 cache, vdpbf16ps", dot) })
        {
            if (t.Count == 0) continue;
            t.Sort();
            Console.WriteLine($"{name}: median {t[t.Count / 2]:F1} ms, {flops / t[t.Count / 2] / 1e6:F0} GFLOP/s (min {t[0]:F1} ms)");
        }
        return 0;
    }
    var times = new List<double>();
    for (int rep = 0; rep < reps; rep++)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        BarkSharp.Tensors.Attention.Forward(x, 3 * h, kv.Keys<float>(0, 0), kv.Values<float>(0, 0), kvStride, 12, 64, 0, n, !fineAttention, default, y, scratch, threads);
        times.Add(sw.Elapsed.TotalMilliseconds);
    }
    times.Sort();
    double median = times[times.Count / 2];
    Console.WriteLine($"attention median {median:F1} ms, {flops / median / 1e6:F0} GFLOP/s, {flops / median / 1e6 / peak:P0} of peak (min {times[0]:F1} ms)");
    return 0;
}
if (args.Length > 0 && args[0] == "prefill")
{
    // prefill [--threads N] [--rows N] [--reps N]: bark-small's semantic model over a 257-position prefill, timed the
    // way `bark bench` times it (after one 20-position warm-up) and then warm, per repetition; GFLOP/s of its products.
    int ti = Array.IndexOf(args, "--threads"), ri = Array.IndexOf(args, "--reps"), ni = Array.IndexOf(args, "--rows");
    int threads = ti > 0 ? int.Parse(args[ti + 1]) : Environment.ProcessorCount, reps = ri > 0 ? int.Parse(args[ri + 1]) : 8;
    int n = ni > 0 ? int.Parse(args[ni + 1]) : 257;
    var config = BarkSharp.Configuration.BarkConfig.BarkSmall.SemanticConfig;
    var model = BarkSharp.Models.BarkCausalModel.CreateRandom(config, 1);
    model.MaxThreads = threads;
    int h = config.HiddenSize;
    var rng = new Random(1);
    float[] embeds = Enumerable.Range(0, n * h).Select(_ => rng.NextSingle() - 0.5f).ToArray(), logits = new float[10_001];
    var cache = model.CreateCache(1, n + 1);
    var ws = model.CreateWorkspace();
    double peak = MachineProbe.FmaGflops(threads);
    double flops = 2.0 * n * config.NumLayers * 12.0 * h * h;
    Console.WriteLine($"{MachineProbe.CpuName()}, {threads} thread(s), FMA peak {peak:F0} GFLOP/s, {n} positions, {config.NumLayers} layers");
    model.ForwardEmbeddings(embeds.AsSpan(0, 20 * h), 1, 20, cache, ws, logits, lastPositionOnly: true, vocabCount: 10_001);
    for (int rep = 0; rep < reps; rep++)
    {
        cache.Reset();
        var sw = System.Diagnostics.Stopwatch.StartNew();
        model.ForwardEmbeddings(embeds, 1, n, cache, ws, logits, lastPositionOnly: true, vocabCount: 10_001);
        double s = sw.Elapsed.TotalSeconds;
        Console.WriteLine($"{(rep == 0 ? "cold" : "warm")} {s * 1000:F1} ms  {flops / s / 1e9:F0} GFLOP/s of block products = {flops / s / 1e9 / peak:P0} of peak");
    }
    return 0;
}
if (args.Length > 0 && args[0] == "layer")
{
    // One bark-small layer over an 887-position causal prefill (or `layer fine`: 1024 frames, non-causal), split by
    // kernel; `f32|bf16|f16|int8` picks the weight type, `--threads N` the threads, `--rows N` the positions, `--reps N` the rounds (12), `--stride N` the cache's positions
    // per head (default: what KvCache allocates for 1024, an odd multiple of 16; 1024 shows the L1-set aliasing).
    bool fineLayer = args.Contains("fine");
    var type = BarkSharp.Diagnostics.BarkBenchmark.ParseWeightType(args.Skip(1).FirstOrDefault(a => a is "f32" or "bf16" or "f16" or "int8") ?? "f32");
    int ti = Array.IndexOf(args, "--threads");
    int rowsAt = Array.IndexOf(args, "--rows");     // `--rows 257`: the semantic prefill's small-M products
    int n = rowsAt > 0 ? int.Parse(args[rowsAt + 1]) : fineLayer ? 1024 : 887, h = 768, threads = ti > 0 ? int.Parse(args[ti + 1]) : Environment.ProcessorCount;
    var rng = new Random(1);
    float[] R(int count) => Enumerable.Range(0, count).Select(_ => rng.NextSingle() - 0.5f).ToArray();
    var att = BarkSharp.Tensors.WeightMatrix.FromFloat32(R(3 * h * h), 3 * h, h, type: type);
    var mlpIn = BarkSharp.Tensors.WeightMatrix.FromFloat32(R(4 * h * h), 4 * h, h, type: type);
    var mlpOut = BarkSharp.Tensors.WeightMatrix.FromFloat32(R(4 * h * h), h, 4 * h, type: type);
    float[] x = R(n * 4 * h), y = new float[n * 4 * h];
    int si = Array.IndexOf(args, "--stride");
    int kvStride = si > 0 ? int.Parse(args[si + 1]) : new BarkSharp.Generation.KvCache(1, 1, 1, 1, 1024).Stride;   // as the model allocates it
    float[] scratch = new float[BarkSharp.Tensors.Attention.ScratchSize(12, 1024)];
    // Keys and values in a KvCache as the models allocate it (cache-line aligned), unless `--stride` asks for a
    // stride the cache would not choose.
    var kv = new BarkSharp.Generation.KvCache(1, 1, 12, 64, kvStride);
    float[] keys = R(12 * kvStride * 64), values = R(12 * kvStride * 64);
    bool inCache = kv.Stride == kvStride;
    if (inCache)
    {
        keys.CopyTo(kv.Keys<float>(0, 0));
        values.CopyTo(kv.Values<float>(0, 0));
    }
    int ri = Array.IndexOf(args, "--reps"), reps = ri > 0 ? int.Parse(args[ri + 1]) : 12;
    double peak = BarkSharp.Diagnostics.MachineProbe.FmaGflops(threads);
    Console.WriteLine($"{BarkSharp.Diagnostics.MachineProbe.CpuName()}, {threads} thread(s), {type}, FMA peak {peak:F0} GFLOP/s");
    for (int rep = 0; rep < reps; rep++)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        BarkSharp.Tensors.MatMul.Multiply(x, n, att, y, threads);
        double tAtt = sw.Elapsed.TotalMilliseconds; sw.Restart();
        BarkSharp.Tensors.MatMul.Multiply(x, n, mlpIn, y, threads);
        double tIn = sw.Elapsed.TotalMilliseconds; sw.Restart();
        BarkSharp.Tensors.MatMul.Multiply(x, n, mlpOut, y, threads);
        double tOut = sw.Elapsed.TotalMilliseconds; sw.Restart();
        BarkSharp.Tensors.Gelu.Forward(x.AsSpan(0, n * 4 * h), y);
        double tGelu = sw.Elapsed.TotalMilliseconds; sw.Restart();
        BarkSharp.Tensors.Attention.Forward(x, 3 * h, inCache ? kv.Keys<float>(0, 0) : keys, inCache ? kv.Values<float>(0, 0) : values, kvStride, 12, 64, 0, n, !fineLayer, default, y, scratch, threads);
        double tAttn = sw.Elapsed.TotalMilliseconds; sw.Restart();
        BarkSharp.Tensors.LayerNorm.Forward(x, n, R(h), R(h), y);
        double tLn = sw.Elapsed.TotalMilliseconds; sw.Restart();
        var q = new byte[4 * h];
        for (int i = 0; i < n; i++) BarkSharp.Tensors.MatMul.QuantizeRow(x.AsSpan(i * 4 * h, 4 * h), q, out _, out _);
        double tQ = sw.Elapsed.TotalMilliseconds;
        double gf(double ms, int m, int k) => 2.0 * n * m * k / ms / 1e6;
        double linear = (gf(tAtt, 3 * h, h) * tAtt + gf(tIn, 4 * h, h) * tIn + gf(tOut, h, 4 * h) * tOut) / (tAtt + tIn + tOut);
        Console.WriteLine($"att_proj {tAtt:F1} ms ({gf(tAtt, 3 * h, h):F0} GF/s)  mlp_in {tIn:F1} ({gf(tIn, 4 * h, h):F0})  mlp_out {tOut:F1} ({gf(tOut, h, 4 * h):F0})  linear {linear / peak:P0} of peak  gelu {tGelu:F1}  attention {tAttn:F1}  layernorm {tLn:F2}  quantize(n×3072) {tQ:F2}");
    }
    return 0;
}
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
