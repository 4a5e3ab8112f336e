using System.Runtime.InteropServices;

namespace BarkSharp.IO;

/// <summary>
/// A file BarkSharp writes (WAV, <c>.npz</c>, cache files), written so that nothing but the named file is ever
/// touched and a failure never leaves half a file behind.
/// </summary>
/// <remarks>
/// <para>What happens depends on what the path names:</para>
/// <list type="bullet">
/// <item><description>nothing, or a regular file: the bytes go to a hidden temporary file in the same folder, which
/// <see cref="Commit"/> moves over the target in one atomic rename. A replaced file keeps its permission bits (a
/// read-only 0444 file stays 0444, a private 0600 one stays 0600); a new file gets the default mode (0666 less the
/// umask). Without <see cref="Commit"/>, <see cref="Dispose"/> deletes the temporary file and the target is untouched.</description></item>
/// <item><description>a symbolic link: it is followed; its final target is written as above and the link stays a link.</description></item>
/// <item><description>a FIFO or a character device (<c>/dev/null</c>, a terminal): it is opened and written directly,
/// streamed, never replaced. Opening a FIFO waits until a reader opens it, as any writer does.</description></item>
/// <item><description>a folder, a block device, a socket, or a path in a missing folder: refused with a
/// <see cref="BarkOutputException"/> before anything is written.</description></item>
/// </list>
/// <para>Messages name the path the caller gave, never the temporary file.</para>
/// </remarks>
internal sealed class OutputFile : IDisposable
{
    private readonly string _target;          // the file finally written: the path with symbolic links resolved
    private readonly string? _temp;           // null for a FIFO or character device
    private readonly FileStream _file;
    private bool _committed;
    private bool _disposed;

    private OutputFile(string path, string target, string? temp, FileStream file)
    {
        Path = path;
        _target = target;
        _temp = temp;
        _file = file;
        Stream = new OutputStream(file, this);
    }

    /// <summary>The path as the caller named it.</summary>
    public string Path { get; }

    /// <summary>
    /// Where to write: for a regular file a temporary file next to the target (seekable); for a FIFO or character
    /// device the target itself (not seekable). Errors while writing surface as <see cref="BarkOutputException"/>
    /// naming <see cref="Path"/>.
    /// </summary>
    public Stream Stream { get; }

    /// <summary>True when <see cref="Path"/> is a FIFO or character device that is written directly (streamed) rather than replaced.</summary>
    public bool IsStreamed => _temp is null;

    /// <summary>
    /// Checks <paramref name="path"/> and opens it for writing (see the remarks on <see cref="OutputFile"/>).
    /// For a regular file this creates the temporary file, so a folder that cannot be written fails now, before any
    /// work is spent; for a FIFO it waits for a reader.
    /// </summary>
    /// <exception cref="BarkOutputException">The path is a folder, a block device or a socket, its folder does not exist, or it cannot be written.</exception>
    public static OutputFile Create(string path)
    {
        (string target, FileKind kind) = Resolve(path);
        if (kind is FileKind.Fifo or FileKind.CharacterDevice)
        {
            try
            {
                // No buffering: what the caller writes reaches the reader at once; the reader keeps its own access.
                return new OutputFile(path, target, temp: null, new FileStream(target, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw Failure(path, e is UnauthorizedAccessException ? "permission denied" : Reason(e, null), e);
            }
        }

        string folder = System.IO.Path.GetDirectoryName(target)!;
        string name = System.IO.Path.GetFileName(target);
        // Hidden, next to the target (so the rename is atomic), and short enough for any name the target may have.
        string temp = System.IO.Path.Combine(folder, $".{(name.Length > 200 ? name[..200] : name)}.{Guid.NewGuid().ToString("N")[..12]}.tmp");
        try
        {
            return new OutputFile(path, target, temp, new FileStream(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None));
        }
        catch (UnauthorizedAccessException e)
        {
            throw Failure(path, $"the folder '{folder}' does not allow creating files in it (permission denied)", e);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw Failure(path, $"the folder '{folder}' does not accept new files", e); // e.g. /proc
        }
        catch (IOException e)
        {
            throw Failure(path, Reason(e, temp), e);
        }
    }

    /// <summary>
    /// Checks that <paramref name="path"/> can be written, leaving everything as it was: a regular file's folder is
    /// probed by creating and deleting a temporary file; a FIFO or character device is not opened.
    /// </summary>
    /// <exception cref="BarkOutputException">The path cannot be written; see <see cref="Create"/>.</exception>
    public static void Check(string path)
    {
        (_, FileKind kind) = Resolve(path);
        if (kind is FileKind.Fifo or FileKind.CharacterDevice) return;
        using OutputFile probe = Create(path);
    }

    /// <summary>Creates the file, lets <paramref name="write"/> fill <see cref="Stream"/>, and commits it; on any exception nothing is left behind.</summary>
    /// <exception cref="BarkOutputException">The path cannot be written, or writing or committing failed.</exception>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        using OutputFile output = Create(path);
        write(output.Stream);
        output.Commit();
    }

    /// <summary>
    /// Finishes the file. A regular file is flushed to disk, given the replaced file's permission bits, and renamed
    /// over the target (a symbolic link's target; the link stays). A FIFO or character device is flushed and closed.
    /// </summary>
    /// <exception cref="BarkOutputException">Flushing or renaming failed; the target is then unchanged (regular files).</exception>
    public void Commit()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_committed) return;
        try
        {
            if (_temp is null)
            {
                _file.Flush();
                _file.Dispose();
            }
            else
            {
                _file.Flush(flushToDisk: true);
                _file.Dispose();
                KeepAttributes(_target, _temp);
                File.Move(_temp, _target, overwrite: true);
            }
            _committed = true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Failure(Path, e is UnauthorizedAccessException ? "permission denied" : Reason(e, _temp), e);
        }
    }

    /// <summary>Closes the stream; without <see cref="Commit"/>, deletes the temporary file and leaves the target as it was.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _file.Dispose();
        if (!_committed && _temp is not null)
        {
            try
            {
                File.Delete(_temp);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Nothing more can be done; the name is hidden (a leading dot) and ends in .tmp.
            }
        }
    }

    // ---------------------------------------------------------------- what the path names

    /// <summary>What a path names (symbolic links followed).</summary>
    internal enum FileKind { Missing, Regular, Directory, Fifo, CharacterDevice, BlockDevice, Socket, Other }

    /// <summary>The file that will be written (links followed) and what it is; refuses what cannot be written.</summary>
    private static (string Target, FileKind Kind) Resolve(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path.Length == 0) throw new BarkOutputException(path, "the output path is empty; give a file name such as out.wav.");
        string full;
        try
        {
            full = System.IO.Path.GetFullPath(path);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw Failure(path, "it is not a valid path", e);
        }
        if (path.EndsWith('/') || path.EndsWith(System.IO.Path.DirectorySeparatorChar) || Directory.Exists(full))
            throw Failure(path, $"it is a folder. Give a file name such as {System.IO.Path.Combine(path, "out.wav")}", null);

        string target = full;
        try
        {
            if (new FileInfo(full).LinkTarget is not null)
                target = File.ResolveLinkTarget(full, returnFinalTarget: true)?.FullName ?? full;
        }
        catch (IOException e)
        {
            throw Failure(path, "it is a symbolic link that cannot be followed (a loop?)", e);
        }

        if (System.Text.Encoding.UTF8.GetByteCount(System.IO.Path.GetFileName(target)) > 255)
            throw Failure(path, "the file name is longer than the 255 bytes a file system allows", null);
        FileKind kind = KindOf(target);
        string? refusal = kind switch
        {
            FileKind.Directory => $"it is a symbolic link to the folder '{target}'. Give a file name",
            FileKind.BlockDevice => "it is a block device; BarkSharp writes regular files, FIFOs and character devices (such as /dev/null), never disks",
            FileKind.Socket => "it is a socket; BarkSharp writes regular files, FIFOs and character devices (such as /dev/null)",
            FileKind.Other => "it is neither a regular file, a FIFO nor a character device",
            _ => null,
        };
        if (refusal is not null) throw Failure(path, refusal, null);
        if (kind is FileKind.Missing or FileKind.Regular)
        {
            string folder = System.IO.Path.GetDirectoryName(target)!;
            if (!Directory.Exists(folder))
                throw Failure(path, File.Exists(folder) ? $"'{folder}' is a file, not a folder" : $"the folder '{folder}' does not exist", null);
        }
        return (target, kind);
    }

    /// <summary>What <paramref name="path"/> names, following symbolic links (Linux: from statx; elsewhere regular files, folders and /dev).</summary>
    internal static FileKind KindOf(string path)
    {
        if (OperatingSystem.IsLinux() && StatMode(path) is { } mode)
        {
            return (mode & 0xF000) switch
            {
                0x8000 => FileKind.Regular,
                0x4000 => FileKind.Directory,
                0x1000 => FileKind.Fifo,
                0x2000 => FileKind.CharacterDevice,
                0x6000 => FileKind.BlockDevice,
                0xC000 => FileKind.Socket,
                _ => FileKind.Other,
            };
        }
        if (Directory.Exists(path)) return FileKind.Directory;
        if (!File.Exists(path)) return FileKind.Missing;
        // Without stat: on other Unix systems, /dev holds devices; on Windows, everything else is a file.
        return !OperatingSystem.IsWindows() && path.StartsWith("/dev/", StringComparison.Ordinal) ? FileKind.CharacterDevice : FileKind.Regular;
    }

    /// <summary>
    /// <c>stx_mode</c> of the file (links followed) from Linux's <c>statx</c>, whose layout is the same on every
    /// architecture; null when the file does not exist or statx is unavailable.
    /// </summary>
    private static unsafe ushort? StatMode(string path)
    {
        if (Statx is null) return null;
        byte[] name = System.Text.Encoding.UTF8.GetBytes(path + "\0");
        byte* buffer = stackalloc byte[256];
        fixed (byte* p = name)
        {
            const int AtFdCwd = -100;
            const uint StatxType = 0x1, StatxMode = 0x2;
            if (Statx(AtFdCwd, p, 0, StatxType | StatxMode, buffer) != 0) return null;
        }
        return *(ushort*)(buffer + 28);
    }

    private static readonly unsafe delegate* unmanaged<int, byte*, int, uint, byte*, int> Statx = LoadStatx();

    private static unsafe delegate* unmanaged<int, byte*, int, uint, byte*, int> LoadStatx()
    {
        if (!OperatingSystem.IsLinux()) return null;
        foreach (string library in new[] { "libc.so.6", "libc" })
        {
            if (NativeLibrary.TryLoad(library, out IntPtr handle) && NativeLibrary.TryGetExport(handle, "statx", out IntPtr statx))
                return (delegate* unmanaged<int, byte*, int, uint, byte*, int>)statx;
        }
        return null;
    }

    // ---------------------------------------------------------------- permissions and messages

    /// <summary>Gives <paramref name="temp"/> the permission bits (Windows: attributes) of the file it replaces; a new file keeps the default.</summary>
    private static void KeepAttributes(string target, string temp)
    {
        if (!File.Exists(target)) return;
        if (OperatingSystem.IsWindows())
        {
            FileAttributes attributes = File.GetAttributes(target);
            if ((attributes & FileAttributes.ReadOnly) != 0)
            {
                File.SetAttributes(target, attributes & ~FileAttributes.ReadOnly); // Windows cannot rename over a read-only file
                File.SetAttributes(temp, File.GetAttributes(temp) | FileAttributes.ReadOnly);
            }
            return;
        }
        File.SetUnixFileMode(temp, File.GetUnixFileMode(target));
    }

    private static BarkOutputException Failure(string path, string reason, Exception? inner) =>
        new(path, $"cannot write '{path}': {reason}.", inner);

    /// <summary>An I/O error's reason without the file name .NET appends (which may be the temporary file).</summary>
    private static string Reason(Exception e, string? temp)
    {
        string message = e.Message;
        int at = message.IndexOf(" : '", StringComparison.Ordinal);
        if (at > 0) message = message[..at];
        if (temp is not null && message.Contains(temp, StringComparison.Ordinal)) message = message.Replace(temp, "the file", StringComparison.Ordinal);
        if (temp is not null && message.Contains(System.IO.Path.GetFileName(temp), StringComparison.Ordinal)) message = "the file system refused it";
        return message.TrimEnd('.', ' ');
    }

    /// <summary>The caller's view of the file: every I/O error names the output path, never the temporary file.</summary>
    private sealed class OutputStream(FileStream inner, OutputFile owner) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => inner.CanSeek;
        public override bool CanWrite => inner.CanWrite;
        public override long Length => inner.Length;

        public override long Position
        {
            get => inner.Position;
            set => inner.Position = value;
        }

        public override void Flush() => Guard(() => inner.Flush());
        public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);
        public override void SetLength(long value) => Guard(() => inner.SetLength(value));
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => Guard(() => inner.Write(buffer, offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            try
            {
                inner.Write(buffer);
            }
            catch (IOException e)
            {
                throw Failure(owner.Path, Reason(e, owner._temp), e);
            }
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            try
            {
                await inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
            }
            catch (IOException e)
            {
                throw Failure(owner.Path, Reason(e, owner._temp), e);
            }
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override async Task FlushAsync(CancellationToken cancellationToken)
        {
            try
            {
                await inner.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (IOException e)
            {
                throw Failure(owner.Path, Reason(e, owner._temp), e);
            }
        }

        // Closing this view leaves the file to its OutputFile (Commit or Dispose), so a `using` around a writer is harmless.
        protected override void Dispose(bool disposing)
        {
        }

        private void Guard(Action action)
        {
            try
            {
                action();
            }
            catch (IOException e)
            {
                throw Failure(owner.Path, Reason(e, owner._temp), e);
            }
        }
    }
}
