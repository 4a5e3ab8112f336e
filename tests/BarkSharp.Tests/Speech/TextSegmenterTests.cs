using BarkSharp.Speech;
using BarkSharp.Tests.Infrastructure;
using BarkSharp.Tokenization;

namespace BarkSharp.Tests.Speech;

/// <summary>Cutting long text into segments Bark can speak in one generation each.</summary>
public class TextSegmenterTests
{
    private static readonly BarkTokenizer Tokenizer = BarkTokenizer.FromPretrained(Fixtures.TinyBark);

    private static IReadOnlyList<TextSegment> Split(string text, int maxTokens = 40, bool keepParagraphs = true) =>
        new TextSegmenter(Tokenizer, new TextSegmenterOptions { MaxTokens = maxTokens, KeepParagraphs = keepParagraphs }).Split(text);

    private static string[] Texts(string text, int maxTokens = 40) => Split(text, maxTokens).Select(s => s.Text).ToArray();

    /// <summary>Spans in order, not overlapping, each the text between its bounds, trimmed; only whitespace outside them.</summary>
    private static void AssertCovers(string text, IReadOnlyList<TextSegment> segments, int maxTokens)
    {
        int at = 0;
        for (int i = 0; i < segments.Count; i++)
        {
            TextSegment s = segments[i];
            Assert.Equal(i, s.Index);
            Assert.True(s.Start >= at && s.End > s.Start, $"segment {i} [{s.Start}, {s.End}) after {at}");
            Assert.True(string.IsNullOrWhiteSpace(text[at..s.Start]), $"non-whitespace between segments before {i}: '{text[at..s.Start]}'");
            Assert.Equal(text[s.Start..s.End], s.Text);
            Assert.False(char.IsWhiteSpace(s.Text[0]) || char.IsWhiteSpace(s.Text[^1]), $"segment {i} is not trimmed: '{s.Text}'");
            Assert.Equal(Tokenizer.EncodeToIds(s.Text).Count, s.TokenCount);
            at = s.End;
        }
        Assert.True(string.IsNullOrWhiteSpace(text[at..]), "text after the last segment");
        foreach (TextSegment s in segments)
            Assert.True(s.TokenCount <= maxTokens || SingleElement(s.Text), $"'{s.Text}' has {s.TokenCount} tokens > {maxTokens} in '{text}'");
    }

    private static bool SingleElement(string text) => new System.Globalization.StringInfo(text).LengthInTextElements == 1 ||
                                                       System.Text.RegularExpressions.Regex.IsMatch(text, @"^\[[^\[\]\n]*\]$");

    [Fact]
    public void Short_sentences_merge_and_long_text_splits_at_sentence_ends()
    {
        string text = "Hello there. How are you? I am fine! Thanks for asking. " +
                      "This second part is a considerably longer sentence that goes on for a while about nothing in particular, really. " +
                      "And a third one ends it.";
        IReadOnlyList<TextSegment> segments = Split(text, maxTokens: 30);
        AssertCovers(text, segments, 30);
        Assert.Equal("Hello there. How are you? I am fine! Thanks for asking.", segments[0].Text);
        Assert.All(segments, s => Assert.True(s.Text.EndsWith('.') || s.Text.EndsWith(',')));
    }

    [Theory]
    [InlineData("Mr. Smith met Dr. Jones at 3.14 p.m. today, e.g. near St. Paul's.", "Then they left.")]
    [InlineData("She said \"Stop.\"", "Then she left.")]
    [InlineData("Wait... and then what?", "Nothing.")]
    [InlineData("J. R. R. Tolkien wrote books.", "He died in 1973.")]
    [InlineData("The value is 2.5 (roughly.)", "Next sentence here.")]
    [InlineData("Das ist z. B. ein Haus, usw. und so fort.", "Dann gehen wir.")]
    public void Abbreviations_decimals_ellipses_and_quotes_stay_in_their_sentence(string first, string second)
    {
        // A budget that holds either sentence but not both: the only cut is between them.
        string text = first + " " + second;
        int budget = Math.Max(Tokenizer.EncodeToIds(first).Count, Tokenizer.EncodeToIds(second).Count);
        Assert.True(Tokenizer.EncodeToIds(text).Count > budget);
        Assert.Equal([first, second], Texts(text, budget));
    }

    [Fact]
    public void Tags_and_music_stay_inside_a_segment()
    {
        string text = "Well [laughs] that was funny. [MAN] I know, right? ♪ La la la. Sing it. La la. ♪ The end.";
        IReadOnlyList<TextSegment> segments = Split(text, maxTokens: 12);
        AssertCovers(text, segments, 12);
        Assert.Contains(segments, s => s.Text.Contains("[laughs]", StringComparison.Ordinal));
        Assert.Contains(segments, s => s.Text.Contains("[MAN]", StringComparison.Ordinal));
        Assert.Contains(segments, s => s.Text == "♪ La la la. Sing it. La la. ♪");
    }

    [Fact]
    public void A_tag_is_never_cut_even_when_words_must_split()
    {
        string text = string.Join(' ', Enumerable.Repeat("word [laughs] another", 12));
        IReadOnlyList<TextSegment> segments = Split(text, maxTokens: 10);
        AssertCovers(text, segments, 10);
        foreach (TextSegment s in segments)
            Assert.Equal(s.Text.Count(c => c == '['), s.Text.Count(c => c == ']'));
    }

    [Fact]
    public void Over_long_sentences_split_at_clauses_then_words_then_characters()
    {
        string clauses = "First we walk to the river, then we cross the bridge; after that we rest: finally we go home — tired but happy.";
        IReadOnlyList<TextSegment> byClause = Split(clauses, maxTokens: 12);
        AssertCovers(clauses, byClause, 12);
        Assert.True(byClause.Count >= 3);
        Assert.All(byClause.Take(byClause.Count - 1), s => Assert.Contains(s.Text[^1], ",;:—"));

        string words = string.Join(' ', Enumerable.Range(0, 120).Select(i => $"word{i % 7}"));     // no punctuation at all
        IReadOnlyList<TextSegment> byWord = Split(words, maxTokens: 20);
        AssertCovers(words, byWord, 20);
        Assert.True(byWord.Count > 5);
        Assert.All(byWord, s => Assert.Matches(@"^(word\d)( word\d)*$", s.Text));

        string chinese = string.Concat(Enumerable.Repeat("我们今天去公园散步然后回家吃饭", 12));      // 180 characters, no punctuation
        IReadOnlyList<TextSegment> byChar = Split(chinese, maxTokens: 40);
        AssertCovers(chinese, byChar, 40);
        Assert.True(byChar.Count >= 5);
        Assert.Equal(chinese, string.Concat(byChar.Select(s => s.Text)));
    }

    public static TheoryData<string, string> Languages() => new()
    {
        { "en", "The weather is nice today. We are going to the park. Would you like to come along?" },
        { "de", "Das Wetter ist heute schön. Wir gehen in den Park, z. B. den großen. Kommst du mit?" },
        { "es", "¿Qué tal estás? Hoy hace buen tiempo. Vamos al parque con la Sra. García." },
        { "fr", "Il fait beau aujourd'hui. Nous allons au parc avec M. Dupont. Tu viens avec nous ?" },
        { "hi", "आज मौसम अच्छा है। हम पार्क जा रहे हैं। क्या आप हमारे साथ आएंगे? ॥" },
        { "it", "Oggi fa bel tempo. Andiamo al parco con il sig. Rossi. Vieni con noi?" },
        { "ja", "今日はいい天気です。公園に行きます！一緒に来ますか？" },
        { "ko", "오늘 날씨가 좋네요. 우리는 공원에 갑니다. 같이 갈래요?" },
        { "pl", "Dziś jest ładna pogoda. Idziemy do parku, np. tego dużego. Idziesz z nami?" },
        { "pt", "Hoje está um belo dia. Vamos ao parque com o Sr. Silva. Você vem conosco?" },
        { "ru", "Сегодня хорошая погода. Мы идём в парк с г. Ивановым. Ты пойдёшь с нами?" },
        { "tr", "Bugün hava çok güzel. Parka gidiyoruz. Bizimle gelir misin?" },
        { "zh", "今天天气很好。我们去公园吧！你要一起来吗？" },
    };

    [Theory]
    [MemberData(nameof(Languages))]
    public void Every_bark_language_splits_into_its_sentences(string language, string text)
    {
        string[] sentences = HandSplit(text, language);
        Assert.True(sentences.Length >= 3, language);
        Assert.Single(Split(text, maxTokens: 256));                              // the whole sample fits one generation

        // With a budget of the longest sentence, segments are whole sentences (merged where they fit), cut only at their ends.
        int budget = Math.Max(4, sentences.Max(t => Tokenizer.EncodeToIds(t).Count));
        IReadOnlyList<TextSegment> segments = Split(text, budget);
        AssertCovers(text, segments, budget);
        Assert.True(segments.Count >= 2, $"{language}: {string.Join(" | ", segments.Select(s => s.Text))}");
        var ends = new HashSet<int>();
        int at = 0;
        foreach (string sentence in sentences)
        {
            at = text.IndexOf(sentence, at, StringComparison.Ordinal) + sentence.Length;
            ends.Add(at);
        }
        Assert.All(segments, s => Assert.True(ends.Contains(s.End), $"{language}: segment '{s.Text}' does not end at a sentence end"));
    }

    /// <summary>The samples' sentences, cut by hand on each script's terminators (the samples' abbreviations are listed).</summary>
    private static string[] HandSplit(string text, string language)
    {
        string pattern = language switch
        {
            "hi" => @"(?<=[।?])\s+",
            "ja" or "zh" => @"(?<=[。！？])",
            _ => @"(?<=(?<!\b(?:z|z\. B|Sra|M|sig|np|Sr|г))[.?!])\s+",
        };
        return System.Text.RegularExpressions.Regex.Split(text, pattern).Select(t => t.Trim()).Where(t => t.Length > 0).ToArray();
    }

    [Fact]
    public void Paragraphs_and_lines_are_boundaries_and_paragraphs_are_not_merged()
    {
        string text = "First line\nsecond line\n\nNew one.\r\n\r\n   Last one";
        IReadOnlyList<TextSegment> kept = Split(text, maxTokens: 256);
        AssertCovers(text, kept, 256);
        Assert.Equal(["First line\nsecond line", "New one.", "Last one"], kept.Select(s => s.Text).ToArray());
        Assert.Single(Split(text, maxTokens: 256, keepParagraphs: false));
        int budget = Tokenizer.EncodeToIds("New one.").Count;      // too small for the two lines together
        Assert.True(Tokenizer.EncodeToIds("First line\nsecond line").Count > budget);
        Assert.Equal(["First line", "second line", "New one.", "Last one"], Texts(text, budget));
    }

    [Fact]
    public void Empty_and_whitespace_text_gives_no_segments_and_emoji_survive()
    {
        Assert.Empty(Split(""));
        Assert.Empty(Split(" \n\t \r\n "));
        string text = "I love this 😀👍🏽! Really 🎉.";
        IReadOnlyList<TextSegment> segments = Split(text, maxTokens: 4);
        AssertCovers(text, segments, 4);
        Assert.Equal(text, string.Join(' ', segments.Select(s => s.Text)));
        Assert.Equal("I love this 😀👍🏽!", Split(text, maxTokens: 6)[0].Text);
    }

    [Fact]
    public void Budget_outside_the_semantic_window_is_refused()
    {
        Assert.Throws<BarkInputException>(() => new TextSegmenter(Tokenizer, new TextSegmenterOptions { MaxTokens = 300 }));
        Assert.Throws<BarkInputException>(() => new TextSegmenter(Tokenizer, new TextSegmenterOptions { MaxTokens = 0 }));
    }

    /// <summary>The no-loss property on random texts: mixed scripts, punctuation, tags, emoji, whitespace of every kind.</summary>
    [Fact]
    public void Random_texts_are_covered_exactly_in_order()
    {
        string[] atoms =
        [
            "Hello", "world", "Mr.", "3.14", "e.g.", "...", "…", ".", "!", "?", ",", ";", ":", "—", "\"", "'", "(", ")", "[laughs]", "[MAN]", "♪",
            "我们", "公园", "。", "！", "？", "、", "，", "नमस्ते", "।", "॥", "Привет", "안녕하세요", "こんにちは", "😀", "👍🏽", "e\u0301", "x",
            "supercalifragilisticexpialidocious", "\n", "\n\n", "\t", "  ", " ", " ", " ", "[", "]", "1,000", "Dr", "St.",
        ];
        var random = new Random(1234);
        for (int trial = 0; trial < 300; trial++)
        {
            var builder = new System.Text.StringBuilder();
            int n = random.Next(0, 120);
            for (int i = 0; i < n; i++) builder.Append(atoms[random.Next(atoms.Length)]);
            string text = builder.ToString();
            int budget = random.Next(4, 60);
            IReadOnlyList<TextSegment> segments = Split(text, budget, keepParagraphs: random.Next(2) == 0);
            AssertCovers(text, segments, budget);
            string nonWhite = new(text.Where(c => !char.IsWhiteSpace(c)).ToArray());
            Assert.Equal(nonWhite, new string(string.Concat(segments.Select(s => s.Text)).Where(c => !char.IsWhiteSpace(c)).ToArray()));
        }
    }
}
