using BarkSharp.Generation;
using BarkSharp.Hub;
using BarkSharp.Tensors;

namespace BarkSharp;

/// <summary>How <see cref="BarkModel.FromPretrained"/> loads a model.</summary>
public sealed record BarkModelOptions
{
    /// <summary>
    /// Storage type of the transformer blocks' linear weights. Default <see cref="WeightType.Auto"/>: the checkpoint's
    /// type (float32 for the hub's Bark files). Embeddings, LM heads and the codec always stay float32.
    /// </summary>
    public WeightType WeightType { get; init; } = WeightType.Auto;

    /// <summary>
    /// How the semantic and coarse models' KV caches are stored. Default <see cref="KvCacheType.Auto"/>: float32 with
    /// float32 weights (results identical to Transformers'), bfloat16 with reduced weights, where a decode step's cache
    /// reads are a large share of the bytes it streams. The fine model, which attends over each call's frames at
    /// once (compute-bound, no cache between calls), keeps its keys and values in float32.
    /// </summary>
    public KvCacheType KvCacheType { get; init; } = KvCacheType.Auto;

    /// <summary>Threads the kernels may use. Default: the processor count.</summary>
    public int? MaxThreads { get; init; }

    /// <summary>
    /// Which weight file to read when a folder has both: <c>model.safetensors</c> (default, memory-mapped) or
    /// <c>pytorch_model.bin</c>. Null picks safetensors when present.
    /// </summary>
    public string? WeightsFileName { get; init; }

    /// <summary>
    /// Where a model given as a hub repository id comes from: endpoint, token, cache folder, revision, offline mode
    /// (huggingface_hub's environment variables when null). Unused for a local folder.
    /// </summary>
    public HubOptions? Hub { get; init; }

    /// <summary>
    /// Keep only the running stage's weights in memory (the analogue of Transformers' <c>enable_cpu_offload</c>): each
    /// stage reads its sub-model from the checkpoint when it starts and releases it when it ends. Peak memory drops to
    /// the largest sub-model (the semantic GPT) at the cost of reading the weights again on every generation.
    /// Default false.
    /// </summary>
    public bool LowMemory { get; init; }

    /// <summary>
    /// Multiply int8 and bf16 weights with machine-code kernels assembled at load time where the CPU has the units .NET
    /// does not reach (512-bit <c>vpdpbusd</c>, AVX512-BF16 <c>vdpbf16ps</c>). Default true. False runs the managed
    /// kernels; as the generated code is shared by the process, false switches it off for every model in the process.
    /// The environment variable <c>BARKSHARP_JIT=0</c> does the same. Int8 results are bit-identical either way;
    /// bf16 ones round the activations to bf16 too when the generated kernel runs (see the README's accuracy table).
    /// </summary>
    public bool UseJitKernels { get; init; } = true;
}
