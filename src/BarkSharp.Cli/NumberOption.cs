using System.CommandLine;
using System.Globalization;
using System.Numerics;

namespace BarkSharp.Cli;

/// <summary>
/// Numeric options whose parse errors are sentences for people ("--seed takes a whole number from 0 to …, not '-1'")
/// rather than System.CommandLine's, which name .NET types.
/// </summary>
internal static class NumberOption
{
    /// <summary>An optional whole-number option accepting <paramref name="min"/>..<paramref name="max"/>.</summary>
    public static Option<T?> Whole<T>(string name, string description, T min, T max, string helpName = "N") where T : struct, IBinaryInteger<T>, IMinMaxValue<T> =>
        Create(name, description, helpName, min, max, NumberStyles.Integer, "a whole number");

    /// <summary>An optional decimal-number option accepting <paramref name="min"/>..<paramref name="max"/> (no NaN or infinity).</summary>
    public static Option<double?> Real(string name, string description, double min, double max, string helpName) =>
        Create(name, description, helpName, min, max, NumberStyles.Float, "a number");

    private static Option<T?> Create<T>(string name, string description, string helpName, T min, T max, NumberStyles styles, string kind) where T : struct, INumber<T> =>
        new(name)
        {
            Description = description,
            HelpName = helpName,
            CustomParser = result =>
            {
                string text = result.Tokens.Count == 1 ? result.Tokens[0].Value : string.Join(' ', result.Tokens.Select(t => t.Value));
                if (T.TryParse(text.Trim(), styles, CultureInfo.InvariantCulture, out T value) && !T.IsNaN(value) && value >= min && value <= max)
                    return value;
                result.AddError(string.Create(CultureInfo.InvariantCulture, $"{name} takes {kind} from {min} to {max}, not '{text}'."));
                return null;
            },
        };
}
