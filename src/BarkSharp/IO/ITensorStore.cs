namespace BarkSharp.IO;

/// <summary>
/// Read access to the tensors of one checkpoint file (safetensors or PyTorch zip), by state-dict key.
/// Data stays in the file (memory-mapped) where the format allows; spans are valid until the store is disposed.
/// </summary>
internal interface ITensorStore : IDisposable
{
    /// <summary>The file the tensors come from (for error messages).</summary>
    string SourcePath { get; }

    /// <summary>Every key in the file, in file order.</summary>
    IReadOnlyList<string> Keys { get; }

    /// <summary>Looks up a tensor's dtype and shape.</summary>
    bool TryGetInfo(string key, out TensorInfo info);

    /// <summary>The tensor's raw little-endian bytes, C-contiguous.</summary>
    /// <exception cref="BarkWeightException">The key does not exist.</exception>
    ReadOnlySpan<byte> GetBytes(string key);

    /// <summary>
    /// Copies the tensor's bytes into <paramref name="destination"/> (exactly its byte length). Stores may read the file
    /// directly instead of through the memory map, so loading a model does not keep the file's pages resident.
    /// </summary>
    void CopyBytes(string key, Span<byte> destination) => GetBytes(key).CopyTo(destination);
}
