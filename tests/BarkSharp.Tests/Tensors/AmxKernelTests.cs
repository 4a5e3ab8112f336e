using System.Runtime.InteropServices;
using BarkSharp.Tensors;
using BarkSharp.Tensors.Jit;
using Iced.Intel;

namespace BarkSharp.Tests.Tensors;

/// <summary>
/// The AMX kernels, which no machine of this project can run: their instruction streams are decoded with Iced and
/// executed by a small interpreter of exactly those instructions (tile configuration, <c>tileloadd</c> with its
/// stride, <c>tdpbf16ps</c> / <c>tdpbusd</c> as Intel's pseudocode defines them, <c>tilestored</c>), over the packed
/// panels and padded activations, and compared with plain products.
/// </summary>
public class AmxKernelTests
{
    /// <summary>Interprets the handful of instructions the AMX generator emits; anything else fails the test.</summary>
    internal sealed unsafe class Interpreter
    {
        private readonly Dictionary<Register, ulong> _gpr = [];
        private readonly byte[][] _tiles = [.. Enumerable.Range(0, 8).Select(_ => new byte[1024])];
        private readonly int[] _rows = new int[8], _colsb = new int[8];
        private bool _configured, _zero;

        public int TileInstructions { get; private set; }

        public void Run(byte[] code, void* argument, bool windows)
        {
            var decoder = Iced.Intel.Decoder.Create(64, new ByteArrayCodeReader(code));
            var list = new List<Instruction>();
            while (decoder.IP < (ulong)code.Length)
            {
                decoder.Decode(out Instruction i);
                Assert.False(i.IsInvalid);
                list.Add(i);
            }
            var index = list.Select((i, n) => (i.IP, n)).ToDictionary(p => p.IP, p => p.n);
            _gpr[windows ? Register.RCX : Register.RDI] = (ulong)argument;
            for (int pc = 0, steps = 0; ; pc++, steps++)
            {
                Assert.True(steps < 1_000_000, "runaway loop");
                Instruction i = list[pc];
                switch (i.Mnemonic)
                {
                    case Mnemonic.Mov when i.Op1Kind == OpKind.Memory: Set(i.Op0Register, *(ulong*)Address(i)); break;
                    case Mnemonic.Mov when i.Op1Kind == OpKind.Register: Set(i.Op0Register, Get(i.Op1Register)); break;
                    case Mnemonic.Mov: Set(i.Op0Register, i.GetImmediate(1)); break;
                    case Mnemonic.Lea: Set(i.Op0Register, Address(i)); break;
                    case Mnemonic.Add: Arith(i.Op0Register, Get(i.Op0Register) + (i.Op1Kind == OpKind.Register ? Get(i.Op1Register) : i.GetImmediate(1))); break;
                    case Mnemonic.Shl: Arith(i.Op0Register, Get(i.Op0Register) << (int)i.GetImmediate(1)); break;
                    case Mnemonic.Dec: Arith(i.Op0Register, Get(i.Op0Register) - 1); break;
                    case Mnemonic.Test: _zero = (Get(i.Op0Register) & Get(i.Op1Register)) == 0; break;
                    case Mnemonic.Je: if (_zero) pc = index[i.NearBranch64] - 1; break;
                    case Mnemonic.Jne: if (!_zero) pc = index[i.NearBranch64] - 1; break;
                    case Mnemonic.Ldtilecfg: Configure((byte*)Address(i)); break;
                    case Mnemonic.Tilezero: Array.Clear(Tile(i.Op0Register)); break;
                    case Mnemonic.Tileloadd: Load(i); break;
                    case Mnemonic.Tilestored: Store(i); break;
                    case Mnemonic.Tdpbf16ps: DotBf16(i); break;
                    case Mnemonic.Tdpbusd: DotInt8(i); break;
                    case Mnemonic.Tilerelease: _configured = false; break;
                    case Mnemonic.Ret: Assert.False(_configured, "tiles not released"); return;
                    default: throw new InvalidOperationException($"unexpected instruction {i}");
                }
                if (i.Mnemonic is Mnemonic.Tileloadd or Mnemonic.Tilestored or Mnemonic.Tdpbf16ps or Mnemonic.Tdpbusd) TileInstructions++;
            }
        }

        private ulong Get(Register r) => _gpr.TryGetValue(r, out ulong v) ? v : throw new InvalidOperationException($"{r} read before written");

        private void Set(Register r, ulong v)
        {
            Assert.True(r.IsGPR64(), $"{r}");
            Assert.Contains(r, new[] { Register.RAX, Register.RCX, Register.RDX, Register.R8, Register.R9, Register.R10, Register.R11 });
            _gpr[r] = v;
        }

        private void Arith(Register r, ulong v)
        {
            Set(r, v);
            _zero = v == 0;
        }

        private ulong Address(in Instruction i) =>
            (i.MemoryBase == Register.None ? 0 : Get(i.MemoryBase)) + (i.MemoryIndex == Register.None ? 0 : Get(i.MemoryIndex) * (ulong)i.MemoryIndexScale) + i.MemoryDisplacement64;

        /// <summary>tileloadd/tilestored: base + displacement, rows the index register apart.</summary>
        private (ulong Start, ulong Stride) Strided(in Instruction i) => (Get(i.MemoryBase) + i.MemoryDisplacement64, Get(i.MemoryIndex) * (ulong)i.MemoryIndexScale);

        private byte[] Tile(Register r)
        {
            Assert.True(_configured, "tile used before ldtilecfg");
            int t = r - Register.TMM0;
            Assert.True(_rows[t] > 0, $"tmm{t} not configured");
            return _tiles[t];
        }

        private void Configure(byte* c)
        {
            Assert.Equal(1, c[0]);
            for (int t = 0; t < 8; t++)
            {
                _colsb[t] = c[16 + 2 * t] | c[17 + 2 * t] << 8;
                _rows[t] = c[48 + t];
                Assert.InRange(_colsb[t], 0, 64);
                Assert.InRange(_rows[t], 0, 16);
            }
            _configured = true;
        }

        private void Load(in Instruction i)
        {
            int t = i.Op0Register - Register.TMM0;
            byte[] tile = Tile(i.Op0Register);
            (ulong start, ulong stride) = Strided(i);
            for (int r = 0; r < _rows[t]; r++) new ReadOnlySpan<byte>((void*)(start + (ulong)r * stride), _colsb[t]).CopyTo(tile.AsSpan(r * 64));
        }

        private void Store(in Instruction i)
        {
            int t = i.Op1Register - Register.TMM0;
            byte[] tile = Tile(i.Op1Register);
            (ulong start, ulong stride) = Strided(i);
            for (int r = 0; r < _rows[t]; r++) tile.AsSpan(r * 64, _colsb[t]).CopyTo(new Span<byte>((void*)(start + (ulong)r * stride), _colsb[t]));
        }

        /// <summary>Intel's TDPBF16PS: per row m, for each pair k, for each output n, two separately rounded f32 additions.</summary>
        private void DotBf16(in Instruction i)
        {
            int d = i.Op0Register - Register.TMM0, s1 = i.Op1Register - Register.TMM0, s2 = i.Op2Register - Register.TMM0;
            Span<float> c = MemoryMarshal.Cast<byte, float>(Tile(i.Op0Register).AsSpan());
            Span<ushort> a = MemoryMarshal.Cast<byte, ushort>(Tile(i.Op1Register).AsSpan()), b = MemoryMarshal.Cast<byte, ushort>(Tile(i.Op2Register).AsSpan());
            Assert.Equal(_colsb[s1] / 4, _rows[s2]);
            Assert.Equal(_rows[d], _rows[s1]);
            Assert.Equal(_colsb[d], _colsb[s2]);
            for (int m = 0; m < _rows[d]; m++)
                for (int k = 0; k < _colsb[s1] / 4; k++)
                    for (int n = 0; n < _colsb[d] / 4; n++)
                    {
                        c[m * 16 + n] += F(a[m * 32 + 2 * k]) * F(b[k * 32 + 2 * n]);
                        c[m * 16 + n] += F(a[m * 32 + 2 * k + 1]) * F(b[k * 32 + 2 * n + 1]);
                    }

            static float F(ushort v) => BitConverter.Int32BitsToSingle(v << 16);
        }

        /// <summary>Intel's TDPBUSD: u8 (A) × s8 (B) four-byte dot products added to int32.</summary>
        private void DotInt8(in Instruction i)
        {
            int d = i.Op0Register - Register.TMM0, s1 = i.Op1Register - Register.TMM0, s2 = i.Op2Register - Register.TMM0;
            Span<int> c = MemoryMarshal.Cast<byte, int>(Tile(i.Op0Register).AsSpan());
            byte[] a = Tile(i.Op1Register), b = Tile(i.Op2Register);
            Assert.Equal(_colsb[s1] / 4, _rows[s2]);
            for (int m = 0; m < _rows[d]; m++)
                for (int k = 0; k < _colsb[s1] / 4; k++)
                    for (int n = 0; n < _colsb[d] / 4; n++)
                        for (int t = 0; t < 4; t++) c[m * 16 + n] += a[m * 64 + 4 * k + t] * (sbyte)b[k * 64 + 4 * n + t];
        }
    }

    [Theory]
    [InlineData(1, false, 3, 70)]
    [InlineData(2, false, 17, 130)]
    [InlineData(2, true, 32, 64)]
    [InlineData(1, true, 16, 33)]
    public unsafe void The_int8_kernel_computes_the_exact_integer_sums(int rowTiles, bool windows, int n, int cols)
    {
        var rng = new Random(n * 7 + cols);
        int rows = 45;
        var m = WeightMatrix.FromFloat32([.. Enumerable.Range(0, rows * cols).Select(_ => rng.NextSingle() - 0.5f)], rows, cols, null, WeightType.Int8);
        sbyte[] packed = AmxKernels.PackInt8(m);
        int steps = AmxKernels.Steps(JitKernelKind.AmxInt8, cols), width = steps * 64, height = 16 * rowTiles;
        Assert.True(n <= height);
        var q = new byte[height * width];   // zero rows and columns past the data
        for (int i = 0; i < n; i++)
            for (int k = 0; k < cols; k++) q[i * width + k] = (byte)rng.Next(256);
        byte[] config = AmxKernels.TileConfig(rowTiles);
        byte[] code = AmxKernels.Generate(JitKernelKind.AmxInt8, rowTiles, windows);
        for (int panel = 0; panel < m.Panels; panel++)
        {
            var c = new int[height * 32];
            fixed (byte* a = q)
            fixed (sbyte* b = packed)
            fixed (int* pc = c)
            fixed (byte* cfg = config)
            {
                var args = new AmxKernelArgs { A = a, Lda = width, B = b + (long)panel * steps * 2048, Steps = steps, C = pc, Config = cfg };
                var interpreter = new Interpreter();
                interpreter.Run(code, &args, windows);
                Assert.True(interpreter.TileInstructions > steps * 2 * rowTiles);
            }
            for (int i = 0; i < height; i++)
                for (int j = 0; j < 32; j++)
                {
                    int expected = 0, r = panel * 32 + j;
                    if (r < rows)
                        for (int k = 0; k < cols; k++) expected += q[i * width + k] * m.PackedI8![(long)panel * m.KGroups * 128 + k / 4 * 128 + j * 4 + k % 4];
                    Assert.Equal(expected, c[i * 32 + j]);
                }
        }
    }

    [Theory]
    [InlineData(1, false, 5, 34)]
    [InlineData(2, false, 17, 100)]
    [InlineData(2, true, 30, 64)]
    public unsafe void The_bf16_kernel_computes_the_products_within_their_bound(int rowTiles, bool windows, int n, int cols)
    {
        var rng = new Random(n * 5 + cols);
        int rows = 40;
        float[] w = [.. Enumerable.Range(0, rows * cols).Select(_ => rng.NextSingle() - 0.5f)];
        var m = WeightMatrix.FromFloat32(w, rows, cols, null, WeightType.BFloat16);
        ushort[] packed = AmxKernels.PackBf16(m);
        int steps = AmxKernels.Steps(JitKernelKind.AmxBf16, cols), width = steps * 32, height = 16 * rowTiles;
        var x = new ushort[height * width];
        for (int i = 0; i < n; i++)
            for (int k = 0; k < cols; k++) x[i * width + k] = WeightMatrix.ToBFloat16(rng.NextSingle() * 2 - 1);
        byte[] config = AmxKernels.TileConfig(rowTiles);
        byte[] code = AmxKernels.Generate(JitKernelKind.AmxBf16, rowTiles, windows);
        var row = new float[cols];
        for (int panel = 0; panel < m.Panels; panel++)
        {
            var c = new float[height * 32];
            fixed (ushort* a = x)
            fixed (ushort* b = packed)
            fixed (float* pc = c)
            fixed (byte* cfg = config)
            {
                var args = new AmxKernelArgs { A = a, Lda = 2L * width, B = b + (long)panel * steps * 1024, Steps = steps, C = pc, Config = cfg };
                new Interpreter().Run(code, &args, windows);
            }
            for (int j = 0; j < 32 && panel * 32 + j < rows; j++)
            {
                m.CopyRow(panel * 32 + j, row);
                for (int i = 0; i < height; i++)
                {
                    double exact = 0, magnitude = 0;
                    for (int k = 0; k < cols; k++)
                    {
                        double p = (double)BitConverter.Int32BitsToSingle(x[i * width + k] << 16) * row[k];
                        exact += p;
                        magnitude += Math.Abs(p);
                    }
                    Assert.True(Math.Abs(c[i * 32 + j] - exact) <= cols * Math.Pow(2, -23) * magnitude + 1e-30, $"({i}, {j}): {c[i * 32 + j]} vs {exact}");
                }
            }
        }
    }

    [Fact]
    public void The_tile_configuration_names_palette_1_and_every_tile_used()
    {
        byte[] one = AmxKernels.TileConfig(1), two = AmxKernels.TileConfig(2);
        Assert.Equal(64, one.Length);
        Assert.Equal(1, one[0]);
        Assert.Equal(0, one[1]);
        Assert.Equal([16, 16, 0, 0, 16, 0, 16, 16], one[48..56]);
        Assert.Equal([16, 16, 16, 16, 16, 16, 16, 16], two[48..56]);
        Assert.All(Enumerable.Range(0, 8), t => Assert.Equal(two[48 + t] == 0 ? 0 : 64, BitConverter.ToUInt16(two, 16 + 2 * t)));
        Assert.All(one[2..16], b => Assert.Equal(0, b));
        Assert.All(one[56..], b => Assert.Equal(0, b));
    }

    [Fact]
    public void The_packers_pad_the_inputs_to_whole_steps_with_zeros()
    {
        var rng = new Random(3);
        float[] w = [.. Enumerable.Range(0, 33 * 70).Select(_ => rng.NextSingle() - 0.5f)];
        var bf = WeightMatrix.FromFloat32(w, 33, 70, null, WeightType.BFloat16);
        ushort[] p = AmxKernels.PackBf16(bf);
        Assert.Equal(2 * 96 / 2 * 64, p.Length);   // 2 panels × 48 pairs (96 inputs) × 64 values
        Assert.Equal(WeightMatrix.ToBFloat16(w[5 * 70 + 9]), p[(9 / 2) * 64 + 5 * 2 + 1]);
        Assert.Equal(WeightMatrix.ToBFloat16(w[32 * 70 + 68]), p[(48 + 34) * 64 + 0 * 2 + 0]);
        Assert.All(p[(35 * 64)..(48 * 64)], v => Assert.Equal(0, v));   // pairs 35–47 of panel 0 are padding

        var i8 = WeightMatrix.FromFloat32(w, 33, 70, null, WeightType.Int8);
        sbyte[] q = AmxKernels.PackInt8(i8);
        Assert.Equal(2 * 32 * 128, q.Length);   // 70 inputs → 18 groups → 2 steps of 16 groups
        Assert.Equal(i8.PackedI8![18 * 128 + 7], q[32 * 128 + 7]);   // panel 1 starts after panel 0's padded groups
        Assert.All(q[(18 * 128)..(32 * 128)], v => Assert.Equal(0, v));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_instruction_streams_configure_compute_and_release(bool windows)
    {
        foreach (JitKernelKind kind in new[] { JitKernelKind.AmxBf16, JitKernelKind.AmxInt8 })
            for (int rowTiles = 1; rowTiles <= 2; rowTiles++)
            {
                var decoder = Iced.Intel.Decoder.Create(64, new ByteArrayCodeReader(AmxKernels.Generate(kind, rowTiles, windows)));
                var code = new List<Instruction>();
                while (decoder.Decode() is { IsInvalid: false } i && code.Count < 200)
                {
                    code.Add(i);
                    if (i.Mnemonic == Mnemonic.Ret) break;
                }
                Assert.Equal(windows ? Register.RCX : Register.RDI, code[0].Op1Register);
                Assert.Equal(Mnemonic.Ldtilecfg, code[2].Mnemonic);
                Mnemonic dot = kind == JitKernelKind.AmxBf16 ? Mnemonic.Tdpbf16ps : Mnemonic.Tdpbusd;
                Assert.Equal(2 * rowTiles, code.Count(i => i.Mnemonic == dot));
                Assert.Equal(2 * rowTiles, code.Count(i => i.Mnemonic == Mnemonic.Tilestored));
                Assert.Equal(2 + rowTiles, code.Count(i => i.Mnemonic == Mnemonic.Tileloadd));
                Assert.Equal(Mnemonic.Tilerelease, code[^2].Mnemonic);
                Assert.Equal(Mnemonic.Ret, code[^1].Mnemonic);
            }
    }
}
