namespace BarkSharp;

/// <summary>How the semantic and coarse models' KV caches store keys and values (<see cref="BarkModelOptions.KvCacheType"/>).</summary>
public enum KvCacheType
{
    /// <summary>
    /// Follow the weights: <see cref="Float32"/> for float32 weights (results identical to Transformers'),
    /// <see cref="BFloat16"/> for reduced weights, whose decode steps then read half the cache bytes.
    /// </summary>
    Auto,
    /// <summary>32-bit float: exact.</summary>
    Float32,
    /// <summary>
    /// bfloat16 (the high half of a float32, rounded to nearest even): half the memory and bandwidth, float32's
    /// range, ~3 significant digits. Widening it back costs one shift in registers. (IEEE half precision would be
    /// more precise, but .NET has no vector half → single instruction: its widening takes about eight instructions,
    /// and attention over such a cache measured no faster than over float32.)
    /// </summary>
    BFloat16,
}
