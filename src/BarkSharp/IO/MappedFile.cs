using System.IO.MemoryMappedFiles;

namespace BarkSharp.IO;

/// <summary>A read-only memory mapping of a whole file, exposed as a span. Zero-length files map to an empty span.</summary>
internal sealed unsafe class MappedFile : IDisposable
{
    private readonly MemoryMappedFile? _map;
    private readonly MemoryMappedViewAccessor? _view;
    private byte* _pointer;

    public MappedFile(string path)
    {
        Path = path;
        try
        {
            // The stream's length, not FileInfo's: a hub snapshot file is a symbolic link, and FileInfo describes the link.
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            Length = stream.Length;
            if (Length == 0) return;
            _map = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
            _view = _map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            _view.SafeMemoryMappedViewHandle.AcquirePointer(ref _pointer);
            _pointer += _view.PointerOffset;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Dispose();
            throw new BarkFormatException(path, $"cannot open the file: {e.Message}", e);
        }
    }

    public string Path { get; }

    public long Length { get; }

    public ReadOnlySpan<byte> Span(long offset, long length)
    {
        ObjectDisposedException.ThrowIf(_pointer == null && Length > 0, this);
        if (offset < 0 || length < 0 || offset + length > Length)
            throw new ArgumentOutOfRangeException(nameof(offset), $"range {offset}+{length} outside file of {Length} bytes");
        if (length > int.MaxValue)
            throw new BarkFormatException(Path, $"a single tensor of {length} bytes is larger than 2 GiB, which is not supported.");
        return length == 0 ? ReadOnlySpan<byte>.Empty : new ReadOnlySpan<byte>(_pointer + offset, (int)length);
    }

    public void Dispose()
    {
        if (_pointer != null)
        {
            _view!.SafeMemoryMappedViewHandle.ReleasePointer();
            _pointer = null;
        }
        _view?.Dispose();
        _map?.Dispose();
    }
}
