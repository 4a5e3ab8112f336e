using System.Text.RegularExpressions;

namespace BarkSharp.Hub;

/// <summary>
/// huggingface_hub's cache layout, so that files downloaded by Python and by .NET are shared:
/// <code>
/// {cache}/models--{org}--{name}/
///     refs/{revision}                 the commit sha a branch or tag pointed to when last resolved
///     blobs/{etag}                    file contents, named by the hub's etag (sha256 for LFS files, git blob sha1 otherwise)
///     blobs/{etag}.incomplete         a download in progress, resumed from its length
///     snapshots/{commit}/{path}       relative symbolic links to ../../blobs/{etag} (copies where links fail)
///     .no_exist/{commit}/{path}       empty markers: the repository has no such file at that commit
/// {cache}/.locks/models--{org}--{name}/{etag}.lock
/// </code>
/// </summary>
internal sealed partial class HubCache(string root)
{
    public string Root { get; } = Path.GetFullPath(root);

    public static string RepoFolderName(string repoId) => "models--" + repoId.Replace("/", "--", StringComparison.Ordinal);

    public string RepoFolder(string repoId) => Path.Combine(Root, RepoFolderName(repoId));

    public string SnapshotFolder(string repoId, string commit) => Path.Combine(RepoFolder(repoId), "snapshots", commit);

    public string SnapshotPath(string repoId, string commit, string path) => Path.Combine(SnapshotFolder(repoId, commit), path);

    public string BlobPath(string repoId, string etag) => Path.Combine(RepoFolder(repoId), "blobs", etag);

    public static bool IsCommitHash(string revision) => CommitHash().IsMatch(revision);

    /// <summary>The commit a revision resolves to in the cache: the sha itself when its snapshot exists, else <c>refs/{revision}</c>.</summary>
    public string? ReadRef(string repoId, string revision)
    {
        if (IsCommitHash(revision)) return Directory.Exists(SnapshotFolder(repoId, revision)) ? revision : null;
        string refPath = Path.Combine(RepoFolder(repoId), "refs", revision);
        if (!File.Exists(refPath)) return null;
        string commit = File.ReadAllText(refPath).Trim();
        return IsCommitHash(commit) ? commit : null;
    }

    public void WriteRef(string repoId, string revision, string commit)
    {
        if (revision == commit) return;
        string refPath = Path.Combine(RepoFolder(repoId), "refs", revision);
        if (File.Exists(refPath) && File.ReadAllText(refPath).Trim() == commit) return;
        WriteAtomically(refPath, commit);
    }

    public bool IsKnownMissing(string repoId, string commit, string path) =>
        File.Exists(Path.Combine(RepoFolder(repoId), ".no_exist", commit, path));

    public void MarkMissing(string repoId, string commit, string path)
    {
        string marker = Path.Combine(RepoFolder(repoId), ".no_exist", commit, path);
        Directory.CreateDirectory(Path.GetDirectoryName(marker)!);
        using (File.Create(marker)) { }
    }

    /// <summary>Points <c>snapshots/{commit}/{path}</c> at <c>blobs/{etag}</c>: a relative symbolic link, or a copy where links are not allowed.</summary>
    public string Link(string repoId, string commit, string path, string etag)
    {
        string snapshot = SnapshotPath(repoId, commit, path);
        string blob = BlobPath(repoId, etag);
        string folder = Path.GetDirectoryName(snapshot)!;
        Directory.CreateDirectory(folder);
        if (File.Exists(snapshot) || new FileInfo(snapshot).LinkTarget is not null) File.Delete(snapshot);
        try
        {
            File.CreateSymbolicLink(snapshot, Path.GetRelativePath(folder, blob));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or PlatformNotSupportedException)
        {
            // Windows without developer mode, or a file system without links: huggingface_hub copies too.
            IO.OutputFile.Write(snapshot, target =>
            {
                using FileStream source = File.OpenRead(blob);
                source.CopyTo(target);
            });
        }
        return snapshot;
    }

    /// <summary>
    /// Holds <c>.locks/models--{org}--{name}/{etag}.lock</c> exclusively (the same file huggingface_hub's <c>FileLock</c>
    /// uses), so two processes never write one blob at once. Waits, polling, until free or cancelled.
    /// </summary>
    public async Task<IDisposable> LockAsync(string repoId, string etag, CancellationToken cancellationToken)
    {
        string path = Path.Combine(Root, ".locks", RepoFolderName(repoId), etag + ".lock");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException)
            {
                await Task.Delay(100, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static void WriteAtomically(string path, string content)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        IO.OutputFile.Write(path, stream => stream.Write(System.Text.Encoding.UTF8.GetBytes(content)));
    }

    [GeneratedRegex("^[0-9a-f]{40}$")]
    private static partial Regex CommitHash();
}
