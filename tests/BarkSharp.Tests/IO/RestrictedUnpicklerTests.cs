using BarkSharp.IO;

namespace BarkSharp.Tests.IO;

public class RestrictedUnpicklerTests
{
    // pickle.dumps(v, protocol=2 / 4) by CPython 3 for
    // v = {'a': [2**40, -1, -2**63, 1.5, 'é', (1, 2), (1, 2, 3), True, None, 70000, 300], 'b': 'xxx'}; v['c'] = v['a']
    [Theory]
    [InlineData("80027d71002858010000006171015d7102288a060000000000014affffffff8a080000000000000080473ff80000000000005802000000c3a971034b014b028671044b014b024b03877105884e4a701101004d2c016558010000006271065803000000787878710758010000006371086802752e")]
    [InlineData("8004955a000000000000007d94288c0161945d94288a060000000000014affffffff8a080000000000000080473ff80000000000008c02c3a9944b014b0286944b014b024b038794884e4a701101004d2c01658c0162948c03787878948c0163946802752e")]
    public void Reads_python_pickles_of_plain_values(string hex)
    {
        var root = Assert.IsType<PickleDict>(RestrictedUnpickler.Load("x.pkl", "data.pkl", Convert.FromHexString(hex)));
        Assert.Equal(["a", "b", "c"], root.Items.Select(p => p.Key));
        var list = Assert.IsType<List<object?>>(root.Items[0].Value);
        Assert.Equal(1L << 40, list[0]);
        Assert.Equal(-1L, list[1]);
        Assert.Equal(long.MinValue, list[2]);
        Assert.Equal(1.5, list[3]);
        Assert.Equal("é", list[4]);
        Assert.Equal(new object?[] { 1L, 2L }, list[5]);
        Assert.Equal(new object?[] { 1L, 2L, 3L }, list[6]);
        Assert.Equal(true, list[7]);
        Assert.Null(list[8]);
        Assert.Equal(70000L, list[9]);
        Assert.Equal(300L, list[10]);
        Assert.Equal("xxx", root.Items[1].Value);
        Assert.Same(list, root.Items[2].Value);
    }

    [Fact]
    public void Reads_the_rarer_string_and_memo_opcodes()
    {
        byte[] pickle = new PickleWriter().Proto(4)
            .EmptyList()
            .Raw("Va\\u00e9\\U0001F600b\n"u8).Op('a')                  // UNICODE with escapes, APPEND
            .Op(0x8d).Raw(BitConverter.GetBytes(2UL)).Raw("hi"u8)      // BINUNICODE8
            .Op('r').Raw(BitConverter.GetBytes(70000u)).Op('a')        // LONG_BINPUT
            .Op('j').Raw(BitConverter.GetBytes(70000u)).Op('a')        // LONG_BINGET
            .Op(0x8a).Op(0).Op('a')                                    // LONG1 of zero bytes
            .Op(0x89).Op('a')
            .Stop().ToArray();
        var list = Assert.IsType<List<object?>>(RestrictedUnpickler.Load("x.pkl", "data.pkl", pickle));
        Assert.Equal(["aé😀b", "hi", "hi", 0L, false], list);
    }
}
