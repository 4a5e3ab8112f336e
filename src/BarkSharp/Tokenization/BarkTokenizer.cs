using System.Globalization;
using System.Text;
using System.Text.Json;
using BarkSharp.Configuration;
using Microsoft.ML.Tokenizers;

namespace BarkSharp.Tokenization;

/// <summary>
/// Bark's text tokenizer: <c>bert-base-multilingual-cased</c> WordPiece exactly as Transformers' (slow) <c>BertTokenizer</c>
/// runs it inside <c>BarkProcessor</c> — case and accents kept, CJK ideographs split, punctuation split, control and
/// format characters removed, whitespace normalized, NFC applied, <c>[UNK]</c> for a word WordPiece cannot cover or one
/// longer than 100 characters. Literal special tokens in the text (<c>[MASK]</c>, <c>[SEP]</c>, <c>[CLS]</c>,
/// <c>[UNK]</c>, <c>[PAD]</c>, case-sensitive) become their ids, as in Transformers.
/// </summary>
/// <remarks>
/// The word splitting (Transformers' <c>BasicTokenizer</c>) is BarkSharp's own code, because no pre-tokenizer of
/// Microsoft.ML.Tokenizers reproduces it (its BERT pre-tokenizer drops symbols such as ♪, $, + and emoji, and it has no
/// NFC step). The greedy longest-match WordPiece step is Microsoft.ML.Tokenizers' <see cref="WordPieceTokenizer"/>, run on
/// one word at a time; the 100-character limit is applied here in code points, as Python counts, rather than in UTF-16
/// units. Instances are immutable and thread-safe.
/// </remarks>
internal sealed class BarkTokenizer
{
    /// <summary>Transformers' <c>max_input_chars_per_word</c>: longer words become <c>[UNK]</c>.</summary>
    public const int MaxInputCharsPerWord = 100;

    private const string ContinuingSubwordPrefix = "##";
    private static readonly string[] BertSpecialTokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

    private readonly WordPieceTokenizer _wordPiece;
    private readonly BasicTokenizer _basic;
    private readonly Dictionary<string, int> _specialIds;
    private readonly string[] _specialTokensLongestFirst;

    private BarkTokenizer(WordPieceTokenizer wordPiece, TokenizerSettings settings)
    {
        _wordPiece = wordPiece;
        _specialIds = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach ((string token, int? id) in settings.SpecialTokens)
            _specialIds[token] = id ?? LookUp(token) ?? throw new BarkFormatException(settings.Source, $"the special token '{token}' is not in the vocabulary.");
        _specialTokensLongestFirst = [.. _specialIds.Keys.OrderByDescending(t => t.Length).ThenBy(t => t, StringComparer.Ordinal)];
        _basic = new BasicTokenizer(settings.TokenizeChineseChars, settings.StripAccents, _specialIds.Keys.ToHashSet(StringComparer.Ordinal));

        UnknownToken = settings.UnknownToken;
        UnknownTokenId = IdOf(settings.UnknownToken, settings.Source);
        PadTokenId = IdOf(settings.PadToken, settings.Source);
        ClsTokenId = IdOf(settings.ClsToken, settings.Source);
        SepTokenId = IdOf(settings.SepToken, settings.Source);
        ModelMaxLength = settings.ModelMaxLength;
    }

    /// <summary>The unknown token, <c>[UNK]</c> for Bark.</summary>
    public string UnknownToken { get; }

    /// <summary>Id of the unknown token (100 in Bark's vocabulary).</summary>
    public int UnknownTokenId { get; }

    /// <summary>Id of the padding token (0 in Bark's vocabulary).</summary>
    public int PadTokenId { get; }

    /// <summary>Id of <c>[CLS]</c> (101), added in front only when special tokens are requested.</summary>
    public int ClsTokenId { get; }

    /// <summary>Id of <c>[SEP]</c> (102), added at the end only when special tokens are requested.</summary>
    public int SepTokenId { get; }

    /// <summary>The tokenizer's <c>model_max_length</c> (512 for Bark), informational: <see cref="BarkProcessor"/> already warns when a text exceeds the 256 ids the semantic model reads.</summary>
    public int ModelMaxLength { get; }

    /// <summary>
    /// Loads the tokenizer of a Hugging Face model folder: <c>vocab.txt</c> (or, without it, the vocabulary inside
    /// <c>tokenizer.json</c>) and the settings of <c>tokenizer_config.json</c> when present.
    /// </summary>
    /// <exception cref="BarkFormatException">The vocabulary is missing or malformed.</exception>
    /// <exception cref="BarkConfigException"><c>tokenizer_config.json</c> is malformed or asks for a variant BarkSharp does not implement (lower-casing).</exception>
    public static BarkTokenizer FromPretrained(string modelFolder)
    {
        string vocabPath = Path.Combine(modelFolder, "vocab.txt");
        string tokenizerJsonPath = Path.Combine(modelFolder, "tokenizer.json");
        string configPath = Path.Combine(modelFolder, "tokenizer_config.json");
        TokenizerSettings settings = File.Exists(configPath) ? TokenizerSettings.Read(configPath) : TokenizerSettings.Bark(vocabPath);

        if (File.Exists(vocabPath))
        {
            using FileStream stream = File.OpenRead(vocabPath);
            return Create(stream, vocabPath, settings);
        }
        if (File.Exists(tokenizerJsonPath))
        {
            using MemoryStream stream = VocabularyFromTokenizerJson(tokenizerJsonPath);
            return Create(stream, tokenizerJsonPath, settings);
        }
        throw new BarkFormatException(vocabPath, "the model folder has neither vocab.txt nor tokenizer.json; Bark's tokenizer needs its WordPiece vocabulary (bert-base-multilingual-cased).");
    }

    /// <summary>Loads a WordPiece <c>vocab.txt</c> (one token per line, id = line number) with Bark's settings.</summary>
    /// <exception cref="BarkFormatException">The file is missing or malformed.</exception>
    public static BarkTokenizer FromVocabularyFile(string vocabPath)
    {
        if (!File.Exists(vocabPath)) throw new BarkFormatException(vocabPath, "the vocabulary file does not exist.");
        using FileStream stream = File.OpenRead(vocabPath);
        return Create(stream, vocabPath, TokenizerSettings.Bark(vocabPath));
    }

    /// <summary>The ids of <paramref name="text"/>, without <c>[CLS]</c>/<c>[SEP]</c> (Bark's <c>add_special_tokens=False</c>).</summary>
    public IReadOnlyList<int> EncodeToIds(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>();
        Encode(text, ids, tokens: null);
        return ids;
    }

    /// <summary>The token strings of <paramref name="text"/> (e.g. <c>["Hello", ",", "my", "dog", "is", "cut", "##e"]</c>).</summary>
    public IReadOnlyList<string> Tokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var tokens = new List<string>();
        Encode(text, [], tokens);
        return tokens;
    }

    private void Encode(string text, List<int> ids, List<string>? tokens)
    {
        var words = new List<string>();
        int chunkStart = 0;
        for (int i = 0; i < text.Length; i++)
        {
            string? special = SpecialTokenAt(text, i);
            if (special is null) continue;
            EncodeChunk(text[chunkStart..i], words, ids, tokens);
            ids.Add(_specialIds[special]);
            tokens?.Add(special);
            i += special.Length - 1;
            chunkStart = i + 1;
        }
        EncodeChunk(text[chunkStart..], words, ids, tokens);
    }

    // Transformers cuts the text at literal special tokens first (its added-tokens trie: leftmost, then longest match).
    private string? SpecialTokenAt(string text, int index)
    {
        foreach (string token in _specialTokensLongestFirst)
            if (index + token.Length <= text.Length && string.CompareOrdinal(text, index, token, 0, token.Length) == 0) return token;
        return null;
    }

    private void EncodeChunk(string chunk, List<string> words, List<int> ids, List<string>? tokens)
    {
        if (chunk.Length == 0) return;
        words.Clear();
        _basic.Split(chunk, words);
        foreach (string word in words)
        {
            if (_specialIds.TryGetValue(word, out int specialId))
            {
                ids.Add(specialId);
                tokens?.Add(word);
            }
            else if (word.EnumerateRunes().Count() > MaxInputCharsPerWord)
            {
                ids.Add(UnknownTokenId);
                tokens?.Add(UnknownToken);
            }
            else
            {
                foreach (EncodedToken piece in _wordPiece.EncodeToTokens(word, out _, considerPreTokenization: false, considerNormalization: false))
                {
                    ids.Add(piece.Id);
                    tokens?.Add(piece.Value);
                }
            }
        }
    }

    private int? LookUp(string token)
    {
        IReadOnlyList<EncodedToken> pieces = _wordPiece.EncodeToTokens(token, out _, considerPreTokenization: false, considerNormalization: false);
        return pieces.Count == 1 && pieces[0].Value == token ? pieces[0].Id : null;
    }

    private int IdOf(string token, string source) =>
        _specialIds.TryGetValue(token, out int id) ? id
        : LookUp(token) ?? throw new BarkFormatException(source, $"the token '{token}' is not in the vocabulary.");

    private static BarkTokenizer Create(Stream vocabulary, string source, TokenizerSettings settings)
    {
        WordPieceTokenizer wordPiece;
        try
        {
            wordPiece = WordPieceTokenizer.Create(vocabulary, new WordPieceOptions
            {
                UnknownToken = settings.UnknownToken,
                ContinuingSubwordPrefix = ContinuingSubwordPrefix,
                // The real limit (100 code points) is checked before WordPiece runs; this one only has to let every
                // such word through, and 100 code points take at most 200 UTF-16 units.
                MaxInputCharsPerWord = 2 * MaxInputCharsPerWord,
            });
        }
        catch (ArgumentException e)
        {
            throw new BarkFormatException(source, $"not a usable WordPiece vocabulary ({e.Message}). Expected one token per line, no duplicates, including '{settings.UnknownToken}'.", e);
        }
        return new BarkTokenizer(wordPiece, settings with { Source = source });
    }

    // tokenizer.json (BertTokenizerFast) keeps the vocabulary as {"model": {"vocab": {token: id}}}; WordPieceTokenizer
    // wants vocab.txt lines, so the ids become line numbers (gaps as empty lines, which it skips).
    private static MemoryStream VocabularyFromTokenizerJson(string path)
    {
        try
        {
            using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(path));
            JsonElement vocab = doc.RootElement.GetProperty("model").GetProperty("vocab");
            var byId = new SortedDictionary<int, string>();
            foreach (JsonProperty entry in vocab.EnumerateObject())
            {
                if (entry.Name.Contains('\n') || entry.Name.Contains('\r') || entry.Name.Length == 0)
                    throw new BarkFormatException(path, $"the vocabulary token {JsonSerializer.Serialize(entry.Name)} cannot be used by a line-based WordPiece vocabulary.");
                byId[entry.Value.GetInt32()] = entry.Name;
            }
            var text = new StringBuilder();
            int next = 0;
            foreach ((int id, string token) in byId)
            {
                if (id < 0) throw new BarkFormatException(path, $"the vocabulary gives '{token}' the negative id {id}.");
                for (; next < id; next++) text.Append('\n');
                text.Append(token).Append('\n');
                next = id + 1;
            }
            return new MemoryStream(Encoding.UTF8.GetBytes(text.ToString()));
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new BarkFormatException(path, $"no WordPiece vocabulary at model.vocab ({e.Message}).", e);
        }
    }

    /// <summary>What <c>tokenizer_config.json</c> says, with <c>bert-base-multilingual-cased</c>'s values as defaults.</summary>
    private sealed record TokenizerSettings
    {
        public required string Source { get; init; }
        public bool TokenizeChineseChars { get; init; } = true;
        public bool StripAccents { get; init; }
        public int ModelMaxLength { get; init; } = 512;
        public string UnknownToken { get; init; } = "[UNK]";
        public string PadToken { get; init; } = "[PAD]";
        public string ClsToken { get; init; } = "[CLS]";
        public string SepToken { get; init; } = "[SEP]";

        /// <summary>Tokens kept whole and never split, with their ids when the config gives them.</summary>
        public IReadOnlyList<(string Token, int? Id)> SpecialTokens { get; init; } = [.. BertSpecialTokens.Select(t => (t, (int?)null))];

        public static TokenizerSettings Bark(string source) => new() { Source = source };

        public static TokenizerSettings Read(string path)
        {
            using JsonDocument doc = JsonSection.ParseFile(path);
            var s = new JsonSection(doc.RootElement, path);
            if (s.Bool("do_lower_case", false))
                throw new BarkConfigException($"{path}: do_lower_case is true, but Bark's tokenizer is cased and BarkSharp implements only the cased variant.");
            if (!s.Bool("do_basic_tokenize", true))
                throw new BarkConfigException($"{path}: do_basic_tokenize is false; BarkSharp implements only Bark's tokenizer, which splits words first.");
            if (doc.RootElement.TryGetProperty("never_split", out JsonElement neverSplit) && neverSplit.ValueKind == JsonValueKind.Array && neverSplit.GetArrayLength() > 0)
                throw new BarkConfigException($"{path}: never_split lists words; BarkSharp implements only Bark's tokenizer, which has none.");

            var specials = new List<(string, int?)>();
            if (doc.RootElement.TryGetProperty("added_tokens_decoder", out JsonElement added) && added.ValueKind == JsonValueKind.Object)
            {
                foreach (JsonProperty p in added.EnumerateObject())
                {
                    if (!int.TryParse(p.Name, NumberStyles.None, CultureInfo.InvariantCulture, out int id) || TokenContent(p.Value) is not { } content)
                        throw new BarkConfigException($"{path}: added_tokens_decoder entry '{p.Name}' needs an integer id and a 'content' string.");
                    specials.Add((content, id));
                }
            }

            double maxLength = s.NullableDouble("model_max_length") ?? 512;
            var settings = new TokenizerSettings
            {
                Source = path,
                TokenizeChineseChars = s.Bool("tokenize_chinese_chars", true),
                StripAccents = s.Bool("strip_accents", false),
                ModelMaxLength = maxLength >= int.MaxValue ? int.MaxValue : (int)maxLength,
                UnknownToken = SpecialToken(doc.RootElement, "unk_token", path) ?? "[UNK]",
                PadToken = SpecialToken(doc.RootElement, "pad_token", path) ?? "[PAD]",
                ClsToken = SpecialToken(doc.RootElement, "cls_token", path) ?? "[CLS]",
                SepToken = SpecialToken(doc.RootElement, "sep_token", path) ?? "[SEP]",
            };
            if (specials.Count == 0)
            {
                string? mask = SpecialToken(doc.RootElement, "mask_token", path) ?? "[MASK]";
                specials.AddRange(new[] { settings.PadToken, settings.UnknownToken, settings.ClsToken, settings.SepToken, mask }.Distinct().Select(t => (t, (int?)null)));
            }
            return settings with { SpecialTokens = specials };
        }

        // A special token is written either as a string or as a serialized AddedToken {"content": ...}.
        private static string? SpecialToken(JsonElement root, string name, string path)
        {
            if (!root.TryGetProperty(name, out JsonElement e) || e.ValueKind == JsonValueKind.Null) return null;
            return TokenContent(e) ?? throw new BarkConfigException($"{path}.{name} must be a string or an object with 'content', found {e.GetRawText()}.");
        }

        private static string? TokenContent(JsonElement e) => e.ValueKind switch
        {
            JsonValueKind.String => e.GetString(),
            JsonValueKind.Object when e.TryGetProperty("content", out JsonElement c) && c.ValueKind == JsonValueKind.String => c.GetString(),
            _ => null,
        };
    }
}
