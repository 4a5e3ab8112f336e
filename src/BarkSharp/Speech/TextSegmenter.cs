using System.Globalization;
using BarkSharp.Tokenization;

namespace BarkSharp.Speech;

/// <summary>A piece of a text that Bark speaks in one generation.</summary>
/// <param name="Index">Position in the text's segment list.</param>
/// <param name="Start">Index of the segment's first character in the text.</param>
/// <param name="End">Index just past its last character.</param>
/// <param name="Text">The characters <c>[Start, End)</c> of the text.</param>
/// <param name="TokenCount">Its tokens, counted by the processor's tokenizer.</param>
public readonly record struct TextSegment(int Index, int Start, int End, string Text, int TokenCount);

/// <summary>
/// Splits text of any length into segments Bark can speak in one generation each: at sentence ends
/// (<c>. ! ? …</c>, <c>。！？</c>, <c>। ॥</c>, line breaks), merging short sentences up to
/// <see cref="TextSegmenterOptions.MaxTokens"/> and splitting long ones at clause punctuation
/// (<c>, ; : —</c>, <c>、，；：</c>), then between words, then (text without spaces) between characters.
/// </summary>
/// <remarks>
/// <para>Abbreviations (<c>Mr.</c>, <c>e.g.</c>, <c>Dr.</c>, single initials), decimals (<c>3.14</c>), ellipses
/// followed by lower-case text, closing quotes and brackets stay with their sentence; Bark's tags (<c>[laughs]</c>,
/// <c>[MAN]</c>) are never split and a <c>♪ … ♪</c> passage is split only when it alone exceeds the budget.</para>
/// <para>Nothing is lost or repeated: the segments' spans are in order, do not overlap, and only whitespace lies
/// outside them. Each segment is trimmed of surrounding whitespace. Instances are immutable and thread-safe.</para>
/// </remarks>
public sealed class TextSegmenter
{
    private static readonly HashSet<string> Abbreviations = new(StringComparer.OrdinalIgnoreCase)
    {
        "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "vs", "etc", "eg", "ie", "inc", "ltd", "co", "corp", "no", "nr", "fig",
        "vol", "ch", "p", "pp", "approx", "dept", "est", "gen", "gov", "lt", "col", "capt", "sgt", "rev", "hon", "jan", "feb", "mar", "apr",
        "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "z", "bzw", "usw", "ca", "vgl", "sra", "sr", "sres", "dra", "av", "pág",
        "mme", "mlle", "m", "sig", "dott", "ecc", "np", "ul", "tzw", "itd", "itp", "prof", "г", "гг", "т", "д", "ул", "им", "sn", "vb",
    };

    private readonly Func<string, int> _countTokens;

    /// <summary>Creates a segmenter that measures segments in the tokens of <paramref name="processor"/>'s tokenizer (what Bark reads).</summary>
    public TextSegmenter(BarkProcessor processor, TextSegmenterOptions? options = null)
        : this(processor?.Tokenizer ?? throw new ArgumentNullException(nameof(processor)), options)
    {
    }

    /// <summary>Creates a segmenter that measures segments in <paramref name="tokenizer"/>'s tokens.</summary>
    internal TextSegmenter(BarkTokenizer tokenizer, TextSegmenterOptions? options = null)
        : this(text => tokenizer.EncodeToIds(text).Count, options)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
    }

    /// <summary>Creates a segmenter with a token counter of your own (e.g. another tokenizer, or words).</summary>
    public TextSegmenter(Func<string, int> countTokens, TextSegmenterOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(countTokens);
        Options = options ?? new TextSegmenterOptions();
        Options.Validate();
        _countTokens = countTokens;
    }

    /// <summary>The settings.</summary>
    public TextSegmenterOptions Options { get; }

    /// <summary>Splits <paramref name="text"/>; whitespace-only text gives no segments.</summary>
    public IReadOnlyList<TextSegment> Split(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int[] tags = Tags(text, out bool[] isMusic);
        bool[] isProtected = tags.Select(t => t != 0).ToArray();
        var pieces = new List<Piece>();
        foreach (Piece sentence in Sentences(text, isProtected, isMusic))
            SplitToBudget(text, sentence, tags, isMusic, pieces);

        var segments = new List<TextSegment>();
        for (int i = 0; i < pieces.Count;)
        {
            Piece current = pieces[i++];
            int tokens = current.Tokens;
            // Whole sentences merge; the pieces of a sentence that had to be cut stay apart from their neighbours.
            while (i < pieces.Count && current.Whole && pieces[i].Whole && !(Options.KeepParagraphs && pieces[i].NewParagraph))
            {
                int merged = _countTokens(text[current.Start..pieces[i].End]);
                if (merged > Options.MaxTokens) break;
                current = current with { End = pieces[i].End };
                tokens = merged;
                i++;
            }
            segments.Add(new TextSegment(segments.Count, current.Start, current.End, text[current.Start..current.End], tokens));
        }
        return segments;
    }

    /// <summary>A trimmed span, its token count, whether a blank line comes before it, and whether it is a whole sentence.</summary>
    private readonly record struct Piece(int Start, int End, int Tokens, bool NewParagraph, bool Whole = true);

    /// <summary>Sentences of the text (trimmed, non-empty), in order.</summary>
    private IEnumerable<Piece> Sentences(string text, bool[] isProtected, bool[] isMusic)
    {
        int start = 0;
        bool paragraph = false;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            int end;
            bool newParagraph = false;
            if (c == '\n' && !isMusic[i])
            {
                end = i + 1;
                int j = end;
                while (j < text.Length && char.IsWhiteSpace(text[j]))
                {
                    if (text[j] == '\n') newParagraph = true;
                    j++;
                }
            }
            else if (c == '\n' || isProtected[i] || isMusic[i] || (end = SentenceEnd(text, i)) < 0)
            {
                continue;
            }
            if (Trim(text, start, end) is { } span)
            {
                yield return new Piece(span.Start, span.End, _countTokens(text[span.Start..span.End]), paragraph);
                paragraph = false;
            }
            paragraph |= newParagraph;
            start = end;
            i = end - 1;
        }
        if (Trim(text, start, text.Length) is { } last)
            yield return new Piece(last.Start, last.End, _countTokens(text[last.Start..last.End]), paragraph);
    }

    /// <summary>Where the sentence ending with the terminator at <paramref name="i"/> ends (after closing quotes), or −1 when it does not end there.</summary>
    private static int SentenceEnd(string text, int i)
    {
        char c = text[i];
        bool wide = c is '。' or '！' or '？' or '．' or '।' or '॥';
        if (!wide && c is not ('.' or '!' or '?' or '…' or '‼' or '⁇' or '⁈' or '⁉')) return -1;
        int j = i + 1;
        while (j < text.Length && text[j] is '.' or '!' or '?' or '…' or '。' or '！' or '？' or '।' or '॥') j++;
        while (j < text.Length && IsClosing(text[j])) j++;
        if (wide) return j;
        if (j < text.Length && !char.IsWhiteSpace(text[j])) return -1;       // 3.14, e.g.x, a.b
        if (c == '.' && j == i + 1 && IsAbbreviation(text, i)) return -1;
        // "Wait... and then" or "e.g. this": a lower-case word after the stop continues the sentence.
        int k = j;
        while (k < text.Length && char.IsWhiteSpace(text[k]) && text[k] != '\n') k++;
        if (k < text.Length && char.IsLower(text[k])) return -1;
        return j;
    }

    private static bool IsClosing(char c) => c is '"' or '\'' or '”' or '’' or '»' or '›' or ')' or ']' or '}' or '」' or '』' or '）' or '】' or '〉' or '》';

    /// <summary>The word before the full stop at <paramref name="dot"/> is a known abbreviation or a single letter (an initial).</summary>
    private static bool IsAbbreviation(string text, int dot)
    {
        int s = dot;
        while (s > 0 && (char.IsLetter(text[s - 1]) || text[s - 1] == '.')) s--;
        if (s > 0 && !char.IsWhiteSpace(text[s - 1]) && text[s - 1] is not ('(' or '"' or '“' or '«' or '[')) return false;   // Paul's.
        string word = text[s..dot].Replace(".", "", StringComparison.Ordinal);
        return word.Length == 1 ? char.IsLetter(word[0]) : Abbreviations.Contains(word);
    }

    /// <summary>Splits a sentence over the budget at clause punctuation, then between words, then between characters.</summary>
    private void SplitToBudget(string text, Piece sentence, int[] tags, bool[] isMusic, List<Piece> output)
    {
        if (sentence.Tokens <= Options.MaxTokens)
        {
            output.Add(sentence);
            return;
        }
        bool paragraph = sentence.NewParagraph;
        foreach (Piece clause in Pack(text, Cuts(text, sentence, i => tags[i] == 0 && !isMusic[i] && IsClauseBreak(text[i]), after: true)))
        {
            if (clause.Tokens <= Options.MaxTokens)
            {
                output.Add(clause with { NewParagraph = paragraph });
                paragraph = false;
                continue;
            }
            foreach (Piece words in Pack(text, Cuts(text, clause, i => tags[i] == 0 && char.IsWhiteSpace(text[i]), after: false)))
            {
                if (words.Tokens <= Options.MaxTokens)
                {
                    output.Add(words with { NewParagraph = paragraph });
                    paragraph = false;
                    continue;
                }
                foreach (Piece chars in SplitCharacters(text, words, tags))
                {
                    output.Add(chars with { NewParagraph = paragraph });
                    paragraph = false;
                }
            }
        }
    }

    private static bool IsClauseBreak(char c) => c is ',' or ';' or ':' or '—' or '–' or '、' or '，' or '；' or '：' or '،';

    /// <summary>The span cut into trimmed pieces at every index where <paramref name="isCut"/> holds (after or before that character).</summary>
    private IEnumerable<Piece> Cuts(string text, Piece span, Func<int, bool> isCut, bool after)
    {
        int start = span.Start;
        for (int i = span.Start; i < span.End; i++)
        {
            if (!isCut(i)) continue;
            int cut = after ? i + 1 : i;
            if (Trim(text, start, cut) is { } piece) yield return new Piece(piece.Start, piece.End, _countTokens(text[piece.Start..piece.End]), false, Whole: false);
            start = cut;
        }
        if (Trim(text, start, span.End) is { } last) yield return new Piece(last.Start, last.End, _countTokens(text[last.Start..last.End]), false, Whole: false);
    }

    /// <summary>Joins consecutive pieces while they stay within the budget (pieces over it pass through alone).</summary>
    private IEnumerable<Piece> Pack(string text, IEnumerable<Piece> pieces)
    {
        Piece? current = null;
        foreach (Piece piece in pieces)
        {
            if (current is { } c)
            {
                int merged = _countTokens(text[c.Start..piece.End]);
                if (merged <= Options.MaxTokens)
                {
                    current = c with { End = piece.End, Tokens = merged };
                    continue;
                }
                yield return c;
            }
            current = piece;
        }
        if (current is { } rest) yield return rest;
    }

    /// <summary>Text without usable spaces (e.g. Chinese, or one very long word): the longest runs of whole characters that fit.</summary>
    private IEnumerable<Piece> SplitCharacters(string text, Piece span, int[] tags)
    {
        // Boundaries between text elements (so surrogate pairs and combining marks stay whole), not inside a tag.
        var bounds = new List<int>();
        TextElementEnumerator e = StringInfo.GetTextElementEnumerator(text[span.Start..span.End]);
        while (e.MoveNext())
        {
            int at = span.Start + e.ElementIndex;
            if (at == span.Start || tags[at] == 0 || tags[at] != tags[at - 1]) bounds.Add(at);
        }
        bounds.Add(span.End);

        int from = 0;
        while (from < bounds.Count - 1)
        {
            // The furthest boundary that keeps the piece within budget (at least one element).
            int lo = from + 1, hi = bounds.Count - 1;
            while (lo < hi)
            {
                int mid = (lo + hi + 1) / 2;
                if (_countTokens(text[bounds[from]..bounds[mid]]) <= Options.MaxTokens) lo = mid;
                else hi = mid - 1;
            }
            if (Trim(text, bounds[from], bounds[lo]) is { } piece)
                yield return new Piece(piece.Start, piece.End, _countTokens(text[piece.Start..piece.End]), false, Whole: false);
            from = lo;
        }
    }

    private static (int Start, int End)? Trim(string text, int start, int end)
    {
        while (start < end && char.IsWhiteSpace(text[start])) start++;
        while (end > start && char.IsWhiteSpace(text[end - 1])) end--;
        return start < end ? (start, end) : null;
    }

    /// <summary>
    /// The tag each character belongs to (1, 2, … ; 0 for none): a Bark tag (<c>[laughs]</c>: brackets around at
    /// most 40 characters of one line, no bracket among them) is never split. Characters inside a <c>♪ … ♪</c> passage are marked in
    /// <paramref name="isMusic"/>: no sentence or clause split there.
    /// </summary>
    private static int[] Tags(string text, out bool[] isMusic)
    {
        var tags = new int[text.Length];
        int id = 0;
        isMusic = new bool[text.Length];
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] == '[')
            {
                int close = text.IndexOf(']', i + 1);
                if (close > 0 && close - i <= 41 && text.AsSpan(i + 1, close - i - 1).IndexOfAny('[', '\n') < 0)
                {
                    Array.Fill(tags, ++id, i, close - i + 1);
                    i = close;
                }
            }
        }
        for (int i = text.IndexOf('♪'); i >= 0;)
        {
            int close = text.IndexOf('♪', i + 1);
            if (close < 0) break;
            int paragraph = text.IndexOf("\n\n", i, close - i, StringComparison.Ordinal);
            if (paragraph >= 0)
            {
                i = text.IndexOf('♪', paragraph);          // an unclosed ♪ in this paragraph: no passage
                continue;
            }
            Array.Fill(isMusic, true, i, close - i + 1);
            i = text.IndexOf('♪', close + 1);
        }
        return tags;
    }
}
