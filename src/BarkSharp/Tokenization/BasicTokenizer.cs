using System.Globalization;
using System.Text;

namespace BarkSharp.Tokenization;

/// <summary>
/// The word splitter in front of WordPiece: Transformers' <c>BasicTokenizer</c> (models/bert/tokenization_bert.py, 4.43)
/// with Bark's settings — cased, accents kept unless <c>strip_accents</c> is set.
/// </summary>
/// <remarks>
/// Steps, in Transformers' order: drop NUL, U+FFFD and every "other" (C*) character except tab/newline/return;
/// turn those three and every space separator (Zs) into a space; surround each CJK ideograph with spaces; NFC;
/// split on whitespace; split each word around punctuation, where punctuation is every P* character <em>and</em> every
/// non-alphanumeric printable ASCII character (so <c>$ + &lt; = &gt; ^ ` | ~</c> split too, while <c>♪ € ≈</c> stay
/// inside their word). Character classes come from .NET's Unicode tables; Python's may be older, which only matters
/// for characters assigned after Unicode 14, none of which the 2018 vocabulary contains.
/// </remarks>
internal sealed class BasicTokenizer(bool tokenizeChineseChars, bool stripAccents, IReadOnlySet<string> neverSplit)
{
    /// <summary>Appends the words of <paramref name="text"/> to <paramref name="words"/>.</summary>
    public void Split(string text, List<string> words)
    {
        var cleaned = new StringBuilder(text.Length + 8);
        foreach (Rune rune in text.EnumerateRunes())
        {
            // Ill-formed UTF-16 arrives as U+FFFD and is dropped, as Python drops lone surrogates (category Cs).
            if (rune.Value is 0 or 0xFFFD || IsControl(rune)) continue;
            if (IsWhitespace(rune)) cleaned.Append(' ');
            else if (tokenizeChineseChars && IsCjkIdeograph(rune.Value)) cleaned.Append(' ').Append(rune.ToString()).Append(' ');
            else cleaned.Append(rune.ToString());
        }

        string normalized = UnicodeNfc.Normalize(cleaned.ToString());

        // After cleaning, the only characters Python's str.split() still treats as whitespace are the space and the
        // line/paragraph separators (categories Zl, Zp).
        foreach (string word in normalized.Split([' ', '\u2028', '\u2029'], StringSplitOptions.RemoveEmptyEntries))
        {
            if (neverSplit.Contains(word))
            {
                words.Add(word);
                continue;
            }
            SplitOnPunctuation(stripAccents ? StripAccents(word) : word, words);
        }
    }

    private static void SplitOnPunctuation(string word, List<string> words)
    {
        int start = 0, i = 0;
        while (i < word.Length)
        {
            Rune rune = Rune.GetRuneAt(word, i);
            if (IsPunctuation(rune))
            {
                if (i > start) words.Add(word[start..i]);
                words.Add(rune.ToString());
                start = i + rune.Utf16SequenceLength;
            }
            i += rune.Utf16SequenceLength;
        }
        if (start < word.Length) words.Add(word[start..]);
    }

    private static string StripAccents(string word)
    {
        var sb = new StringBuilder(word.Length);
        foreach (Rune rune in UnicodeNfc.Decompose(word).EnumerateRunes())
            if (Rune.GetUnicodeCategory(rune) != UnicodeCategory.NonSpacingMark) sb.Append(rune.ToString());
        return sb.ToString();
    }

    /// <summary>Transformers' <c>_is_control</c>: any C* category except tab, newline and carriage return.</summary>
    internal static bool IsControl(Rune rune)
    {
        if (rune.Value is '\t' or '\n' or '\r') return false;
        return Rune.GetUnicodeCategory(rune) is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate
            or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned;
    }

    /// <summary>Transformers' <c>_is_whitespace</c>: space, tab, newline, carriage return and category Zs.</summary>
    internal static bool IsWhitespace(Rune rune) =>
        rune.Value is ' ' or '\t' or '\n' or '\r' || Rune.GetUnicodeCategory(rune) == UnicodeCategory.SpaceSeparator;

    /// <summary>Transformers' <c>_is_punctuation</c>: printable non-alphanumeric ASCII, and every P* category.</summary>
    internal static bool IsPunctuation(Rune rune)
    {
        int cp = rune.Value;
        if (cp is >= 33 and <= 47 or >= 58 and <= 64 or >= 91 and <= 96 or >= 123 and <= 126) return true;
        return Rune.GetUnicodeCategory(rune) is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation
            or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
            or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation;
    }

    /// <summary>Transformers' <c>_is_chinese_char</c>: the CJK Unified Ideographs blocks and their extensions A–E plus the compatibility ideographs.</summary>
    internal static bool IsCjkIdeograph(int cp) =>
        cp is >= 0x4E00 and <= 0x9FFF
            or >= 0x3400 and <= 0x4DBF
            or >= 0x20000 and <= 0x2A6DF
            or >= 0x2A700 and <= 0x2B73F
            or >= 0x2B740 and <= 0x2B81F
            or >= 0x2B820 and <= 0x2CEAF
            or >= 0xF900 and <= 0xFAFF
            or >= 0x2F800 and <= 0x2FA1F;
}
