using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace BarkSharp.IO;

/// <summary>
/// Reads the <c>data.pkl</c> pickle of a <c>torch.save</c> zip checkpoint into plain descriptor objects, without ever
/// running code. It is a small stack machine over the opcodes a state dict uses (protocols 2 to 5) and accepts only the
/// globals such a pickle needs; any other global is refused with <see cref="BarkUnsafeCheckpointException"/> the moment
/// its opcode is read. The accepted "callables" are C# functions that build descriptors:
/// <list type="bullet">
/// <item><c>collections.OrderedDict</c> — the state dict itself and each tensor's (empty) backward-hook dict;</item>
/// <item><c>torch._utils._rebuild_tensor_v2</c> — every tensor: a view (offset, size, stride) of a storage;</item>
/// <item><c>torch._utils._rebuild_parameter</c> — an <c>nn.Parameter</c> around a tensor (state dicts saved with <c>keep_vars=True</c>);</item>
/// <item><c>torch.&lt;Type&gt;Storage</c> — the element type named inside each storage's persistent id (never called).</item>
/// </list>
/// Values come out as <c>null</c>, <see cref="bool"/>, <see cref="long"/>, <see cref="double"/>, <see cref="string"/>,
/// <c>object?[]</c> (tuple), <see cref="List{T}"/> (list), <see cref="PickleDict"/>, <see cref="TorchStorageRef"/> and
/// <see cref="TorchTensorRef"/>.
/// </summary>
internal sealed class RestrictedUnpickler
{
    private const byte Proto = 0x80, Frame = 0x95, Stop = (byte)'.';
    private const byte EmptyDict = (byte)'}', EmptyList = (byte)']', EmptyTuple = (byte)')', Mark = (byte)'(';
    private const byte BinUnicode = (byte)'X', ShortBinUnicode = 0x8c, BinUnicode8 = 0x8d, Unicode = (byte)'V';
    private const byte BinInt = (byte)'J', BinInt1 = (byte)'K', BinInt2 = (byte)'M', Long1 = 0x8a, BinFloat = (byte)'G';
    private const byte NewTrue = 0x88, NewFalse = 0x89, None = (byte)'N';
    private const byte Tuple = (byte)'t', Tuple1 = 0x85, Tuple2 = 0x86, Tuple3 = 0x87;
    private const byte Global = (byte)'c', StackGlobal = 0x93, Reduce = (byte)'R', Build = (byte)'b';
    private const byte BinPut = (byte)'q', LongBinPut = (byte)'r', Memoize = 0x94, BinGet = (byte)'h', LongBinGet = (byte)'j';
    private const byte SetItem = (byte)'s', SetItems = (byte)'u', Append = (byte)'a', Appends = (byte)'e';
    private const byte BinPersId = (byte)'Q';
    private const int HighestProtocol = 5;

    private static readonly Dictionary<(string Module, string Name), PickleGlobal> Allowed = CreateAllowed();

    private readonly string _path;
    private readonly string _entryName;
    private readonly byte[] _data;
    private readonly List<object?> _stack = [];
    private readonly List<int> _marks = [];
    private readonly Dictionary<long, object?> _memo = [];
    private int _position;
    private int _opcodeOffset;

    private RestrictedUnpickler(string path, string entryName, byte[] data)
    {
        _path = path;
        _entryName = entryName;
        _data = data;
    }

    /// <summary>Unpickles <paramref name="pickle"/> (the contents of zip entry <paramref name="entryName"/> of <paramref name="path"/>).</summary>
    /// <exception cref="BarkUnsafeCheckpointException">The pickle names a global outside the allowed set.</exception>
    /// <exception cref="BarkFormatException">The pickle is truncated, malformed or uses an opcode a state dict never needs.</exception>
    public static object? Load(string path, string entryName, ReadOnlySpan<byte> pickle) =>
        new RestrictedUnpickler(path, entryName, pickle.ToArray()).Run();

    /// <summary>A short description of an unpickled value for error messages.</summary>
    public static string Describe(object? value) => value switch
    {
        null => "None",
        bool b => b ? "True" : "False",
        long n => $"the integer {n}",
        double d => $"the float {d.ToString(CultureInfo.InvariantCulture)}",
        string s => $"the string '{s}'",
        object?[] t => $"a tuple of {t.Length}",
        List<object?> l => $"a list of {l.Count}",
        PickleDict d => $"a dict of {d.Count}",
        TorchTensorRef => "a tensor",
        TorchStorageRef => "a storage",
        PickleGlobal g => $"the global '{g.Module}.{g.Name}'",
        _ => value.GetType().Name,
    };

    private object? Run()
    {
        while (true)
        {
            if (_position >= _data.Length)
                throw Error($"the pickle ends after {_data.Length} bytes without a STOP opcode; the file is truncated.");
            _opcodeOffset = _position;
            byte op = _data[_position++];
            switch (op)
            {
                case Proto:
                    {
                        byte version = ReadByte();
                        if (version > HighestProtocol)
                            throw Error($"pickle protocol {version} is newer than the highest known ({HighestProtocol}).");
                        break;
                    }
                case Frame: Take(8); break;
                case Stop: return Pop();
                case EmptyDict: Push(new PickleDict()); break;
                case EmptyList: Push(new List<object?>()); break;
                case EmptyTuple: Push(Array.Empty<object?>()); break;
                case Mark: _marks.Add(_stack.Count); break;
                case BinUnicode: Push(ReadUtf8(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)))); break;
                case ShortBinUnicode: Push(ReadUtf8(ReadByte())); break;
                case BinUnicode8: Push(ReadUtf8(BinaryPrimitives.ReadUInt64LittleEndian(Take(8)))); break;
                case Unicode: Push(DecodeRawUnicodeEscape(ReadLine())); break;
                case BinInt: Push((long)BinaryPrimitives.ReadInt32LittleEndian(Take(4))); break;
                case BinInt1: Push((long)ReadByte()); break;
                case BinInt2: Push((long)BinaryPrimitives.ReadUInt16LittleEndian(Take(2))); break;
                case Long1: Push(ReadLong(ReadByte())); break;
                case BinFloat: Push(BinaryPrimitives.ReadDoubleBigEndian(Take(8))); break;
                case NewTrue: Push(true); break;
                case NewFalse: Push(false); break;
                case None: Push(null); break;
                case Tuple: Push(PopToMark()); break;
                case Tuple1: Push(PopMany(1)); break;
                case Tuple2: Push(PopMany(2)); break;
                case Tuple3: Push(PopMany(3)); break;
                case Global:
                    {
                        string module = Encoding.UTF8.GetString(ReadLine());
                        string name = Encoding.UTF8.GetString(ReadLine());
                        Push(Resolve(module, name));
                        break;
                    }
                case StackGlobal:
                    {
                        object? name = Pop(), module = Pop();
                        if (module is not string m || name is not string n)
                            throw Error($"STACK_GLOBAL needs two strings but got {Describe(module)} and {Describe(name)}.");
                        Push(Resolve(m, n));
                        break;
                    }
                case Reduce:
                    {
                        object? args = Pop(), callable = Pop();
                        Push(Call(callable, args));
                        break;
                    }
                case Build:
                    {
                        object? state = Pop();
                        ApplyState(Peek(), state);
                        break;
                    }
                case BinPut: _memo[ReadByte()] = Peek(); break;
                case LongBinPut: _memo[BinaryPrimitives.ReadUInt32LittleEndian(Take(4))] = Peek(); break;
                case Memoize: _memo[_memo.Count] = Peek(); break;
                case BinGet: Push(MemoGet(ReadByte())); break;
                case LongBinGet: Push(MemoGet(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)))); break;
                case SetItem:
                    {
                        object? value = Pop(), key = Pop();
                        DictOnTop().Set(Key(key), value);
                        break;
                    }
                case SetItems:
                    {
                        object?[] items = PopToMark();
                        if (items.Length % 2 != 0)
                            throw Error($"SETITEMS has an odd number ({items.Length}) of keys and values.");
                        PickleDict dict = DictOnTop();
                        for (int i = 0; i < items.Length; i += 2)
                            dict.Set(Key(items[i]), items[i + 1]);
                        break;
                    }
                case Append:
                    {
                        object? value = Pop();
                        ListOnTop().Add(value);
                        break;
                    }
                case Appends:
                    {
                        object?[] items = PopToMark();
                        ListOnTop().AddRange(items);
                        break;
                    }
                case BinPersId: Push(LoadPersistent(Pop())); break;
                default:
                    throw Error($"opcode 0x{op:X2}{Printable(op)} is not one a torch state dict uses, so it is not supported; the file is corrupt or is not a plain state dict.");
            }
        }
    }

    private static Dictionary<(string, string), PickleGlobal> CreateAllowed()
    {
        var allowed = new Dictionary<(string, string), PickleGlobal>
        {
            [("collections", "OrderedDict")] = new("collections", "OrderedDict", PickleGlobalKind.OrderedDict),
            [("torch._utils", "_rebuild_tensor_v2")] = new("torch._utils", "_rebuild_tensor_v2", PickleGlobalKind.RebuildTensor),
            [("torch._utils", "_rebuild_parameter")] = new("torch._utils", "_rebuild_parameter", PickleGlobalKind.RebuildParameter),
        };
        (string Name, DType Type)[] storages =
        [
            ("FloatStorage", DType.Float32), ("HalfStorage", DType.Float16), ("BFloat16Storage", DType.BFloat16),
            ("DoubleStorage", DType.Float64), ("LongStorage", DType.Int64), ("IntStorage", DType.Int32),
            ("ShortStorage", DType.Int16), ("CharStorage", DType.Int8), ("ByteStorage", DType.UInt8), ("BoolStorage", DType.Bool),
        ];
        foreach ((string name, DType type) in storages)
            allowed[("torch", name)] = new PickleGlobal("torch", name, PickleGlobalKind.StorageType, type);
        return allowed;
    }

    private PickleGlobal Resolve(string module, string name) =>
        Allowed.TryGetValue((module, name), out PickleGlobal? global)
            ? global
            : throw new BarkUnsafeCheckpointException(_path, module, name);

    private object Call(object? callable, object? arguments)
    {
        if (callable is not PickleGlobal function)
            throw Error($"REDUCE applies {Describe(callable)}, which is not callable.");
        if (arguments is not object?[] args)
            throw Error($"REDUCE calls '{function.Module}.{function.Name}' with {Describe(arguments)} instead of an argument tuple.");
        switch (function.Kind)
        {
            case PickleGlobalKind.OrderedDict when args.Length == 0:
                return new PickleDict();
            case PickleGlobalKind.RebuildTensor when args.Length is 6 or 7:
                return RebuildTensor(args);
            case PickleGlobalKind.RebuildParameter when args.Length == 3 && args[0] is TorchTensorRef tensor:
                return tensor;
            case PickleGlobalKind.StorageType:
                throw Error($"the pickle calls '{function.Module}.{function.Name}' directly; a state dict only names storage types inside persistent ids.");
            default:
                throw Error($"'{function.Module}.{function.Name}' is called with unexpected arguments ({string.Join(", ", args.Select(Describe))}).");
        }
    }

    /// <summary><c>_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])</c>.</summary>
    private TorchTensorRef RebuildTensor(object?[] args)
    {
        if (args[0] is not TorchStorageRef storage || args[1] is not long offset || offset < 0
            || args[2] is not object?[] size || args[3] is not object?[] stride || size.Length != stride.Length
            || args[5] is not PickleDict)
            throw Error($"_rebuild_tensor_v2 expects (storage, offset, size, stride, requires_grad, backward_hooks) but got ({string.Join(", ", args.Select(Describe))}).");
        return new TorchTensorRef(storage, offset, Dimensions(size, "size"), Dimensions(stride, "stride"));
    }

    private long[] Dimensions(object?[] values, string what)
    {
        var result = new long[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            if (values[i] is not long v || v < 0)
                throw Error($"a tensor {what} holds {Describe(values[i])}; non-negative integers were expected.");
            result[i] = v;
        }
        return result;
    }

    /// <summary>A storage reference: the tuple <c>('storage', storage_type, key, location, numel)</c>.</summary>
    private TorchStorageRef LoadPersistent(object? pid)
    {
        if (pid is object?[] { Length: 5 } t && t[0] is "storage"
            && t[1] is PickleGlobal { Kind: PickleGlobalKind.StorageType } type
            && t[2] is string key && t[3] is string location && t[4] is long count && count >= 0)
            return new TorchStorageRef(key, type.StorageType, count, location);
        string shown = pid is object?[] items ? "(" + string.Join(", ", items.Select(Describe)) + ")" : Describe(pid);
        throw Error($"persistent id {shown} is not a torch storage reference ('storage', storage_type, key, location, numel).");
    }

    /// <summary>BUILD on a dict carries instance attributes (a state dict's <c>_metadata</c> of module versions), which are not needed.</summary>
    private void ApplyState(object? target, object? state)
    {
        if (target is PickleDict && state is PickleDict or null)
            return;
        throw Error($"BUILD sets {Describe(state)} as the state of {Describe(target)}; a state dict only sets attributes of dicts.");
    }

    private object Key(object? key) => key switch
    {
        string or long or bool or double => key,
        _ => throw Error($"a dict key is {Describe(key)}; only strings and numbers are supported as keys."),
    };

    private BarkFormatException Error(string message) =>
        new(_path, $"pickle '{_entryName}' at offset {_opcodeOffset}: {message}");

    private static string Printable(byte op) => op is >= 0x20 and < 0x7f ? $" ('{(char)op}')" : "";

    private void Push(object? value) => _stack.Add(value);

    private object? Peek()
    {
        int floor = _marks.Count > 0 ? _marks[^1] : 0;
        if (_stack.Count <= floor)
            throw Error("an opcode needs a value but the stack is empty; the pickle is corrupt.");
        return _stack[^1];
    }

    private object? Pop()
    {
        object? value = Peek();
        _stack.RemoveAt(_stack.Count - 1);
        return value;
    }

    private object?[] PopMany(int count)
    {
        var items = new object?[count];
        for (int i = count - 1; i >= 0; i--)
            items[i] = Pop();
        return items;
    }

    private object?[] PopToMark()
    {
        if (_marks.Count == 0)
            throw Error("an opcode needs a MARK but none is set; the pickle is corrupt.");
        int mark = _marks[^1];
        _marks.RemoveAt(_marks.Count - 1);
        object?[] items = _stack.GetRange(mark, _stack.Count - mark).ToArray();
        _stack.RemoveRange(mark, _stack.Count - mark);
        return items;
    }

    private PickleDict DictOnTop() => Peek() as PickleDict
        ?? throw Error($"SETITEM(S) targets {Describe(Peek())}, not a dict.");

    private List<object?> ListOnTop() => Peek() as List<object?>
        ?? throw Error($"APPEND(S) targets {Describe(Peek())}, not a list.");

    private object? MemoGet(long index) => _memo.TryGetValue(index, out object? value)
        ? value
        : throw Error($"memo slot {index} is read before it is written; the pickle is corrupt.");

    private ReadOnlySpan<byte> Take(ulong count)
    {
        if (count > (ulong)(_data.Length - _position))
            throw Error($"the opcode needs {count} more bytes but only {_data.Length - _position} remain; the pickle is truncated.");
        ReadOnlySpan<byte> bytes = _data.AsSpan(_position, (int)count);
        _position += (int)count;
        return bytes;
    }

    private byte ReadByte() => Take(1)[0];

    private ReadOnlySpan<byte> ReadLine()
    {
        int length = _data.AsSpan(_position).IndexOf((byte)'\n');
        if (length < 0)
            throw Error("a text argument has no terminating newline; the pickle is truncated.");
        ReadOnlySpan<byte> line = Take((ulong)length);
        _position++;
        return line;
    }

    private string ReadUtf8(ulong length)
    {
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(Take(length));
        }
        catch (DecoderFallbackException e)
        {
            throw new BarkFormatException(_path, $"pickle '{_entryName}' at offset {_opcodeOffset}: a string is not valid UTF-8; the pickle is corrupt.", e);
        }
    }

    /// <summary>LONG1: a little-endian two's-complement integer of <paramref name="length"/> bytes.</summary>
    private long ReadLong(int length)
    {
        ReadOnlySpan<byte> bytes = Take((ulong)length);
        if (length > 8)
            throw Error($"an integer of {length} bytes does not fit in 64 bits.");
        if (length == 0)
            return 0;
        long value = (sbyte)bytes[length - 1];
        for (int i = length - 2; i >= 0; i--)
            value = (value << 8) | bytes[i];
        return value;
    }

    /// <summary>The UNICODE argument: Latin-1 bytes with <c>\uXXXX</c> and <c>\UXXXXXXXX</c> escapes.</summary>
    private string DecodeRawUnicodeEscape(ReadOnlySpan<byte> text)
    {
        var builder = new StringBuilder(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            int digits = text[i] == '\\' && i + 1 < text.Length ? text[i + 1] switch { (byte)'u' => 4, (byte)'U' => 8, _ => 0 } : 0;
            if (digits == 0)
            {
                builder.Append((char)text[i]);
                continue;
            }
            if (i + 2 + digits > text.Length
                || !int.TryParse(Encoding.ASCII.GetString(text.Slice(i + 2, digits)), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int codePoint)
                || codePoint is < 0 or > 0x10FFFF)
                throw Error("a UNICODE string has a malformed \\u escape.");
            builder.Append(char.ConvertFromUtf32(codePoint));
            i += 1 + digits;
        }
        return builder.ToString();
    }
}

/// <summary>What an accepted global stands for.</summary>
internal enum PickleGlobalKind
{
    /// <summary><c>collections.OrderedDict</c>.</summary>
    OrderedDict,
    /// <summary><c>torch._utils._rebuild_tensor_v2</c>.</summary>
    RebuildTensor,
    /// <summary><c>torch._utils._rebuild_parameter</c>.</summary>
    RebuildParameter,
    /// <summary>A typed storage class such as <c>torch.FloatStorage</c>.</summary>
    StorageType,
}

/// <summary>A Python global the unpickler accepted.</summary>
/// <param name="Module">The module, e.g. <c>torch</c>.</param>
/// <param name="Name">The attribute, e.g. <c>FloatStorage</c>.</param>
/// <param name="Kind">What it stands for.</param>
/// <param name="StorageType">The element type, for <see cref="PickleGlobalKind.StorageType"/>.</param>
internal sealed record PickleGlobal(string Module, string Name, PickleGlobalKind Kind, DType StorageType = default);

/// <summary>A torch storage named by a persistent id: the zip entry <c>data/&lt;Key&gt;</c> holding <see cref="ElementCount"/> elements.</summary>
/// <param name="Key">The storage's file name under <c>data/</c>.</param>
/// <param name="DType">The element type of the storage class.</param>
/// <param name="ElementCount">The number of elements the storage holds.</param>
/// <param name="Location">The device it was saved from (e.g. <c>cpu</c>, <c>cuda:0</c>); the bytes are the same.</param>
internal sealed record TorchStorageRef(string Key, DType DType, long ElementCount, string Location);

/// <summary>A tensor: a strided view of a storage, offsets and strides in elements.</summary>
/// <param name="Storage">The storage viewed.</param>
/// <param name="StorageOffset">The element index of the first element.</param>
/// <param name="Size">The shape.</param>
/// <param name="Stride">The element step of each dimension.</param>
internal sealed record TorchTensorRef(TorchStorageRef Storage, long StorageOffset, long[] Size, long[] Stride);

/// <summary>A Python dict or OrderedDict, in insertion order.</summary>
internal sealed class PickleDict
{
    private readonly List<KeyValuePair<object, object?>> _items = [];
    private readonly Dictionary<object, int> _index = [];

    /// <summary>The number of items.</summary>
    public int Count => _items.Count;

    /// <summary>The items in insertion order.</summary>
    public IReadOnlyList<KeyValuePair<object, object?>> Items => _items;

    /// <summary>Sets a key as Python does: a new key goes last, an existing key keeps its place.</summary>
    public void Set(object key, object? value)
    {
        if (_index.TryGetValue(key, out int at))
        {
            _items[at] = new(key, value);
            return;
        }
        _index.Add(key, _items.Count);
        _items.Add(new(key, value));
    }
}
