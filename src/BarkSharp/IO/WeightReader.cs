namespace BarkSharp.IO;

/// <summary>
/// Reads the tensors of one module from a checkpoint by their exact state-dict keys (<see cref="Prefix"/> + local
/// name), checks each shape against the configuration, and records which keys were used so that leftovers can be
/// reported as unexpected.
/// </summary>
internal sealed class WeightReader
{
    private readonly HashSet<string> _used;

    /// <summary>Creates a reader over <paramref name="store"/> for keys starting with <paramref name="prefix"/>.</summary>
    public WeightReader(ITensorStore store, string prefix = "")
        : this(store, prefix, new HashSet<string>(StringComparer.Ordinal))
    {
    }

    private WeightReader(ITensorStore store, string prefix, HashSet<string> used)
    {
        Store = store;
        Prefix = prefix;
        _used = used;
    }

    /// <summary>The checkpoint.</summary>
    public ITensorStore Store { get; }

    /// <summary>The key prefix of this module, e.g. <c>semantic.</c> (empty for the root).</summary>
    public string Prefix { get; }

    /// <summary>Every full key read so far through this reader or any reader derived from it.</summary>
    public IReadOnlyCollection<string> UsedKeys => _used;

    /// <summary>A reader for a sub-module (<c>Prefix + name + "."</c>) sharing the used-key record.</summary>
    public WeightReader Sub(string name) => new(Store, Prefix + name + ".", _used);

    /// <summary>The full key of a local name.</summary>
    public string Key(string name) => Prefix + name;

    /// <summary>True when the checkpoint has <c>Prefix + name</c>.</summary>
    public bool Has(string name) => Store.Contains(Prefix + name);

    /// <summary>Reads a floating-point tensor as float32, checking the shape.</summary>
    /// <exception cref="BarkWeightException">The key is missing, or its shape or dtype is wrong.</exception>
    public float[] Float32(string name, params long[] shape)
    {
        string key = Prefix + name;
        float[] data = Store.ReadFloat32(key, shape);
        _used.Add(key);
        return data;
    }

    /// <summary>
    /// Reads a floating-point tensor as float32 into <paramref name="destination"/> (its element count), checking the
    /// shape; lets a loader reuse one buffer for all the tensors it converts.
    /// </summary>
    public void Float32Into(string name, Span<float> destination, params long[] shape)
    {
        string key = Prefix + name;
        Store.ReadFloat32Into(key, destination, shape);
        _used.Add(key);
    }

    /// <summary>Reads an optional tensor: null when absent.</summary>
    public float[]? OptionalFloat32(string name, params long[] shape) => Has(name) ? Float32(name, shape) : null;

    /// <summary>Marks a key as consumed without reading it (e.g. buffers the model recomputes).</summary>
    public void Skip(string name) => _used.Add(Prefix + name);

    /// <summary>
    /// Throws a <see cref="BarkWeightException"/> for the first key under <see cref="Prefix"/> that was never read,
    /// unless <paramref name="ignore"/> accepts it.
    /// </summary>
    public void EnsureAllUsed(Func<string, bool>? ignore = null)
    {
        foreach (string key in Store.Keys)
        {
            if (!key.StartsWith(Prefix, StringComparison.Ordinal) || _used.Contains(key)) continue;
            if (ignore is not null && ignore(key)) continue;
            throw new BarkWeightException(key,
                $"{Store.SourcePath}: unexpected tensor '{key}' — the configuration describes no such weight. " +
                "Check that config.json matches the checkpoint (layer counts, bias).");
        }
    }
}
