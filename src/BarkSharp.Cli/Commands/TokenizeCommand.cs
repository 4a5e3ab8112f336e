using System.CommandLine;
using System.Text.Json;

namespace BarkSharp.Cli.Commands;

/// <summary><c>bark tokenize</c>: what the processor makes of a text, to see why a long text was cut.</summary>
internal static class TokenizeCommand
{
    private static readonly JsonSerializerOptions Compact = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Command Create(CliContext context)
    {
        var text = new Argument<string[]>("TEXT") { Description = "The text (several arguments are joined with spaces).", Arity = ArgumentArity.OneOrMore };
        var json = new Option<bool>("--json")
        {
            Description = "Print {\"input_ids\", \"attention_mask\", \"token_count\", \"truncated\", \"tokens\"}: the 256 ids and mask the " +
                          "semantic model reads (before its 10048 offset), the number of WordPiece tokens of the whole text, whether some " +
                          "were cut, and every token of the text.",
        };
        var model = new ModelSelection();
        var command = new Command("tokenize", "Show the ids and tokens Bark reads for a text, and whether it is cut at 256 tokens.") { text, json };
        model.AddTo(command);

        command.SetAction(async (result, cancellationToken) =>
        {
            string input = string.Join(' ', result.GetValue(text) ?? []);
            if (string.IsNullOrWhiteSpace(input)) throw new CliException(ExitCodes.Usage, "the text is empty; there is nothing to tokenize.");
            BarkProcessor processor = model.LoadProcessor(result, context);
            // Truncation on: the row then holds exactly what reaches the semantic model.
            BarkInputs inputs = processor.Process(input, (string?)null, new BarkProcessorOptions { Truncation = true, MaxLength = BarkProcessor.SemanticTextLength });
            IReadOnlyList<string> tokens = processor.Tokenizer.Tokenize(input);
            int count = inputs.TokenCounts[0];

            if (result.GetValue(json))
            {
                var document = new Dictionary<string, object>
                {
                    ["input_ids"] = inputs.InputIds[0],
                    ["attention_mask"] = inputs.AttentionMask[0],
                    ["token_count"] = count,
                    ["truncated"] = inputs.Truncated[0],
                    ["tokens"] = tokens,
                };
                await context.Out.WriteLineAsync(JsonSerializer.Serialize(document, Compact));
                return ExitCodes.Success;
            }

            int shown = Math.Min(count, BarkProcessor.SemanticTextLength);
            await context.Out.WriteLineAsync($"{count} tokens; the semantic model reads the first {BarkProcessor.SemanticTextLength}.");
            await context.Out.WriteLineAsync($"ids     {string.Join(' ', inputs.InputIds[0].Take(shown))}" +
                                             (shown < BarkProcessor.SemanticTextLength ? $" (then {BarkProcessor.SemanticTextLength - shown} padding positions)" : ""));
            await context.Out.WriteLineAsync($"tokens  {string.Join(" | ", tokens.Take(BarkProcessor.SemanticTextLength))}");
            if (inputs.Truncated[0])
            {
                await context.Out.WriteLineAsync($"cut: the last {count - BarkProcessor.SemanticTextLength} tokens are not spoken:");
                await context.Out.WriteLineAsync(string.Join(" | ", tokens.Skip(BarkProcessor.SemanticTextLength)));
            }
            return ExitCodes.Success;
        });
        return command;
    }
}
