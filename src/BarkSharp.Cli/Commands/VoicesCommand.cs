using System.CommandLine;

namespace BarkSharp.Cli.Commands;

/// <summary><c>bark voices</c>: the voice presets a model offers.</summary>
internal static class VoicesCommand
{
    public static Command Create(CliContext context)
    {
        var model = new ModelSelection();
        var command = new Command("voices", "List the voice presets of a model (names for --voice).");
        model.AddTo(command, positional: true);
        command.SetAction(async (result, cancellationToken) =>
        {
            BarkProcessor processor = model.LoadProcessor(result, context);
            if (processor.AvailablePresets.Count == 0)
            {
                await context.Error.WriteLineAsync($"{model.ModelId(result)} has no voice presets (no speaker_embeddings_path.json); use --voice FILE.npz.");
                return ExitCodes.Success;
            }
            foreach (string name in processor.AvailablePresets) await context.Out.WriteLineAsync(name);
            return ExitCodes.Success;
        });
        return command;
    }
}
