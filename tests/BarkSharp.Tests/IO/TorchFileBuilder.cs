using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace BarkSharp.Tests.IO;

/// <summary>Writes pickle opcodes by hand, so tests can craft state dicts (and hostile pickles) without Python.</summary>
internal sealed class PickleWriter
{
    private readonly List<byte> _bytes = [];

    public PickleWriter Op(byte op)
    {
        _bytes.Add(op);
        return this;
    }

    public PickleWriter Op(char op) => Op((byte)op);

    public PickleWriter Proto(int version = 2) => Op(0x80).Op((byte)version);

    /// <summary>BINUNICODE.</summary>
    public PickleWriter Str(string s)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(s);
        Op('X').Raw(BitConverter.GetBytes((uint)utf8.Length));
        return Raw(utf8);
    }

    /// <summary>SHORT_BINUNICODE (protocol 4).</summary>
    public PickleWriter ShortStr(string s)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(s);
        return Op(0x8c).Op((byte)utf8.Length).Raw(utf8);
    }

    /// <summary>BININT.</summary>
    public PickleWriter Int(long v) => Op('J').Raw(BitConverter.GetBytes(checked((int)v)));

    public PickleWriter Global(string module, string name) => Op('c').Raw(Encoding.UTF8.GetBytes($"{module}\n{name}\n"));

    public PickleWriter StackGlobal(string module, string name) => ShortStr(module).ShortStr(name).Op(0x93);

    public PickleWriter Mark() => Op('(');

    public PickleWriter Tuple() => Op('t');

    public PickleWriter Tuple1() => Op(0x85);

    public PickleWriter EmptyTuple() => Op(')');

    public PickleWriter EmptyDict() => Op('}');

    public PickleWriter EmptyList() => Op(']');

    public PickleWriter Reduce() => Op('R');

    public PickleWriter Build() => Op('b');

    public PickleWriter SetItem() => Op('s');

    public PickleWriter SetItems() => Op('u');

    public PickleWriter False() => Op(0x89);

    public PickleWriter Stop() => Op('.');

    public PickleWriter Raw(ReadOnlySpan<byte> bytes)
    {
        foreach (byte b in bytes) _bytes.Add(b);
        return this;
    }

    public PickleWriter IntTuple(params long[] values)
    {
        Mark();
        foreach (long v in values) Int(v);
        return Tuple();
    }

    /// <summary>An empty <c>collections.OrderedDict()</c>.</summary>
    public PickleWriter OrderedDict() => Global("collections", "OrderedDict").EmptyTuple().Reduce();

    /// <summary><c>_rebuild_tensor_v2(('storage', torch.&lt;storageType&gt;, key, 'cpu', numel), offset, size, stride, False, OrderedDict())</c>.</summary>
    public PickleWriter Tensor(string storageType, string key, long numel, long offset, long[] size, long[] stride) =>
        Global("torch._utils", "_rebuild_tensor_v2").Mark()
            .Mark().Str("storage").Global("torch", storageType).Str(key).Str("cpu").Int(numel).Tuple().Op('Q')
            .Int(offset).IntTuple(size).IntTuple(stride).False().OrderedDict()
            .Tuple().Reduce();

    public byte[] ToArray() => [.. _bytes];

    /// <summary>A protocol-2 plain dict <c>{key: value, ...}</c> whose values are written by the callbacks.</summary>
    public static byte[] StateDict(params (string Key, Action<PickleWriter> Value)[] items)
    {
        var w = new PickleWriter().Proto().EmptyDict().Mark();
        foreach ((string key, Action<PickleWriter> value) in items)
        {
            w.Str(key);
            value(w);
        }
        return w.SetItems().Stop().ToArray();
    }
}

/// <summary>Writes zip archives by hand (stored, deflated or an arbitrary method; optionally with ZIP64 records everywhere).</summary>
internal static class ZipWriter
{
    /// <summary>A torch.save-style archive: <c>archive/data.pkl</c>, <c>archive/data/&lt;key&gt;</c>, <c>archive/version</c>.</summary>
    public static byte[] TorchArchive(byte[] pickle, params (string Key, byte[] Data)[] storages)
    {
        var entries = new List<(string, byte[])> { ("archive/data.pkl", pickle) };
        foreach ((string key, byte[] data) in storages) entries.Add(("archive/data/" + key, data));
        entries.Add(("archive/version", "3\n"u8.ToArray()));
        return Build(entries);
    }

    public static byte[] Build(IEnumerable<(string Name, byte[] Data)> entries, bool zip64 = false, Func<string, ushort>? method = null)
    {
        using var output = new MemoryStream();
        var w = new BinaryWriter(output);
        var central = new List<(byte[] Name, ushort Method, uint Crc, long CompressedSize, long Size, long Offset)>();
        foreach ((string name, byte[] data) in entries)
        {
            ushort m = method?.Invoke(name) ?? 0;
            byte[] stored = m == 8 ? Deflate(data) : data;
            byte[] nameBytes = Encoding.UTF8.GetBytes(name);
            uint crc = Crc32(data);
            long offset = output.Position;
            w.Write(0x04034b50u);
            w.Write((ushort)(zip64 ? 45 : 20));
            w.Write((ushort)0);
            w.Write(m);
            w.Write((ushort)0);
            w.Write((ushort)0x21);
            w.Write(crc);
            w.Write(zip64 ? uint.MaxValue : (uint)stored.Length);
            w.Write(zip64 ? uint.MaxValue : (uint)data.Length);
            w.Write((ushort)nameBytes.Length);
            w.Write((ushort)(zip64 ? 20 : 0));
            w.Write(nameBytes);
            if (zip64)
            {
                w.Write((ushort)1);
                w.Write((ushort)16);
                w.Write((ulong)data.Length);
                w.Write((ulong)stored.Length);
            }
            w.Write(stored);
            central.Add((nameBytes, m, crc, stored.Length, data.Length, offset));
        }

        long directoryOffset = output.Position;
        foreach (var e in central)
        {
            w.Write(0x02014b50u);
            w.Write((ushort)45);
            w.Write((ushort)(zip64 ? 45 : 20));
            w.Write((ushort)0);
            w.Write(e.Method);
            w.Write((ushort)0);
            w.Write((ushort)0x21);
            w.Write(e.Crc);
            w.Write(zip64 ? uint.MaxValue : (uint)e.CompressedSize);
            w.Write(zip64 ? uint.MaxValue : (uint)e.Size);
            w.Write((ushort)e.Name.Length);
            w.Write((ushort)(zip64 ? 28 : 0));
            w.Write((ushort)0);
            w.Write((ushort)0);
            w.Write((ushort)0);
            w.Write(0u);
            w.Write(zip64 ? uint.MaxValue : (uint)e.Offset);
            w.Write(e.Name);
            if (zip64)
            {
                w.Write((ushort)1);
                w.Write((ushort)24);
                w.Write((ulong)e.Size);
                w.Write((ulong)e.CompressedSize);
                w.Write((ulong)e.Offset);
            }
        }
        long directorySize = output.Position - directoryOffset;

        if (zip64)
        {
            long recordOffset = output.Position;
            w.Write(0x06064b50u);
            w.Write(44UL);
            w.Write((ushort)45);
            w.Write((ushort)45);
            w.Write(0u);
            w.Write(0u);
            w.Write((ulong)central.Count);
            w.Write((ulong)central.Count);
            w.Write((ulong)directorySize);
            w.Write((ulong)directoryOffset);
            w.Write(0x07064b50u);
            w.Write(0u);
            w.Write((ulong)recordOffset);
            w.Write(1u);
        }
        w.Write(0x06054b50u);
        w.Write((ushort)0);
        w.Write((ushort)0);
        w.Write(zip64 ? ushort.MaxValue : (ushort)central.Count);
        w.Write(zip64 ? ushort.MaxValue : (ushort)central.Count);
        w.Write(zip64 ? uint.MaxValue : (uint)directorySize);
        w.Write(zip64 ? uint.MaxValue : (uint)directoryOffset);
        w.Write((ushort)0);
        w.Flush();
        return output.ToArray();
    }

    /// <summary>Every entry of a zip archive, read with System.IO.Compression.</summary>
    public static List<(string Name, byte[] Data)> ReadAll(string path)
    {
        using ZipArchive archive = ZipFile.OpenRead(path);
        var result = new List<(string, byte[])>();
        foreach (ZipArchiveEntry entry in archive.Entries)
        {
            using Stream s = entry.Open();
            using var copy = new MemoryStream();
            s.CopyTo(copy);
            result.Add((entry.FullName, copy.ToArray()));
        }
        return result;
    }

    private static byte[] Deflate(byte[] data)
    {
        using var output = new MemoryStream();
        using (var deflate = new DeflateStream(output, CompressionLevel.Optimal, leaveOpen: true))
            deflate.Write(data);
        return output.ToArray();
    }

    private static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint crc = uint.MaxValue;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & (uint)-(int)(crc & 1));
        }
        return ~crc;
    }
}

/// <summary>Little-endian float32 bytes.</summary>
internal static class Floats
{
    public static byte[] Bytes(params float[] values)
    {
        var bytes = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), values[i]);
        return bytes;
    }
}
