using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace BarkSharp.Benchmarks;

/// <summary>
/// Writes a model folder with random weights in the real hub layout (every key and shape of suno/bark-small or
/// suno/bark as tests/fixtures/state-dict-layout.md lists them), so loading, memory and the CLI can be measured at the
/// real size without a download. The tokenizer files and presets are copied from the tiny fixture.
/// </summary>
internal static partial class RandomCheckpoint
{
    public static void Write(string folder, string layoutPath, string tinyFolder, bool large)
    {
        Directory.CreateDirectory(folder);
        string section = large ? "### suno/bark:" : "### suno/bark-small:";
        var entries = new List<(string Key, long[] Shape, string DType)>();
        bool inSection = false;
        foreach (string line in File.ReadLines(layoutPath))
        {
            if (line.StartsWith("### ", StringComparison.Ordinal)) inSection = line.StartsWith(section, StringComparison.Ordinal);
            if (!inSection) continue;
            Match m = Row().Match(line);
            if (!m.Success) continue;
            string pattern = m.Groups[1].Value;
            int count = int.Parse(m.Groups[2].Value);
            long[] shape = m.Groups[3].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(long.Parse).ToArray();
            string dtype = m.Groups[4].Value;
            if (pattern.Contains("lm_heads")) continue;                       // tied: safetensors omits them
            for (int i = 0; i < count; i++) entries.Add((pattern.Replace("{i}", i.ToString()), shape, dtype));
        }

        var rng = new Random(1);
        var header = new Dictionary<string, object>();
        long offset = 0;
        foreach (var (key, shape, dtype) in entries)
        {
            long bytes = shape.Aggregate(1L, (a, b) => a * b) * (dtype == "bool" ? 1 : 4);
            header[key] = new { dtype = dtype == "bool" ? "BOOL" : "F32", shape, data_offsets = new[] { offset, offset + bytes } };
            offset += bytes;
        }
        byte[] json = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(header));
        using (var f = new FileStream(Path.Combine(folder, "model.safetensors"), FileMode.Create))
        {
            Span<byte> len = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)json.Length);
            f.Write(len);
            f.Write(json);
            var buffer = new byte[1 << 20];
            foreach (var (key, shape, dtype) in entries)
            {
                long count = shape.Aggregate(1L, (a, b) => a * b);
                float std = key.Contains("embeds") ? 1f : key.EndsWith("weight_g") ? 1f : 1f / MathF.Sqrt(Math.Max(1, shape[^1]));
                bool ones = key.Contains("layernorm") && key.EndsWith("weight");
                for (long done = 0; done < count;)
                {
                    int n = (int)Math.Min(count - done, dtype == "bool" ? buffer.Length : buffer.Length / 4);
                    if (dtype == "bool") buffer.AsSpan(0, n).Fill(1);
                    else
                        for (int i = 0; i < n; i++)
                            BinaryPrimitives.WriteSingleLittleEndian(buffer.AsSpan(i * 4), ones ? 1f : std * (2 * rng.NextSingle() - 1));
                    f.Write(buffer, 0, dtype == "bool" ? n : n * 4);
                    done += n;
                }
            }
        }
        int hidden = large ? 1024 : 768, layers = large ? 24 : 12, heads = large ? 16 : 12;
        string Sub(int input, int output, string type, string extra = "") =>
            $"\"{type}\": {{\"model_type\": \"{type.Replace("_config", "")}\", \"hidden_size\": {hidden}, \"num_layers\": {layers}, \"num_heads\": {heads}, \"input_vocab_size\": {input}, \"output_vocab_size\": {output}, \"block_size\": 1024, \"bias\": false{extra}}}";
        File.WriteAllText(Path.Combine(folder, "config.json"),
            $"{{\"model_type\": \"bark\", {Sub(129_600, 10_048, "semantic_config")}, {Sub(12_096, 12_096, "coarse_acoustics_config")}, " +
            $"{Sub(1_056, 1_056, "fine_acoustics_config", ", \"n_codes_total\": 8, \"n_codes_given\": 1")}, \"codec_config\": {{\"model_type\": \"encodec\"}}}}");
        foreach (string name in new[] { "generation_config.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json", "speaker_embeddings_path.json" })
            File.Copy(Path.Combine(tinyFolder, name), Path.Combine(folder, name), overwrite: true);
        CopyDirectory(Path.Combine(tinyFolder, "speaker_embeddings"), Path.Combine(folder, "speaker_embeddings"));
        Console.WriteLine($"wrote {folder}: {entries.Count} tensors, {offset / 1e9:F2} GB");
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string file in Directory.GetFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)), overwrite: true);
        foreach (string dir in Directory.GetDirectories(from)) CopyDirectory(dir, Path.Combine(to, Path.GetFileName(dir)));
    }

    [GeneratedRegex(@"^\| `([^`]+)` \| (\d+) \| \[([0-9, ]+)\] \| (\w+) \|")]
    private static partial Regex Row();
}
