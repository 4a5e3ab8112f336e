using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace BarkSharp.Hub;

/// <summary>
/// Downloads files of Hugging Face hub model repositories into the cache that huggingface_hub uses
/// (<c>models--{org}--{name}/{blobs,refs,snapshots}</c>), the way its <c>hf_hub_download</c> does: a HEAD request on
/// <c>{endpoint}/{repo}/resolve/{revision}/{path}</c> gives the commit (<c>X-Repo-Commit</c>), the file's etag
/// (<c>X-Linked-Etag</c>, the sha256 of LFS files, else <c>ETag</c>) and size, and for large files a redirect to the
/// CDN; the body goes to <c>blobs/{etag}.incomplete</c>, resumes with <c>Range</c> after an interruption, is checked
/// against the etag (sha256, or the git blob sha1 of small files) and is moved into place only when complete.
/// </summary>
/// <remarks>
/// <para>Differences from huggingface_hub: once a revision is in the cache its files are served from the recorded commit
/// without asking the hub (set <see cref="HubOptions.CheckForUpdates"/> to ask), and every download is verified.</para>
/// <para>One client keeps one <see cref="HttpClient"/>; dispose the client when done. Methods are safe to call
/// concurrently; a cross-process lock file guards each blob.</para>
/// </remarks>
internal sealed partial class HubClient : IDisposable
{
    private const int MaxRedirects = 5;
    private const int MaxAttempts = 3;
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(100);

    private readonly HttpClient _http;
    private readonly HubCache _cache;
    private readonly ILogger _logger;
    private readonly Dictionary<string, string> _pinnedCommits = new(StringComparer.Ordinal);
    private bool _cacheChecked; // set once the cache folder took a probe file (a race only probes twice)

    /// <summary>Creates a client; null options (or null properties) take huggingface_hub's environment variables.</summary>
    /// <exception cref="BarkHubException">The hub address is not an absolute http(s) URL, the revision is not a valid name, or <c>HF_HUB_OFFLINE</c> has an unknown value (<see cref="HubErrorKind.InvalidOptions"/>).</exception>
    public HubClient(HubOptions? options = null, ILoggerFactory? loggerFactory = null)
    {
        Options = (options ?? new HubOptions()).WithDefaults();
        Options.Validate();
        _cache = new HubCache(Options.CacheDirectory!);
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<HubClient>();
        _http = Options.HttpHandler is { } handler
            ? new HttpClient(handler, disposeHandler: false)
            : new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, ConnectTimeout = Options.Timeout, AutomaticDecompression = DecompressionMethods.None });
        _http.Timeout = Timeout.InfiniteTimeSpan; // each phase has its own deadline (Options.Timeout)
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("BarkSharp", typeof(HubClient).Assembly.GetName().Version?.ToString(3) ?? "0"));
    }

    /// <summary>The options in effect, every default filled in.</summary>
    public HubOptions Options { get; }

    /// <summary>The cache folder (holding <c>models--{org}--{name}</c>).</summary>
    public string CacheDirectory => _cache.Root;

    /// <summary>
    /// Whether <paramref name="value"/> has the shape of a hub repository id, <c>org/name</c> (letters, digits,
    /// <c>-</c>, <c>_</c>, <c>.</c>), rather than a folder path.
    /// </summary>
    public static bool IsRepoId(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        string[] parts = value.Split('/');
        return parts.Length == 2 && value.Length <= 96 && parts.All(p => p.Length > 0 && p != "." && p != ".." &&
            !p.StartsWith('-') && p.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'));
    }

    /// <summary>Whether <paramref name="value"/> is a usable hub address: an absolute http or https URL without query or fragment.</summary>
    public static bool IsHubAddress(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out Uri? uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
        && uri.Query.Length == 0 && uri.Fragment.Length == 0 && uri.Host.Length > 0;

    /// <summary>Whether <paramref name="value"/> can name a branch, tag or commit: no empty, <c>.</c> or <c>..</c> path parts, no backslash, no control characters.</summary>
    public static bool IsRevisionName(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return value.Length is > 0 and <= 256 && !value.Contains('\\') && !value.Any(char.IsControl) && !value.Split('/').Any(s => s is "" or "." or "..");
    }

    /// <summary>
    /// The snapshot folder the cache holds for <paramref name="repoId"/> at <see cref="HubOptions.Revision"/>, or null
    /// when nothing of it is cached (which files it holds is not checked).
    /// </summary>
    public string? CachedSnapshot(string repoId)
    {
        CheckRepoId(repoId);
        string? commit = _cache.ReadRef(repoId, Options.Revision!);
        return commit is not null && Directory.Exists(_cache.SnapshotFolder(repoId, commit)) ? _cache.SnapshotFolder(repoId, commit) : null;
    }

    /// <summary>The local path of a repository file, downloading it into the cache when needed.</summary>
    /// <param name="repoId">The repository, e.g. <c>suno/bark-small</c>.</param>
    /// <param name="path">The file's path in the repository, e.g. <c>config.json</c> or <c>speaker_embeddings/v2/en_speaker_6_semantic_prompt.npy</c>.</param>
    /// <param name="progress">Receives bytes and speed while the file downloads; nothing when it is cached.</param>
    /// <param name="cancellationToken">Stops the download; the partial file is kept and resumed next time.</param>
    /// <returns>The file under <c>snapshots/{commit}/</c>.</returns>
    /// <exception cref="BarkHubException">The repository, revision or file does not exist, access is denied, the hub cannot be reached (and the cache does not hold the file), or the download is corrupt.</exception>
    public async Task<string> GetFileAsync(string repoId, string path, IProgress<DownloadProgress>? progress = null, CancellationToken cancellationToken = default) =>
        await TryGetFileAsync(repoId, path, progress, cancellationToken).ConfigureAwait(false)
        ?? throw new BarkHubException(HubErrorKind.FileNotFound, repoId, path,
            $"{repoId} has no file '{path}' at revision '{Options.Revision}' ({Options.Endpoint}/{repoId}/tree/{Options.Revision}).");

    /// <summary>Like <see cref="GetFileAsync"/>, but returns null when the repository has no such file.</summary>
    /// <inheritdoc cref="GetFileAsync" path="/param"/>
    /// <exception cref="BarkHubException">The repository or revision does not exist, access is denied, the hub cannot be reached (and the cache does not hold the file), or the download is corrupt.</exception>
    public async Task<string?> TryGetFileAsync(string repoId, string path, IProgress<DownloadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        CheckRepoId(repoId);
        CheckPath(repoId, path);
        string revision = Options.Revision!;
        string? commit = PinnedCommit(repoId, revision);
        if (commit is not null)
        {
            string cached = _cache.SnapshotPath(repoId, commit, path);
            if (File.Exists(cached)) return cached;
            if (_cache.IsKnownMissing(repoId, commit, path)) return null;
        }
        if (Options.Offline == true)
        {
            throw new BarkHubException(HubErrorKind.NotCached, repoId, path, commit is null
                ? $"offline mode (HF_HUB_OFFLINE) is on and {repoId} (revision '{revision}') is not in the cache {_cache.RepoFolder(repoId)}. " +
                  "Download it once with network access (`bark download " + repoId + "`), or turn offline mode off."
                : $"offline mode (HF_HUB_OFFLINE) is on and '{path}' of {repoId} is not in the cache {_cache.SnapshotFolder(repoId, commit)}. " +
                  "Download it once with network access, or turn offline mode off.");
        }

        EnsureCacheWritable(repoId, path);
        FileMetadata meta;
        try
        {
            meta = await HeadAsync(repoId, commit ?? revision, path, cancellationToken).ConfigureAwait(false);
        }
        catch (BarkHubException e) when (e.Kind == HubErrorKind.Network && commit is null && _cache.ReadRef(repoId, revision) is { } known
                                         && File.Exists(_cache.SnapshotPath(repoId, known, path)))
        {
            LogUsingCache(_logger, repoId, path, e.Message);
            return _cache.SnapshotPath(repoId, known, path);
        }

        if (commit is null)
        {
            _cache.WriteRef(repoId, revision, meta.Commit);
            lock (_pinnedCommits) _pinnedCommits[PinKey(repoId, revision)] = meta.Commit;
        }
        if (meta.Missing)
        {
            _cache.MarkMissing(repoId, meta.Commit, path);
            return null;
        }

        string blob = _cache.BlobPath(repoId, meta.Etag);
        if (!File.Exists(blob))
        {
            using (await _cache.LockAsync(repoId, meta.Etag, cancellationToken).ConfigureAwait(false))
            {
                if (!File.Exists(blob)) await DownloadAsync(repoId, path, meta, blob, progress, cancellationToken).ConfigureAwait(false);
            }
        }
        return _cache.Link(repoId, meta.Commit, path, meta.Etag);
    }

    /// <summary>
    /// Downloads what <see cref="BarkModel"/> and <see cref="BarkProcessor"/> need from a Bark repository:
    /// <c>config.json</c>, <c>generation_config.json</c>, the weights (<c>model.safetensors</c> when the repository has
    /// it, else <c>pytorch_model.bin</c>), the tokenizer files and <c>speaker_embeddings_path.json</c>; the voice preset
    /// <c>.npy</c> files too when <paramref name="includeVoicePresets"/> (otherwise they come one by one when a voice is used).
    /// </summary>
    /// <returns>The snapshot folder, usable as a model folder.</returns>
    /// <exception cref="BarkHubException">A required file cannot be had; see <see cref="GetFileAsync"/>.</exception>
    public async Task<string> DownloadModelAsync(string repoId, bool includeVoicePresets = false, IProgress<DownloadProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        await DownloadModelFilesAsync(repoId, null, progress, cancellationToken).ConfigureAwait(false);
        string folder = await DownloadProcessorFilesAsync(repoId, progress, cancellationToken).ConfigureAwait(false);
        if (includeVoicePresets)
        {
            foreach (string file in VoicePresetIndex.Read(folder).Files)
                await GetFileAsync(repoId, file, progress, cancellationToken).ConfigureAwait(false);
        }
        return folder;
    }

    /// <summary>config.json, generation_config.json and the weights; returns the snapshot folder.</summary>
    internal async Task<string> DownloadModelFilesAsync(string repoId, string? weightsFileName, IProgress<DownloadProgress>? progress, CancellationToken cancellationToken)
    {
        string config = await GetFileAsync(repoId, "config.json", progress, cancellationToken).ConfigureAwait(false);
        await TryGetFileAsync(repoId, "generation_config.json", progress, cancellationToken).ConfigureAwait(false);
        string[] candidates = weightsFileName is null ? ["model.safetensors", "pytorch_model.bin"] : [weightsFileName];
        foreach (string weights in candidates)
            if (await TryGetFileAsync(repoId, weights, progress, cancellationToken).ConfigureAwait(false) is not null)
                return Path.GetDirectoryName(config)!;
        throw new BarkHubException(HubErrorKind.FileNotFound, repoId, candidates[^1],
            $"{repoId} (revision '{Options.Revision}') has no weights: neither {string.Join(" nor ", candidates)} exists. Is it a Bark model repository?");
    }

    /// <summary>The tokenizer files and the voice preset index; returns the snapshot folder.</summary>
    internal async Task<string> DownloadProcessorFilesAsync(string repoId, IProgress<DownloadProgress>? progress, CancellationToken cancellationToken)
    {
        string? vocab = await TryGetFileAsync(repoId, "vocab.txt", progress, cancellationToken).ConfigureAwait(false)
                        ?? await TryGetFileAsync(repoId, "tokenizer.json", progress, cancellationToken).ConfigureAwait(false)
                        ?? throw new BarkHubException(HubErrorKind.FileNotFound, repoId, "vocab.txt",
                            $"{repoId} (revision '{Options.Revision}') has neither vocab.txt nor tokenizer.json; Bark's tokenizer needs one of them.");
        await TryGetFileAsync(repoId, "tokenizer_config.json", progress, cancellationToken).ConfigureAwait(false);
        await TryGetFileAsync(repoId, "special_tokens_map.json", progress, cancellationToken).ConfigureAwait(false);
        if (await TryGetFileAsync(repoId, "speaker_embeddings_path.json", progress, cancellationToken).ConfigureAwait(false) is null)
            await TryGetFileAsync(repoId, "processor_config.json", progress, cancellationToken).ConfigureAwait(false);
        return Path.GetDirectoryName(vocab)!;
    }

    /// <summary>The commit this client uses for the repository (after at least one file was resolved), or null.</summary>
    internal string? ResolvedCommit(string repoId) => PinnedCommit(repoId, Options.Revision!);

    /// <inheritdoc />
    public void Dispose() => _http.Dispose();

    /// <summary>
    /// Fails before any request when the cache folder cannot take downloads (HF_HUB_CACHE pointing at a file, a
    /// read-only place), probing the nearest existing folder on the way to it and leaving nothing behind.
    /// </summary>
    private void EnsureCacheWritable(string repoId, string path)
    {
        if (_cacheChecked) return;
        string folder = _cache.RepoFolder(repoId);
        while (!Directory.Exists(folder) && !File.Exists(folder) && Path.GetDirectoryName(folder) is { } parent) folder = parent;
        string? problem = null;
        if (File.Exists(folder))
        {
            problem = folder == _cache.Root ? "it is a file, not a folder" : $"'{folder}' is a file, not a folder";
        }
        else
        {
            try
            {
                IO.OutputFile.Check(Path.Combine(folder, ".bark-write-test"));
            }
            catch (BarkOutputException)
            {
                problem = $"no file can be created in '{folder}'";
            }
        }
        if (problem is not null)
        {
            throw new BarkHubException(HubErrorKind.InvalidOptions, repoId, path,
                $"the hub cache folder '{_cache.Root}' cannot be written ({problem}), so {repoId} cannot be downloaded. " +
                "Point HF_HUB_CACHE (or HF_HOME) at a writable folder, or set HF_HUB_OFFLINE=1 to use only what the cache already holds.");
        }
        _cacheChecked = true;
    }

    // ---------------------------------------------------------------- metadata

    private sealed record FileMetadata(string Commit, string Etag, long? Size, Uri DownloadUrl, bool Missing);

    private string? PinnedCommit(string repoId, string revision)
    {
        lock (_pinnedCommits)
            if (_pinnedCommits.TryGetValue(PinKey(repoId, revision), out string? pinned)) return pinned;
        if (HubCache.IsCommitHash(revision)) return revision;
        return Options.CheckForUpdates && Options.Offline != true ? null : _cache.ReadRef(repoId, revision);
    }

    private static string PinKey(string repoId, string revision) => repoId + "@" + revision;

    private Uri ResolveUrl(string repoId, string revision, string path) =>
        new($"{Options.Endpoint}/{repoId}/resolve/{Uri.EscapeDataString(revision)}/{string.Join('/', path.Split('/').Select(Uri.EscapeDataString))}");

    private async Task<FileMetadata> HeadAsync(string repoId, string revision, string path, CancellationToken cancellationToken)
    {
        Uri url = ResolveUrl(repoId, revision, path);
        for (int hop = 0; ; hop++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Head, url);
            request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("identity"));
            AddAuthorization(request, url);
            using HttpResponseMessage response = await SendAsync(request, repoId, path, cancellationToken).ConfigureAwait(false);
            int status = (int)response.StatusCode;
            string? commit = Header(response, "X-Repo-Commit");

            if (status is >= 300 and < 400)
            {
                Uri? location = response.Headers.Location;
                if (location is null) throw Error(HubErrorKind.Network, repoId, path, $"the hub answered {status} without a Location header for {url}.");
                // A relative redirect means the repository was renamed: ask again there. An absolute one points at the
                // CDN holding the bytes; the metadata is already in this response.
                if (!location.IsAbsoluteUri)
                {
                    if (hop >= MaxRedirects) throw Error(HubErrorKind.Network, repoId, path, $"too many redirects resolving {url}.");
                    url = new Uri(url, location);
                    continue;
                }
                return Metadata(response, repoId, path, commit, location);
            }
            if (response.IsSuccessStatusCode) return Metadata(response, repoId, path, commit, url);
            if (status == 404 && ErrorCode(response) == "EntryNotFound" && commit is not null)
                return new FileMetadata(commit, "", null, url, Missing: true);
            throw StatusError(response, repoId, path, revision);
        }
    }

    private FileMetadata Metadata(HttpResponseMessage response, string repoId, string path, string? commit, Uri downloadUrl)
    {
        if (commit is null || !HubCache.IsCommitHash(commit))
            throw Error(HubErrorKind.Network, repoId, path, $"{Options.Endpoint} did not send the commit of {repoId} (X-Repo-Commit header); is HF_ENDPOINT a Hugging Face hub?");
        string? etag = NormalizeEtag(Header(response, "X-Linked-Etag") ?? response.Headers.ETag?.Tag ?? Header(response, "ETag"));
        if (etag is null || etag.Length == 0 || etag.IndexOfAny(['/', '\\']) >= 0 || etag.Contains("..", StringComparison.Ordinal))
            throw Error(HubErrorKind.Network, repoId, path, $"{Options.Endpoint} sent no usable ETag for '{path}' of {repoId}.");
        long? size = long.TryParse(Header(response, "X-Linked-Size"), out long linked) ? linked : response.Content.Headers.ContentLength;
        return new FileMetadata(commit, etag, size, downloadUrl, Missing: false);
    }

    // ---------------------------------------------------------------- download

    private async Task DownloadAsync(string repoId, string path, FileMetadata meta, string blob, IProgress<DownloadProgress>? progress, CancellationToken cancellationToken)
    {
        string incomplete = blob + ".incomplete";
        Directory.CreateDirectory(Path.GetDirectoryName(blob)!);
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                await TransferAsync(repoId, path, meta, incomplete, progress, cancellationToken).ConfigureAwait(false);
                break;
            }
            catch (BarkHubException e) when (e.Kind == HubErrorKind.Network && e.InnerException is not null && attempt < MaxAttempts)
            {
                LogRetrying(_logger, path, repoId, attempt, e.Message);
            }
        }

        long length = new FileInfo(incomplete).Length;
        string? problem = meta.Size is { } size && size != length
            ? $"{length} bytes arrived but the hub announced {size}"
            : await ChecksumProblemAsync(incomplete, meta.Etag, length, cancellationToken).ConfigureAwait(false);
        if (problem is not null)
        {
            File.Delete(incomplete);
            throw Error(HubErrorKind.Integrity, repoId, path, $"the download of '{path}' from {repoId} is corrupt ({problem}); it was discarded. Run the command again to download it anew.");
        }
        File.Move(incomplete, blob, overwrite: true);
        progress?.Report(new DownloadProgress(repoId, path, length, meta.Size, 0, Completed: true));
        LogDownloaded(_logger, path, repoId, length);
    }

    /// <summary>Appends the rest of the file to <paramref name="incomplete"/>, resuming from its length.</summary>
    private async Task TransferAsync(string repoId, string path, FileMetadata meta, string incomplete, IProgress<DownloadProgress>? progress, CancellationToken cancellationToken)
    {
        long resumeFrom = File.Exists(incomplete) ? new FileInfo(incomplete).Length : 0;
        if (meta.Size is { } size && resumeFrom >= size)
        {
            if (resumeFrom == size) return;
            File.Delete(incomplete);
            resumeFrom = 0;
        }

        Uri url = meta.DownloadUrl;
        for (int hop = 0; ; hop++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("identity"));
            if (resumeFrom > 0) request.Headers.Range = new RangeHeaderValue(resumeFrom, null);
            AddAuthorization(request, url);
            using HttpResponseMessage response = await SendAsync(request, repoId, path, cancellationToken).ConfigureAwait(false);
            int status = (int)response.StatusCode;
            if (status is >= 300 and < 400 && response.Headers.Location is { } location)
            {
                if (hop >= MaxRedirects) throw Error(HubErrorKind.Network, repoId, path, $"too many redirects downloading {meta.DownloadUrl}.");
                url = new Uri(url, location);
                continue;
            }
            if (status == 416 && resumeFrom > 0)
            {
                // The partial file is longer than the server's file: start over.
                File.Delete(incomplete);
                resumeFrom = 0;
                url = meta.DownloadUrl;
                hop = -1;
                continue;
            }
            if (!response.IsSuccessStatusCode) throw StatusError(response, repoId, path, meta.Commit);

            bool append = resumeFrom > 0 && status == 206 && response.Content.Headers.ContentRange?.From == resumeFrom;
            if (resumeFrom > 0 && append) LogResuming(_logger, path, repoId, resumeFrom);
            long done = append ? resumeFrom : 0;
            await using var file = new FileStream(incomplete, append ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
            using var stall = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var clock = Stopwatch.StartNew();
            TimeSpan lastReport = -ProgressInterval; // report the first bytes at once
            long transferred = 0;
            try
            {
                await using Stream body = await response.Content.ReadAsStreamAsync(stall.Token).ConfigureAwait(false);
                byte[] buffer = new byte[1 << 16];
                while (true)
                {
                    stall.CancelAfter(Options.Timeout);
                    int n = await body.ReadAsync(buffer, stall.Token).ConfigureAwait(false);
                    if (n == 0) break;
                    await file.WriteAsync(buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
                    done += n;
                    transferred += n;
                    if (progress is not null && clock.Elapsed - lastReport >= ProgressInterval)
                    {
                        lastReport = clock.Elapsed;
                        progress.Report(new DownloadProgress(repoId, path, done, meta.Size, transferred / Math.Max(clock.Elapsed.TotalSeconds, 1e-6), Completed: false));
                    }
                }
            }
            catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
            {
                throw Error(HubErrorKind.Network, repoId, path, $"the download of '{path}' from {repoId} stalled for {Options.Timeout.TotalSeconds:F0} s at {done} bytes; run again to resume.", e);
            }
            catch (Exception e) when (e is IOException or HttpRequestException)
            {
                throw Error(HubErrorKind.Network, repoId, path, $"the download of '{path}' from {repoId} broke off at {done} bytes ({e.Message}); run again to resume.", e);
            }
            if (meta.Size is { } expected && done < expected)
                throw Error(HubErrorKind.Network, repoId, path, $"the connection closed after {done} of {expected} bytes of '{path}' from {repoId}; run again to resume.", new EndOfStreamException());
            return;
        }
    }

    /// <summary>Compares the file with its etag: a sha256 (LFS files) or the git blob sha1 (other files). Unknown etag forms are not checked.</summary>
    private static async Task<string?> ChecksumProblemAsync(string file, string etag, long length, CancellationToken cancellationToken)
    {
        bool isSha256 = etag.Length == 64 && etag.All(char.IsAsciiHexDigitLower);
        bool isGitSha1 = etag.Length == 40 && etag.All(char.IsAsciiHexDigitLower);
        if (!isSha256 && !isGitSha1) return null;
        using IncrementalHash hash = IncrementalHash.CreateHash(isSha256 ? HashAlgorithmName.SHA256 : HashAlgorithmName.SHA1);
        if (isGitSha1) hash.AppendData(Encoding.ASCII.GetBytes($"blob {length}\0"));
        await using (var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true))
        {
            byte[] buffer = new byte[1 << 20];
            int n;
            while ((n = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0) hash.AppendData(buffer, 0, n);
        }
        string actual = Convert.ToHexStringLower(hash.GetHashAndReset());
        return actual == etag ? null : $"its {(isSha256 ? "sha256" : "git sha1")} is {actual}, the hub announced {etag}";
    }

    // ---------------------------------------------------------------- HTTP plumbing

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, string repoId, string path, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Options.Timeout);
        try
        {
            return await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw Error(HubErrorKind.Network, repoId, path, $"{request.RequestUri!.GetLeftPart(UriPartial.Authority)} did not answer within {Options.Timeout.TotalSeconds:F0} s. " +
                                                           "Check the network, or set HF_HUB_OFFLINE=1 to use only the cache.", e);
        }
        catch (HttpRequestException e)
        {
            throw Error(HubErrorKind.Network, repoId, path, $"cannot reach {request.RequestUri!.GetLeftPart(UriPartial.Authority)} ({e.Message}). " +
                                                           "Check the network (or HF_ENDPOINT), or set HF_HUB_OFFLINE=1 to use only the cache.", e);
        }
    }

    /// <summary>Sends the token to the hub itself only, never to the CDN a download is redirected to.</summary>
    private void AddAuthorization(HttpRequestMessage request, Uri url)
    {
        if (string.IsNullOrEmpty(Options.Token)) return;
        if (Uri.Compare(url, new Uri(Options.Endpoint!), UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) != 0) return;
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Options.Token);
    }

    private BarkHubException StatusError(HttpResponseMessage response, string repoId, string path, string revision)
    {
        int status = (int)response.StatusCode;
        string? code = ErrorCode(response);
        string token = string.IsNullOrEmpty(Options.Token) ? "no token was sent (set HF_TOKEN)" : "the token that was sent is not accepted for it";
        return code switch
        {
            "RepoNotFound" => Error(HubErrorKind.RepositoryNotFound, repoId, path,
                $"repository '{repoId}' was not found on {Options.Endpoint}. Check the name; if it is private or gated, {token}."),
            "RevisionNotFound" => Error(HubErrorKind.RevisionNotFound, repoId, path, $"{repoId} has no revision '{revision}' (branch, tag or commit)."),
            "EntryNotFound" => Error(HubErrorKind.FileNotFound, repoId, path, $"{repoId} has no file '{path}' at revision '{revision}'."),
            "GatedRepo" => Error(HubErrorKind.AccessDenied, repoId, path,
                $"{repoId} is gated: accept its conditions at {Options.Endpoint}/{repoId} and set HF_TOKEN to a token of that account ({token})."),
            _ when status == 401 => Error(HubErrorKind.RepositoryNotFound, repoId, path,
                $"{Options.Endpoint} answered 401 for {repoId}: the repository does not exist, or it is private or gated and {token}."),
            _ when status == 403 => Error(HubErrorKind.AccessDenied, repoId, path, $"{Options.Endpoint} refused access to {repoId} (403); {token}."),
            _ when status == 404 => Error(HubErrorKind.FileNotFound, repoId, path, $"'{path}' of {repoId} at revision '{revision}' was not found (404)."),
            _ => Error(HubErrorKind.Network, repoId, path, $"{Options.Endpoint} answered {status} {response.ReasonPhrase} for '{path}' of {repoId}. Try again later, or set HF_HUB_OFFLINE=1 to use the cache."),
        };
    }

    private static string? ErrorCode(HttpResponseMessage response) => Header(response, "X-Error-Code");

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out IEnumerable<string>? values) || response.Content.Headers.TryGetValues(name, out values)
            ? values.FirstOrDefault()
            : null;

    private static string? NormalizeEtag(string? etag) =>
        etag is null ? null : (etag.StartsWith("W/", StringComparison.Ordinal) ? etag[2..] : etag).Trim('"');

    private static BarkHubException Error(HubErrorKind kind, string repoId, string? path, string message, Exception? inner = null) =>
        new(kind, repoId, path, message, inner);

    private static void CheckRepoId(string repoId)
    {
        ArgumentNullException.ThrowIfNull(repoId);
        if (!IsRepoId(repoId))
            throw new BarkHubException(HubErrorKind.InvalidOptions, repoId, null, $"'{repoId}' is not a hub repository id; ids look like 'suno/bark-small' (organization/name).");
    }

    private static void CheckPath(string repoId, string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path.Length == 0 || Path.IsPathRooted(path) || path.Contains('\\') || path.Split('/').Any(s => s is "" or "." or ".."))
            throw new BarkHubException(HubErrorKind.FileNotFound, repoId, path, $"'{path}' is not a valid file path inside a repository.");
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot check {Repo} for '{Path}' ({Reason}); using the cached copy")]
    private static partial void LogUsingCache(ILogger logger, string repo, string path, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Download of '{Path}' from {Repo} failed (attempt {Attempt}): {Reason}; resuming")]
    private static partial void LogRetrying(ILogger logger, string path, string repo, int attempt, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Resuming '{Path}' of {Repo} at byte {Offset}")]
    private static partial void LogResuming(ILogger logger, string path, string repo, long offset);

    [LoggerMessage(Level = LogLevel.Information, Message = "Downloaded '{Path}' of {Repo} ({Bytes} bytes)")]
    private static partial void LogDownloaded(ILogger logger, string path, string repo, long bytes);
}
