using System.Text;

namespace BarkSharp.IO;

/// <summary>
/// A PyTorch checkpoint in the zip format of <c>torch.save</c> (torch ≥ 1.6), e.g. a hub <c>pytorch_model.bin</c>:
/// a zip archive holding <c>&lt;archive&gt;/data.pkl</c> (the state dict as a pickle) and one raw little-endian file
/// <c>&lt;archive&gt;/data/&lt;key&gt;</c> per storage. The pickle is read by a restricted unpickler that runs no code
/// and refuses every global a plain state dict does not need (<see cref="BarkUnsafeCheckpointException"/>).
/// Contiguous tensors are served straight out of the memory-mapped file; a strided view is copied into C order once,
/// on first access. Several keys may share one storage (tied weights).
/// </summary>
internal sealed class TorchCheckpoint : ITensorStore
{
    private readonly MappedFile _file;
    private readonly ZipDirectory _zip;
    private readonly Dictionary<string, Tensor> _tensors = new(StringComparer.Ordinal);
    private readonly List<string> _keys = [];
    private readonly Dictionary<string, byte[]> _copies = new(StringComparer.Ordinal);

    private TorchCheckpoint(string path)
    {
        _file = new MappedFile(path);
        try
        {
            _zip = ZipDirectory.Read(_file);
            ReadStateDict();
        }
        catch
        {
            _file.Dispose();
            throw;
        }
    }

    /// <summary>Opens a <c>torch.save</c> zip checkpoint and reads its state dict's tensor descriptions.</summary>
    /// <exception cref="BarkUnsafeCheckpointException">The pickle references a global outside the few a state dict needs.</exception>
    /// <exception cref="BarkFormatException">The file is missing, truncated, not a torch zip checkpoint, or not a dict of tensors.</exception>
    public static TorchCheckpoint Open(string path)
    {
        if (!File.Exists(path))
            throw new BarkFormatException(path, "the file does not exist.");
        return new TorchCheckpoint(path);
    }

    /// <inheritdoc />
    public string SourcePath => _file.Path;

    /// <inheritdoc />
    public IReadOnlyList<string> Keys => _keys;

    /// <inheritdoc />
    public bool TryGetInfo(string key, out TensorInfo info)
    {
        if (_tensors.TryGetValue(key, out Tensor? tensor))
        {
            info = tensor.Info;
            return true;
        }
        info = null!;
        return false;
    }

    /// <inheritdoc />
    public ReadOnlySpan<byte> GetBytes(string key)
    {
        if (!_tensors.TryGetValue(key, out Tensor? tensor))
            throw new BarkWeightException(key, $"{SourcePath}: the checkpoint has no tensor '{key}'.");
        int elementSize = tensor.Info.DType.SizeOf();
        if (tensor.IsContiguous)
            return _zip.Read(tensor.Entry, tensor.View.StorageOffset * elementSize, tensor.Info.ByteLength);
        lock (_copies)
        {
            if (!_copies.TryGetValue(key, out byte[]? copy))
            {
                copy = Materialize(tensor);
                _copies.Add(key, copy);
            }
            return copy;
        }
    }

    /// <inheritdoc />
    public void Dispose() => _file.Dispose();

    private void ReadStateDict()
    {
        string path = _file.Path;
        if (_zip.Entries.Count == 0 || _zip.Entries[0].Name.IndexOf('/') <= 0)
            throw new BarkFormatException(path, "the zip archive does not start with an '<archive>/' folder, so it is not a torch.save checkpoint.");
        string prefix = _zip.Entries[0].Name[..(_zip.Entries[0].Name.IndexOf('/') + 1)];

        if (_zip.TryGetEntry(prefix + "byteorder", out ZipEntry byteOrder)
            && Encoding.ASCII.GetString(_zip.Read(byteOrder)).Trim() == "big")
            throw new BarkFormatException(path, "the checkpoint was saved on a big-endian machine, which is not supported; re-save it on a little-endian one or convert it to safetensors.");

        if (!_zip.TryGetEntry(prefix + "data.pkl", out ZipEntry pickleEntry))
            throw new BarkFormatException(path, $"the zip archive has no '{prefix}data.pkl' entry, so it is not a torch.save checkpoint.");
        object? root = RestrictedUnpickler.Load(path, pickleEntry.Name, _zip.Read(pickleEntry));

        if (root is not PickleDict dict)
            throw new BarkFormatException(path, $"the pickled object is {RestrictedUnpickler.Describe(root)}, not a dict of tensors; only plain state dicts can be read.");
        foreach ((object key, object? value) in dict.Items)
        {
            if (key is not string name)
                throw new BarkFormatException(path, $"the state dict has the key {RestrictedUnpickler.Describe(key)}; state-dict keys must be strings.");
            if (value is not TorchTensorRef view)
                throw new BarkFormatException(path,
                    $"key '{name}' holds {RestrictedUnpickler.Describe(value)}, not a tensor; only plain state dicts (name → tensor) can be read, " +
                    "not a checkpoint that nests one under a key such as 'state_dict' or 'model'. Save the inner state dict by itself, or as model.safetensors.");
            _tensors[name] = ResolveView(name, view, prefix);
            _keys.Add(name);
        }
    }

    /// <summary>Resolves a view's storage entry and checks that the view lies inside it.</summary>
    private Tensor ResolveView(string name, TorchTensorRef view, string prefix)
    {
        string path = _file.Path;
        TorchStorageRef storage = view.Storage;
        int elementSize = storage.DType.SizeOf();
        string entryName = prefix + "data/" + storage.Key;
        if (!_zip.TryGetEntry(entryName, out ZipEntry entry))
            throw new BarkFormatException(path, $"tensor '{name}' uses storage '{storage.Key}', but the archive has no entry '{entryName}'; the file is incomplete.");

        var info = new TensorInfo(name, storage.DType, view.Size);
        long elements, extent, storageBytes;
        try
        {
            elements = 1;
            extent = view.StorageOffset + 1; // one past the last element the view touches
            for (int d = 0; d < view.Size.Length; d++)
            {
                elements = checked(elements * view.Size[d]);
                if (view.Size[d] > 0) extent = checked(extent + (view.Size[d] - 1) * view.Stride[d]);
            }
            if (elements == 0) extent = view.StorageOffset;
            storageBytes = checked(storage.ElementCount * elementSize);
            _ = checked(extent * elementSize);
        }
        catch (OverflowException)
        {
            throw new BarkFormatException(path, $"tensor '{name}' has an impossible shape {info.ShapeText} or stride {TensorInfo.FormatShape(view.Stride)}.");
        }
        if (storageBytes > entry.UncompressedSize)
            throw new BarkFormatException(path, $"storage '{entryName}' should hold {storage.ElementCount} {storage.DType} elements ({storageBytes} bytes) but has {entry.UncompressedSize} bytes; the file is truncated or corrupt.");
        if (extent > storage.ElementCount)
            throw new BarkFormatException(path, $"tensor '{name}' (shape {info.ShapeText}, stride {TensorInfo.FormatShape(view.Stride)}, offset {view.StorageOffset}) reaches element {extent - 1} of storage '{entryName}', which holds only {storage.ElementCount} elements; the file is corrupt.");
        return new Tensor(info, view, entry, extent, IsCContiguous(view.Size, view.Stride));
    }

    /// <summary>True when the elements are laid out in C order: each stride equals the product of the later sizes (dimensions of size 1 may have any stride).</summary>
    private static bool IsCContiguous(long[] size, long[] stride)
    {
        long expected = 1;
        for (int d = size.Length - 1; d >= 0; d--)
        {
            if (size[d] == 0) return true;
            if (size[d] != 1 && stride[d] != expected) return false;
            expected *= size[d];
        }
        return true;
    }

    /// <summary>Copies a strided view into a C-ordered array.</summary>
    private byte[] Materialize(Tensor tensor)
    {
        TorchTensorRef view = tensor.View;
        int elementSize = tensor.Info.DType.SizeOf();
        long byteLength = tensor.Info.ByteLength;
        if (byteLength > Array.MaxLength)
            throw new BarkFormatException(SourcePath, $"tensor '{tensor.Info.Name}' is a strided view of {byteLength} bytes, too large to copy into one array.");
        var result = new byte[byteLength];
        ReadOnlySpan<byte> storage = _zip.Read(tensor.Entry, view.StorageOffset * elementSize, (tensor.Extent - view.StorageOffset) * elementSize);
        int rank = view.Size.Length;
        var index = new long[rank];
        for (long i = 0, count = tensor.Info.ElementCount; i < count; i++)
        {
            long source = 0;
            for (int d = 0; d < rank; d++) source += index[d] * view.Stride[d];
            storage.Slice((int)(source * elementSize), elementSize).CopyTo(result.AsSpan((int)(i * elementSize), elementSize));
            for (int d = rank - 1; d >= 0 && ++index[d] == view.Size[d]; d--) index[d] = 0;
        }
        return result;
    }

    /// <param name="Info">Name, dtype and shape.</param>
    /// <param name="View">Offset, size and stride in the storage.</param>
    /// <param name="Entry">The zip entry of the storage.</param>
    /// <param name="Extent">One past the last storage element the view touches.</param>
    /// <param name="IsContiguous">Whether the view is C-ordered, so its bytes are one slice of the storage.</param>
    private sealed record Tensor(TensorInfo Info, TorchTensorRef View, ZipEntry Entry, long Extent, bool IsContiguous);
}
