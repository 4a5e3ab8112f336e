using System.CommandLine;
using BarkSharp.Hub;

namespace BarkSharp.Cli.Commands;

/// <summary><c>bark download</c>: fetch a model into the Hugging Face cache (shared with Python).</summary>
internal static class DownloadCommand
{
    public static Command Create(CliContext context)
    {
        var repo = new Argument<string>("REPO") { Description = "Hub repository id, e.g. suno/bark-small or suno/bark.", DefaultValueFactory = _ => ModelSelection.DefaultModel };
        var revision = new Option<string?>("--revision") { Description = "Branch, tag or commit (default: main).", HelpName = "REV" };
        var voices = new Option<bool>("--voices") { Description = "Also download every voice preset (otherwise each is fetched when first used)." };
        var command = new Command("download", "Download a Bark model into the Hugging Face cache (HF_HUB_CACHE, HF_HOME/hub or ~/.cache/huggingface/hub).")
        {
            repo, revision, voices,
        };

        command.SetAction(async (result, cancellationToken) =>
        {
            string repoId = result.GetValue(repo)!;
            if (!HubClient.IsRepoId(repoId))
                throw new CliException(ExitCodes.Usage, $"'{repoId}' is not a hub repository id; ids look like '{ModelSelection.DefaultModel}'.");
            // Ask the hub whether the revision moved, unlike other commands, which reuse what the cache holds.
            using var hub = new HubClient(context.Hub(result.GetValue(revision), checkForUpdates: true));
            ProgressView view = ProgressView.Create(context);
            string folder = await view.RunAsync(() => hub.DownloadModelAsync(repoId, result.GetValue(voices), view.Downloads, cancellationToken));
            long bytes = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Sum(ModelSelection.FileSize);
            await context.Out.WriteLineAsync($"{repoId} (revision {hub.Options.Revision}, commit {Path.GetFileName(folder)}) is in {folder} ({ProgressView.Bytes(bytes)})");
            return ExitCodes.Success;
        });
        return command;
    }
}
