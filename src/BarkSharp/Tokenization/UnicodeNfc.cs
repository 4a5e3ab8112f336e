using System.Collections.Frozen;
using System.Text;

namespace BarkSharp.Tokenization;

/// <summary>
/// Unicode canonical normalization (NFC, and the canonical decomposition behind it) on BarkSharp's own tables.
/// </summary>
/// <remarks>
/// Transformers' <c>BasicTokenizer</c> calls Python's <c>unicodedata.normalize("NFC", text)</c>. .NET's
/// <see cref="string.Normalize()"/> cannot stand in for it: it does nothing for non-ASCII text under
/// <c>InvariantGlobalization</c> and follows the machine's ICU otherwise. The tables in <c>UnicodeNfcData.g.cs</c> come
/// from the Python that produced the reference fixtures (see <see cref="UnicodeVersion"/>); the algorithm is the one of
/// Unicode Standard Annex #15: full canonical decomposition (Hangul algorithmically), canonical ordering of combining
/// marks, then canonical composition of primary composites.
/// </remarks>
internal static partial class UnicodeNfc
{
    private const int HangulSBase = 0xAC00, HangulLBase = 0x1100, HangulVBase = 0x1161, HangulTBase = 0x11A7;
    private const int HangulLCount = 19, HangulVCount = 21, HangulTCount = 28;
    private const int HangulNCount = HangulVCount * HangulTCount, HangulSCount = HangulLCount * HangulNCount;

    // Below U+0300 no character has a non-zero combining class or composes with its predecessor, so text made only of
    // such characters is already NFC.
    private const int FirstInterestingCodePoint = 0x0300;

    private static readonly Lazy<FrozenDictionary<int, (int First, int Second)>> DecompositionMap = new(() =>
    {
        ReadOnlySpan<int> t = DecompositionTriples;
        var map = new Dictionary<int, (int, int)>(t.Length / 3);
        for (int i = 0; i < t.Length; i += 3) map[t[i]] = (t[i + 1], t[i + 2]);
        return map.ToFrozenDictionary();
    });

    private static readonly Lazy<FrozenDictionary<long, int>> CompositionMap = new(() =>
    {
        ReadOnlySpan<int> t = CompositionTriples;
        var map = new Dictionary<long, int>(t.Length / 3);
        for (int i = 0; i < t.Length; i += 3) map[PairKey(t[i], t[i + 1])] = t[i + 2];
        return map.ToFrozenDictionary();
    });

    /// <summary>Returns <paramref name="text"/> in Normalization Form C. Ill-formed UTF-16 becomes U+FFFD.</summary>
    public static string Normalize(string text)
    {
        bool trivial = true;
        foreach (char c in text)
        {
            if (c >= FirstInterestingCodePoint)
            {
                trivial = false;
                break;
            }
        }
        if (trivial) return text;

        var buffer = new List<int>(text.Length + 8);
        foreach (Rune rune in text.EnumerateRunes()) Decompose(rune.Value, buffer);
        ReorderMarks(buffer);
        Compose(buffer);

        var sb = new StringBuilder(buffer.Count + 8);
        foreach (int cp in buffer) sb.Append(new Rune(cp).ToString());
        return sb.ToString();
    }

    /// <summary>Returns the canonical decomposition (NFD) of <paramref name="text"/>.</summary>
    public static string Decompose(string text)
    {
        var buffer = new List<int>(text.Length + 8);
        foreach (Rune rune in text.EnumerateRunes()) Decompose(rune.Value, buffer);
        ReorderMarks(buffer);
        var sb = new StringBuilder(buffer.Count + 8);
        foreach (int cp in buffer) sb.Append(new Rune(cp).ToString());
        return sb.ToString();
    }

    /// <summary>The canonical combining class of a code point (0 for starters).</summary>
    public static int CombiningClass(int codePoint)
    {
        if (codePoint < FirstInterestingCodePoint) return 0;
        ReadOnlySpan<int> ranges = CombiningClassRanges;
        int lo = 0, hi = ranges.Length / 3 - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (codePoint < ranges[mid * 3]) hi = mid - 1;
            else if (codePoint > ranges[mid * 3 + 1]) lo = mid + 1;
            else return ranges[mid * 3 + 2];
        }
        return 0;
    }

    private static void Decompose(int cp, List<int> output)
    {
        int s = cp - HangulSBase;
        if ((uint)s < HangulSCount)
        {
            output.Add(HangulLBase + s / HangulNCount);
            output.Add(HangulVBase + s % HangulNCount / HangulTCount);
            if (s % HangulTCount != 0) output.Add(HangulTBase + s % HangulTCount);
            return;
        }
        // À (U+00C0) is the first character with a canonical decomposition.
        if (cp >= 0xC0 && DecompositionMap.Value.TryGetValue(cp, out (int First, int Second) parts))
        {
            Decompose(parts.First, output);
            if (parts.Second >= 0) Decompose(parts.Second, output);
            return;
        }
        output.Add(cp);
    }

    // Canonical ordering: within each run of non-starters, a stable sort by combining class.
    private static void ReorderMarks(List<int> cps)
    {
        for (int i = 1; i < cps.Count; i++)
        {
            int cc = CombiningClass(cps[i]);
            if (cc == 0) continue;
            int j = i;
            while (j > 0)
            {
                int prev = CombiningClass(cps[j - 1]);
                if (prev <= cc) break;
                (cps[j - 1], cps[j]) = (cps[j], cps[j - 1]);
                j--;
            }
        }
    }

    // Canonical composition: each character joins the last starter if nothing between them blocks it.
    private static void Compose(List<int> cps)
    {
        if (cps.Count == 0) return;
        int starterPos = 0;
        int starter = cps[0];
        int lastClass = CombiningClass(starter) == 0 ? 0 : 256; // a leading mark blocks everything after it
        int write = 1;
        for (int read = 1; read < cps.Count; read++)
        {
            int cp = cps[read];
            int cc = CombiningClass(cp);
            if ((lastClass < cc || lastClass == 0) && TryCompose(starter, cp, out int composite))
            {
                cps[starterPos] = composite;
                starter = composite;
                continue;
            }
            if (cc == 0)
            {
                starterPos = write;
                starter = cp;
            }
            lastClass = cc;
            cps[write++] = cp;
        }
        cps.RemoveRange(write, cps.Count - write);
    }

    private static bool TryCompose(int first, int second, out int composite)
    {
        int l = first - HangulLBase, v = second - HangulVBase;
        if ((uint)l < HangulLCount && (uint)v < HangulVCount)
        {
            composite = HangulSBase + (l * HangulVCount + v) * HangulTCount;
            return true;
        }
        int s = first - HangulSBase, t = second - HangulTBase;
        if ((uint)s < HangulSCount && s % HangulTCount == 0 && t > 0 && t < HangulTCount)
        {
            composite = first + t;
            return true;
        }
        return CompositionMap.Value.TryGetValue(PairKey(first, second), out composite);
    }

    private static long PairKey(int first, int second) => ((long)first << 21) | (uint)second;
}
