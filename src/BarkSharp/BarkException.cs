namespace BarkSharp;

/// <summary>
/// Base type of every error BarkSharp raises for bad input: a file it cannot read, a configuration it cannot use,
/// a tensor that does not fit the model. The message names the file, key, shape or value and says what to do.
/// </summary>
public class BarkException : Exception
{
    /// <summary>Creates an exception with a message meant for a person.</summary>
    public BarkException(string message) : base(message) { }

    /// <summary>Creates an exception with a message meant for a person and the error that caused it.</summary>
    public BarkException(string message, Exception? innerException) : base(message, innerException) { }
}

/// <summary>A file (safetensors, PyTorch zip, pickle, npy, npz, JSON) is malformed, truncated or of an unsupported kind.</summary>
public class BarkFormatException : BarkException
{
    /// <summary>Creates the exception for the file at <paramref name="path"/>.</summary>
    public BarkFormatException(string path, string message, Exception? innerException = null)
        : base($"{path}: {message}", innerException) => FilePath = path;

    /// <summary>The file that could not be read.</summary>
    public string FilePath { get; }
}

/// <summary>
/// A pickle inside a PyTorch checkpoint asks for a Python global (a function or class) that is not part of a plain
/// state dict. Loading it could run arbitrary code, so BarkSharp refuses the whole file.
/// </summary>
public sealed class BarkUnsafeCheckpointException : BarkFormatException
{
    /// <summary>Creates the exception for a refused global <paramref name="module"/>.<paramref name="name"/>.</summary>
    public BarkUnsafeCheckpointException(string path, string module, string name)
        : base(path, $"the pickle references the global '{module}.{name}', which a state dict never needs; refusing to load it " +
                     "because unpickling arbitrary globals can execute code. Re-save the checkpoint as model.safetensors or a plain torch state dict.")
    {
        Module = module;
        Name = name;
    }

    /// <summary>The module of the refused global.</summary>
    public string Module { get; }

    /// <summary>The attribute name of the refused global.</summary>
    public string Name { get; }
}

/// <summary>A checkpoint's tensors do not match the model: a key is missing or unexpected, or a shape or dtype is wrong.</summary>
public sealed class BarkWeightException : BarkException
{
    /// <summary>Creates the exception for checkpoint key <paramref name="key"/>.</summary>
    public BarkWeightException(string key, string message) : base(message) => Key = key;

    /// <summary>The checkpoint key the problem is about.</summary>
    public string Key { get; }
}

/// <summary>A <c>config.json</c> or <c>generation_config.json</c> is missing, malformed or has an unusable value.</summary>
public sealed class BarkConfigException : BarkException
{
    /// <summary>Creates the exception.</summary>
    public BarkConfigException(string message, Exception? innerException = null) : base(message, innerException) { }
}

/// <summary>Arguments given to a model or generator are invalid (ids out of range, wrong lengths, too long a sequence).</summary>
public sealed class BarkInputException : BarkException
{
    /// <summary>Creates the exception.</summary>
    public BarkInputException(string message) : base(message) { }
}

/// <summary>
/// A voice preset cannot be used: the name is unknown, its file is missing or unreadable, or an array is missing or has
/// the wrong rank, element type or values.
/// </summary>
public sealed class BarkVoiceException : BarkException
{
    /// <summary>Creates the exception for the preset <paramref name="preset"/> (a name, a path, or null for arrays).</summary>
    public BarkVoiceException(string? preset, string message, Exception? innerException = null)
        : base(message, innerException) => Preset = preset;

    /// <summary>The preset name or file the problem is about; null for presets built from arrays.</summary>
    public string? Preset { get; }
}

/// <summary>
/// An output file cannot be written: its folder is missing, it names a folder, a block device or a socket, permission
/// is denied, or the disk refused the bytes. Nothing was left behind and the target is unchanged (see <see cref="IO.OutputFile"/>).
/// </summary>
public sealed class BarkOutputException : BarkException
{
    /// <summary>Creates the exception for the output <paramref name="path"/> as the caller named it.</summary>
    public BarkOutputException(string path, string message, Exception? innerException = null)
        : base(message, innerException) => FilePath = path;

    /// <summary>The output path as the caller named it.</summary>
    public string FilePath { get; }
}

/// <summary>What went wrong while resolving or downloading a hub file; see <see cref="BarkHubException"/>.</summary>
public enum HubErrorKind
{
    /// <summary>The repository does not exist, or it is private or gated and no (valid) token was sent.</summary>
    RepositoryNotFound,
    /// <summary>The repository has no such file at this revision.</summary>
    FileNotFound,
    /// <summary>The branch, tag or commit does not exist in the repository.</summary>
    RevisionNotFound,
    /// <summary>The hub refused the token or asks for access to be granted (gated repository).</summary>
    AccessDenied,
    /// <summary>Offline mode (<c>HF_HUB_OFFLINE</c>) and the cache does not hold what is needed.</summary>
    NotCached,
    /// <summary>The hub could not be reached, answered with an error, or the transfer broke off or stalled.</summary>
    Network,
    /// <summary>The downloaded bytes do not match the size or checksum the hub announced; they were discarded.</summary>
    Integrity,
    /// <summary>
    /// A setting is unusable, so no request was made: the repository id or revision is malformed, the hub address
    /// (<c>HF_ENDPOINT</c>) is not an absolute http(s) URL, <c>HF_HUB_OFFLINE</c> is neither true nor false, or the
    /// cache folder cannot be written.
    /// </summary>
    InvalidOptions,
}

/// <summary>A file of a Hugging Face hub repository could not be resolved, downloaded or verified.</summary>
public sealed class BarkHubException : BarkException
{
    /// <summary>Creates the exception.</summary>
    public BarkHubException(HubErrorKind kind, string repoId, string? fileName, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Kind = kind;
        RepoId = repoId;
        FileName = fileName;
    }

    /// <summary>What went wrong.</summary>
    public HubErrorKind Kind { get; }

    /// <summary>The repository, e.g. <c>suno/bark-small</c>; empty when the problem is not about one repository (a setting).</summary>
    public string RepoId { get; }

    /// <summary>The file's path in the repository, or null when the problem is not about one file.</summary>
    public string? FileName { get; }
}
