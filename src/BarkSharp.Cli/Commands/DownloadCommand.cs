using System.CommandLine;
using BarkSharp.Hub;

namespace BarkSharp.Cli.Commands;

/// <summary><c>bark download</c>: fetch a model into the Hugging Face cache (shared with Python).</summary>
internal static class DownloadCommand
{
    public static Command Create(CliContext context)
    {
        var model = new ModelSelection();
        var voices = new Option<bool>("--voices") { Description = "Also download every voice preset (otherwise each is fetched when first used)." };
        var command = new Command("download", "Download a Bark model into the Hugging Face cache (HF_HUB_CACHE, HF_HOME/hub or ~/.cache/huggingface/hub).\n" +
                                              "Example: bark download suno/bark-small (or --model suno/bark-small)")
        {
            voices,
        };
        model.AddTo(command, positional: true, positionalName: "REPO");

        command.SetAction(async (result, cancellationToken) =>
        {
            string repoId = model.ModelId(result);
            if (!HubClient.IsRepoId(repoId))
            {
                throw new CliException(ExitCodes.Usage, Directory.Exists(repoId)
                    ? $"'{repoId}' is a local folder; bark download fetches hub repositories (ids like '{ModelSelection.DefaultModel}'), and a folder is used as it is with --model."
                    : $"'{repoId}' is not a hub repository id; ids look like '{ModelSelection.DefaultModel}' (organization/name).");
            }
            // Ask the hub whether the revision moved, unlike other commands, which reuse what the cache holds.
            using var hub = new HubClient(context.Hub(result.GetValue(model.Revision), checkForUpdates: true));
            ProgressView view = ProgressView.Create(context);
            string folder = await view.RunAsync(() => hub.DownloadModelAsync(repoId, result.GetValue(voices), view.Downloads, cancellationToken));
            long bytes = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Sum(ModelSelection.FileSize);
            await context.Out.WriteLineAsync($"{repoId} (revision {hub.Options.Revision}, commit {Path.GetFileName(folder)}) is in {folder} ({ProgressView.Bytes(bytes)})");
            return ExitCodes.Success;
        });
        return command;
    }
}
