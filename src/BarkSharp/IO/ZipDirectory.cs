using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace BarkSharp.IO;

/// <summary>
/// The central directory of a zip archive held in a <see cref="MappedFile"/>, read without copying entry data:
/// stored (method 0) entries are served straight from the mapping, deflated (method 8) entries are inflated once into
/// a cached array. ZIP64 end-of-central-directory records and ZIP64 extra fields are honoured, so archives and offsets
/// past 4 GiB work. CRCs are not verified (that would read every byte of a multi-gigabyte file at open).
/// </summary>
internal sealed class ZipDirectory
{
    private const uint LocalHeaderSignature = 0x04034b50;
    private const uint CentralHeaderSignature = 0x02014b50;
    private const uint EndSignature = 0x06054b50;
    private const uint Zip64EndSignature = 0x06064b50;
    private const uint Zip64LocatorSignature = 0x07064b50;
    private const int EndRecordSize = 22;
    private const int Zip64LocatorSize = 20;
    private const int Zip64EndRecordSize = 56;
    private const int CentralHeaderSize = 46;
    private const int LocalHeaderSize = 30;
    private const int MaxCommentLength = ushort.MaxValue;

    private readonly MappedFile _file;
    private readonly Dictionary<string, ZipEntry> _entries = new(StringComparer.Ordinal);
    private readonly List<ZipEntry> _ordered = [];
    private readonly Dictionary<ZipEntry, byte[]> _inflated = [];

    private ZipDirectory(MappedFile file) => _file = file;

    /// <summary>The entries in central-directory order.</summary>
    public IReadOnlyList<ZipEntry> Entries => _ordered;

    /// <summary>Parses the central directory and every entry's local header.</summary>
    /// <exception cref="BarkFormatException">The file is not a zip archive, is truncated, or uses an unsupported feature.</exception>
    public static ZipDirectory Read(MappedFile file)
    {
        var zip = new ZipDirectory(file);
        zip.ParseCentralDirectory();
        return zip;
    }

    /// <summary>Finds an entry by its full name.</summary>
    public bool TryGetEntry(string name, out ZipEntry entry) => _entries.TryGetValue(name, out entry!);

    /// <summary>
    /// <paramref name="length"/> bytes of an entry's uncompressed data from <paramref name="offset"/>: a view of the
    /// mapping for a stored entry, of the cached inflated array for a deflated one.
    /// </summary>
    public ReadOnlySpan<byte> Read(ZipEntry entry, long offset, long length)
    {
        if (offset < 0 || length < 0 || offset + length > entry.UncompressedSize)
            throw new ArgumentOutOfRangeException(nameof(offset), $"range {offset}+{length} outside entry '{entry.Name}' of {entry.UncompressedSize} bytes");
        switch (entry.Method)
        {
            case ZipEntry.Stored when entry.CompressedSize == entry.UncompressedSize:
                return _file.Span(entry.DataOffset + offset, length);
            case ZipEntry.Stored:
                throw new BarkFormatException(_file.Path, $"zip entry '{entry.Name}' is stored uncompressed but the directory gives it {entry.CompressedSize} stored and {entry.UncompressedSize} content bytes; the archive is corrupt.");
            case ZipEntry.Deflated:
                return Inflate(entry).AsSpan(checked((int)offset), checked((int)length));
            default:
                throw new BarkFormatException(_file.Path, $"zip entry '{entry.Name}' uses compression method {entry.Method}; only stored (0) and deflated (8) entries can be read. Re-save the checkpoint with torch.save, which stores entries uncompressed.");
        }
    }

    /// <summary>All of an entry's uncompressed data.</summary>
    public ReadOnlySpan<byte> Read(ZipEntry entry) => Read(entry, 0, entry.UncompressedSize);

    private unsafe byte[] Inflate(ZipEntry entry)
    {
        lock (_inflated)
        {
            if (_inflated.TryGetValue(entry, out byte[]? cached))
                return cached;
            if (entry.UncompressedSize > Array.MaxLength)
                throw new BarkFormatException(_file.Path, $"zip entry '{entry.Name}' is deflated and inflates to {entry.UncompressedSize} bytes, more than one array can hold; store it uncompressed.");
            var result = new byte[entry.UncompressedSize];
            if (result.Length == 0)
                return result;
            ReadOnlySpan<byte> compressed = _file.Span(entry.DataOffset, entry.CompressedSize);
            try
            {
                fixed (byte* p = compressed)
                {
                    using var source = new UnmanagedMemoryStream(p, compressed.Length);
                    using var inflater = new DeflateStream(source, CompressionMode.Decompress);
                    inflater.ReadExactly(result);
                }
            }
            catch (Exception e) when (e is InvalidDataException or EndOfStreamException)
            {
                throw new BarkFormatException(_file.Path, $"zip entry '{entry.Name}' is deflated but its data is corrupt or shorter than the {entry.UncompressedSize} bytes the directory promises ({e.Message}).", e);
            }
            _inflated.Add(entry, result);
            return result;
        }
    }

    private void ParseCentralDirectory()
    {
        string path = _file.Path;
        long end = FindEndRecord();
        ReadOnlySpan<byte> eocd = _file.Span(end, EndRecordSize);
        long diskNumber = BinaryPrimitives.ReadUInt16LittleEndian(eocd[4..]);
        long directoryDisk = BinaryPrimitives.ReadUInt16LittleEndian(eocd[6..]);
        long entryCount = BinaryPrimitives.ReadUInt16LittleEndian(eocd[10..]);
        long directorySize = BinaryPrimitives.ReadUInt32LittleEndian(eocd[12..]);
        long directoryOffset = BinaryPrimitives.ReadUInt32LittleEndian(eocd[16..]);

        // A ZIP64 locator sits immediately before the classic record; when present its record is authoritative.
        if (end >= Zip64LocatorSize && BinaryPrimitives.ReadUInt32LittleEndian(_file.Span(end - Zip64LocatorSize, 4)) == Zip64LocatorSignature)
        {
            ReadOnlySpan<byte> locator = _file.Span(end - Zip64LocatorSize, Zip64LocatorSize);
            ulong recordOffset = BinaryPrimitives.ReadUInt64LittleEndian(locator[8..]);
            if (end - Zip64LocatorSize - Zip64EndRecordSize < 0
                || recordOffset > (ulong)(end - Zip64LocatorSize - Zip64EndRecordSize)
                || BinaryPrimitives.ReadUInt32LittleEndian(_file.Span((long)recordOffset, 4)) != Zip64EndSignature)
                throw new BarkFormatException(path, $"the ZIP64 end-of-central-directory locator points to offset {recordOffset}, where there is no ZIP64 record; the archive is corrupt.");
            ReadOnlySpan<byte> record = _file.Span((long)recordOffset, Zip64EndRecordSize);
            diskNumber = BinaryPrimitives.ReadUInt32LittleEndian(record[16..]);
            directoryDisk = BinaryPrimitives.ReadUInt32LittleEndian(record[20..]);
            entryCount = ToInt64(BinaryPrimitives.ReadUInt64LittleEndian(record[32..]), "entry count");
            directorySize = ToInt64(BinaryPrimitives.ReadUInt64LittleEndian(record[40..]), "central directory size");
            directoryOffset = ToInt64(BinaryPrimitives.ReadUInt64LittleEndian(record[48..]), "central directory offset");
        }

        if (diskNumber != 0 || directoryDisk != 0)
            throw new BarkFormatException(path, "the zip archive is split across several files (disks), which is not supported.");
        if (directoryOffset + directorySize > end)
            throw new BarkFormatException(path, $"the zip central directory claims bytes {directoryOffset}..{directoryOffset + directorySize} but the end record is at {end}; the file is truncated or corrupt.");

        long position = directoryOffset;
        long directoryEnd = directoryOffset + directorySize;
        for (long i = 0; i < entryCount; i++)
        {
            if (position + CentralHeaderSize > directoryEnd
                || BinaryPrimitives.ReadUInt32LittleEndian(_file.Span(position, 4)) != CentralHeaderSignature)
                throw new BarkFormatException(path, $"zip central directory entry {i} of {entryCount} at offset {position} is missing or damaged; the archive is corrupt.");
            ReadOnlySpan<byte> header = _file.Span(position, CentralHeaderSize);
            int flags = BinaryPrimitives.ReadUInt16LittleEndian(header[8..]);
            int method = BinaryPrimitives.ReadUInt16LittleEndian(header[10..]);
            long compressedSize = BinaryPrimitives.ReadUInt32LittleEndian(header[20..]);
            long uncompressedSize = BinaryPrimitives.ReadUInt32LittleEndian(header[24..]);
            int nameLength = BinaryPrimitives.ReadUInt16LittleEndian(header[28..]);
            int extraLength = BinaryPrimitives.ReadUInt16LittleEndian(header[30..]);
            int commentLength = BinaryPrimitives.ReadUInt16LittleEndian(header[32..]);
            long localOffset = BinaryPrimitives.ReadUInt32LittleEndian(header[42..]);
            long next = position + CentralHeaderSize + nameLength + extraLength + commentLength;
            if (next > directoryEnd)
                throw new BarkFormatException(path, $"zip central directory entry {i} at offset {position} runs past the end of the directory; the archive is corrupt.");
            string name = Encoding.UTF8.GetString(_file.Span(position + CentralHeaderSize, nameLength));
            ReadOnlySpan<byte> extra = _file.Span(position + CentralHeaderSize + nameLength, extraLength);
            ApplyZip64Extra(name, extra, ref uncompressedSize, ref compressedSize, ref localOffset);

            if ((flags & 1) != 0)
                throw new BarkFormatException(path, $"zip entry '{name}' is encrypted, which is not supported.");
            var entry = new ZipEntry(name, method, compressedSize, uncompressedSize, DataOffset(name, localOffset, compressedSize));
            _entries.TryAdd(name, entry);
            _ordered.Add(entry);
            position = next;
        }
    }

    /// <summary>Scans backwards for the classic end-of-central-directory record (it may be followed by a comment).</summary>
    private long FindEndRecord()
    {
        long lowest = Math.Max(0, _file.Length - EndRecordSize - MaxCommentLength);
        for (long p = _file.Length - EndRecordSize; p >= lowest; p--)
        {
            ReadOnlySpan<byte> candidate = _file.Span(p, EndRecordSize);
            if (BinaryPrimitives.ReadUInt32LittleEndian(candidate) == EndSignature
                && p + EndRecordSize + BinaryPrimitives.ReadUInt16LittleEndian(candidate[20..]) <= _file.Length)
                return p;
        }
        throw new BarkFormatException(_file.Path, $"the file ({_file.Length} bytes) is not a zip archive or is truncated: no end-of-central-directory record was found at its end. Download it again.");
    }

    /// <summary>Replaces 0xFFFFFFFF sizes and offsets by the 64-bit values of a ZIP64 extra field (id 1), in their fixed order.</summary>
    private void ApplyZip64Extra(string name, ReadOnlySpan<byte> extra, ref long uncompressedSize, ref long compressedSize, ref long localOffset)
    {
        const long Escape = uint.MaxValue;
        while (extra.Length >= 4)
        {
            int id = BinaryPrimitives.ReadUInt16LittleEndian(extra);
            int size = BinaryPrimitives.ReadUInt16LittleEndian(extra[2..]);
            if (4 + size > extra.Length)
                break;
            if (id == 1)
            {
                ReadOnlySpan<byte> field = extra.Slice(4, size);
                int at = 0;
                if (uncompressedSize == Escape) uncompressedSize = ReadField(name, field, ref at);
                if (compressedSize == Escape) compressedSize = ReadField(name, field, ref at);
                if (localOffset == Escape) localOffset = ReadField(name, field, ref at);
                return;
            }
            extra = extra[(4 + size)..];
        }
    }

    private long ReadField(string name, ReadOnlySpan<byte> field, ref int at)
    {
        if (at + 8 > field.Length)
            throw new BarkFormatException(_file.Path, $"zip entry '{name}' has a ZIP64 extra field too short for the sizes it must carry; the archive is corrupt.");
        ulong value = BinaryPrimitives.ReadUInt64LittleEndian(field[at..]);
        at += 8;
        return ToInt64(value, $"size or offset of entry '{name}'");
    }

    /// <summary>Where an entry's data starts: after its local header, whose name and extra lengths may differ from the central copy.</summary>
    private long DataOffset(string name, long localOffset, long compressedSize)
    {
        if (localOffset > _file.Length - LocalHeaderSize
            || BinaryPrimitives.ReadUInt32LittleEndian(_file.Span(localOffset, 4)) != LocalHeaderSignature)
            throw new BarkFormatException(_file.Path, $"zip entry '{name}' has no local header at offset {localOffset}; the archive is corrupt or truncated.");
        ReadOnlySpan<byte> local = _file.Span(localOffset, LocalHeaderSize);
        long dataOffset = localOffset + LocalHeaderSize
            + BinaryPrimitives.ReadUInt16LittleEndian(local[26..])
            + BinaryPrimitives.ReadUInt16LittleEndian(local[28..]);
        if (dataOffset + compressedSize > _file.Length)
            throw new BarkFormatException(_file.Path, $"zip entry '{name}' spans bytes {dataOffset}..{dataOffset + compressedSize} but the file has only {_file.Length}; the file is truncated.");
        return dataOffset;
    }

    private long ToInt64(ulong value, string what) => value <= long.MaxValue
        ? (long)value
        : throw new BarkFormatException(_file.Path, $"the zip {what} ({value}) is impossibly large; the archive is corrupt.");
}

/// <summary>One file inside a zip archive.</summary>
/// <param name="Name">The full entry name, e.g. <c>archive/data/0</c>.</param>
/// <param name="Method">The compression method: 0 stored, 8 deflated.</param>
/// <param name="CompressedSize">Bytes the data occupies in the archive.</param>
/// <param name="UncompressedSize">Bytes of the entry's content.</param>
/// <param name="DataOffset">Absolute file offset of the (possibly compressed) data.</param>
internal sealed record ZipEntry(string Name, int Method, long CompressedSize, long UncompressedSize, long DataOffset)
{
    /// <summary>Compression method 0: the data is stored as is.</summary>
    public const int Stored = 0;

    /// <summary>Compression method 8: raw deflate.</summary>
    public const int Deflated = 8;
}
