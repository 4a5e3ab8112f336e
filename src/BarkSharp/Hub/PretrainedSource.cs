using Microsoft.Extensions.Logging;

namespace BarkSharp.Hub;

/// <summary>
/// Turns the string given to <c>FromPretrained</c> into a local folder: an existing folder is used as it is; otherwise a
/// string shaped like <c>org/name</c> is a hub repository whose files are fetched into the cache (or found there).
/// </summary>
internal static class PretrainedSource
{
    /// <summary>The folder with config.json, generation_config.json and the weights.</summary>
    public static string ModelFolder(string modelIdOrFolder, BarkModelOptions options, ILoggerFactory? loggerFactory,
        IProgress<DownloadProgress>? progress, CancellationToken cancellationToken)
    {
        if (Directory.Exists(modelIdOrFolder)) return modelIdOrFolder;
        string repoId = RepoIdOrThrow(modelIdOrFolder);
        using var hub = new HubClient(options.Hub, loggerFactory);
        return Wait(hub.DownloadModelFilesAsync(repoId, options.WeightsFileName, progress, cancellationToken));
    }

    /// <summary>The folder with the tokenizer files and the preset index, and a fetcher for preset files (null for a plain folder).</summary>
    public static (string Folder, Func<string, CancellationToken, string?>? FetchPreset) ProcessorFolder(string modelIdOrFolder, HubOptions? options,
        ILoggerFactory? loggerFactory, IProgress<DownloadProgress>? progress, CancellationToken cancellationToken)
    {
        if (Directory.Exists(modelIdOrFolder)) return (modelIdOrFolder, null);
        string repoId = RepoIdOrThrow(modelIdOrFolder);
        string folder;
        string commit;
        using (var hub = new HubClient(options, loggerFactory))
        {
            folder = Wait(hub.DownloadProcessorFilesAsync(repoId, progress, cancellationToken));
            commit = hub.ResolvedCommit(repoId) ?? Path.GetFileName(folder);
        }
        // Preset files come later, one voice at a time, from the same commit as the rest of the snapshot.
        HubOptions pinned = (options ?? new HubOptions()) with { Revision = commit, CheckForUpdates = false };
        return (folder, FetchPreset);

        string? FetchPreset(string relative, CancellationToken token)
        {
            using var hub = new HubClient(pinned, loggerFactory);
            return Wait(hub.TryGetFileAsync(repoId, relative, progress: null, token));
        }
    }

    private static string RepoIdOrThrow(string modelIdOrFolder)
    {
        if (HubClient.IsRepoId(modelIdOrFolder)) return modelIdOrFolder;
        throw new BarkConfigException($"'{modelIdOrFolder}' is neither an existing model folder nor a hub repository id (like 'suno/bark-small'). " +
                                "Pass the folder of a downloaded Bark model or a repository id.");
    }

    // FromPretrained is synchronous; the hub client awaits with ConfigureAwait(false) throughout, so blocking is safe.
    private static T Wait<T>(Task<T> task) => task.GetAwaiter().GetResult();
}
