using System.Text;
using System.Text.Json;
using BarkSharp.Tests.Infrastructure;
using BarkSharp.Tokenization;

namespace BarkSharp.Tests.Tokenization;

public class BarkTokenizerTests
{
    private static readonly Lazy<BarkTokenizer> Tokenizer = new(() => BarkTokenizer.FromPretrained(Fixtures.TinyBark));

    [Fact]
    public void Known_vocabulary_ids()
    {
        BarkTokenizer t = Tokenizer.Value;
        Assert.Equal(0, t.PadTokenId);
        Assert.Equal(100, t.UnknownTokenId);
        Assert.Equal(101, t.ClsTokenId);
        Assert.Equal(102, t.SepTokenId);
        Assert.Equal(512, t.ModelMaxLength);
        Assert.Equal([31178, 11356, 13300, 1873], t.EncodeToIds("Hello world München ♪"));
    }

    [Fact]
    public void Applies_nfc_like_transformers_basic_tokenizer()
    {
        BarkTokenizer t = Tokenizer.Value;
        // Decomposed Latin, conjoining Hangul jamo: NFC composes them.
        Assert.Equal(t.EncodeToIds("Crème brûlée"), t.EncodeToIds("Cre\u0300me bru\u0302le\u0301e"));
        Assert.Equal(t.EncodeToIds("\uAC01"), t.EncodeToIds("\u1100\u1161\u11A8"));
        // ज़ (U+095B) is excluded from composition, so NFC turns it into ज + ◌़.
        Assert.Equal(t.Tokenize("\u091C\u093C"), t.Tokenize("\u095B"));
    }

    [Fact]
    public void Words_over_100_characters_become_unk()
    {
        BarkTokenizer t = Tokenizer.Value;
        Assert.NotEqual(["[UNK]"], t.Tokenize(new string('a', 100)));
        Assert.Equal(["[UNK]"], t.Tokenize(new string('a', 101)));
        // The only astral characters in the vocabulary are CJK ideographs (U+29F7E, U+29F8C), which are split into
        // words of their own, so 100 of them are 100 tokens whatever the unit of the limit.
        string cjk = string.Concat(Enumerable.Repeat("\U00029F7E", 100));
        Assert.Equal(Enumerable.Repeat("\U00029F7E", 100), t.Tokenize(cjk));
    }

    [Fact]
    public void Whitespace_control_and_ill_formed_text()
    {
        BarkTokenizer t = Tokenizer.Value;
        // Python's str.split() also splits at U+2028/U+2029, which survive the control-character cleanup.
        Assert.Equal(t.Tokenize("a b c"), t.Tokenize("a\u2028b\u2029c"));
        // A lone surrogate is dropped, as Python drops category Cs.
        Assert.Equal(t.Tokenize("abcd"), t.Tokenize("ab\uD800cd"));
        Assert.Equal(t.Tokenize("abcd"), t.Tokenize("ab\0\uFFFDc\u0007d"));
        Assert.Empty(t.Tokenize(" \t\r\n\u00A0\u3000\u200B\uFEFF "));
    }

    [Fact]
    public void Literal_special_tokens_are_cut_out_anywhere()
    {
        BarkTokenizer t = Tokenizer.Value;
        Assert.Equal(["a", "[MASK]", "b", "[SEP]"], t.Tokenize("a[MASK]b[SEP]"));
        Assert.Equal([101, 103], t.EncodeToIds("[CLS][MASK]"));
        Assert.Equal(["[", "mask", "]"], t.Tokenize("[mask]"));
    }

    [Fact]
    public void Ascii_symbols_split_but_other_symbols_stay_in_their_word()
    {
        BarkTokenizer t = Tokenizer.Value;
        Assert.Equal(["5", "$", "+", "3", "=", "8", "|", "^", "[UNK]"], t.Tokenize("5$+3=8|^`")); // no "`" in the vocabulary
        Assert.Equal(t.Tokenize("€12"), ["€", "##12"]);
    }

    [Fact]
    public void Tokenizer_json_vocabulary_gives_the_same_ids()
    {
        string dir = Fixtures.TempDir();
        try
        {
            string[] lines = File.ReadAllLines(Path.Combine(Fixtures.TinyBark, "vocab.txt"));
            var vocab = new Dictionary<string, int>();
            for (int i = 0; i < lines.Length; i++) vocab[lines[i]] = i;
            var json = new { version = "1.0", model = new { type = "WordPiece", unk_token = "[UNK]", vocab } };
            File.WriteAllText(Path.Combine(dir, "tokenizer.json"), JsonSerializer.Serialize(json));
            File.Copy(Path.Combine(Fixtures.TinyBark, "tokenizer_config.json"), Path.Combine(dir, "tokenizer_config.json"));

            BarkTokenizer fromJson = BarkTokenizer.FromPretrained(dir);
            const string text = "Guten Tag! 你好，我的名字是小明。 नमस्ते, आप कैसे हैं? I love pizza 🍕 [laughs]";
            Assert.Equal(Tokenizer.Value.EncodeToIds(text), fromJson.EncodeToIds(text));
            Assert.Equal(Tokenizer.Value.EncodeToIds(text), BarkTokenizer.FromVocabularyFile(Path.Combine(Fixtures.Assets, "vocab.txt")).EncodeToIds(text));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Unsupported_or_missing_files_are_reported()
    {
        string dir = Fixtures.TempDir();
        try
        {
            var e = Assert.Throws<BarkFormatException>(() => BarkTokenizer.FromPretrained(dir));
            Assert.Contains("neither vocab.txt nor tokenizer.json", e.Message);

            File.Copy(Path.Combine(Fixtures.TinyBark, "vocab.txt"), Path.Combine(dir, "vocab.txt"));
            File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), """{"do_lower_case": true}""");
            Assert.Contains("do_lower_case", Assert.Throws<BarkConfigException>(() => BarkTokenizer.FromPretrained(dir)).Message);

            File.WriteAllText(Path.Combine(dir, "vocab.txt"), "a\nb\n");
            File.Delete(Path.Combine(dir, "tokenizer_config.json"));
            Assert.Contains("[UNK]", Assert.Throws<BarkFormatException>(() => BarkTokenizer.FromPretrained(dir)).Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Nfc_matches_python_unicodedata()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "Tokenization", "nfc-vectors.txt");
        int checkedLines = 0;
        foreach (string line in File.ReadLines(path))
        {
            if (line.StartsWith('#')) continue;
            string[] parts = line.Split('\t');
            string input = Decode(parts[0]), expected = Decode(parts[1]);
            Assert.True(expected == UnicodeNfc.Normalize(input), $"NFC({parts[0]}) should be {parts[1]}");
            checkedLines++;
        }
        Assert.True(checkedLines > 6000);
    }

    private static string Decode(string hex)
    {
        var sb = new StringBuilder();
        foreach (string cp in hex.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            sb.Append(char.ConvertFromUtf32(Convert.ToInt32(cp, 16)));
        return sb.ToString();
    }
}
