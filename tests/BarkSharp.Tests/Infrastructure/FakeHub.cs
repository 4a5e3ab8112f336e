using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace BarkSharp.Tests.Infrastructure;

/// <summary>
/// A Hugging Face hub on 127.0.0.1 serving one folder as one repository at one commit, with the hub's headers:
/// <c>/{repo}/resolve/{revision}/{path}</c> answers small files with <c>ETag</c> (git blob sha1), and LFS files
/// (<c>.safetensors</c>, <c>.bin</c>, <c>.npy</c>) with a 302 to <c>/cdn/{sha256}</c> plus <c>X-Linked-Etag</c> and
/// <c>X-Linked-Size</c> (the CDN listens on a second port, another origin, like the real one); every answer carries <c>X-Repo-Commit</c>; errors carry <c>X-Error-Code</c>. The CDN honours
/// <c>Range</c>. Every request is recorded, and per-file faults (truncate, corrupt, stall) can be switched on.
/// </summary>
public sealed class FakeHub : IDisposable
{
    /// <summary>The commit every revision resolves to.</summary>
    public const string Commit = "0123456789abcdef0123456789abcdef01234567";

    private readonly HttpListener _listener;
    private readonly HttpListener _cdnListener;
    private readonly Dictionary<string, byte[]> _files = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _etags = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _byCdnKey = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<FakeHubRequest> _requests = new();
    private readonly ConcurrentDictionary<string, FakeHubFault> _faults = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _gets = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly Task _cdnLoop;

    /// <summary>Serves <paramref name="folder"/> (recursively, minus <paramref name="exclude"/>) as <paramref name="repoId"/>.</summary>
    public FakeHub(string folder, string repoId = "suno/bark-small", string? requiredToken = null, IEnumerable<string>? exclude = null)
    {
        RepoId = repoId;
        RequiredToken = requiredToken;
        var skip = new HashSet<string>(exclude ?? [], StringComparer.Ordinal);
        foreach (string file in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories))
        {
            string path = Path.GetRelativePath(folder, file).Replace('\\', '/');
            if (skip.Contains(path)) continue;
            byte[] bytes = File.ReadAllBytes(file);
            _files[path] = bytes;
            _etags[path] = IsLfs(path) ? Convert.ToHexStringLower(SHA256.HashData(bytes)) : GitBlobSha1(bytes);
            if (IsLfs(path)) _byCdnKey[_etags[path]] = path;
        }

        (_listener, Endpoint) = Start();
        (_cdnListener, CdnEndpoint) = Start();
        _loop = Task.Run(() => ServeAsync(_listener));
        _cdnLoop = Task.Run(() => ServeAsync(_cdnListener));
    }

    /// <summary>The repository served.</summary>
    public string RepoId { get; }

    /// <summary>When set, resolve requests without <c>Authorization: Bearer {token}</c> get 401 (as for a private repository).</summary>
    public string? RequiredToken { get; }

    /// <summary>Base address, e.g. <c>http://127.0.0.1:43117</c>.</summary>
    public string Endpoint { get; }

    /// <summary>Base address of the CDN that LFS files redirect to.</summary>
    public string CdnEndpoint { get; }

    /// <summary>Every request received, in order.</summary>
    public IReadOnlyList<FakeHubRequest> Requests => [.. _requests];

    /// <summary>The etag the hub gives a file (sha256 for LFS files, git blob sha1 otherwise).</summary>
    public string Etag(string path) => _etags[path];

    /// <summary>The bytes served for a file.</summary>
    public byte[] Content(string path) => _files[path];

    /// <summary>Switches on a fault for the body of <paramref name="path"/>.</summary>
    public void SetFault(string path, FakeHubFault fault) => _faults[path] = fault;

    /// <summary>Releases requests held by <see cref="FakeHubFault.Stall"/>.</summary>
    public void ReleaseStalls() => _stalls.TrySetResult();

    private TaskCompletionSource _stalls = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <inheritdoc />
    public void Dispose()
    {
        _stop.Cancel();
        _stalls.TrySetResult();
        _listener.Close();
        _cdnListener.Close();
        try
        {
            Task.WaitAll([_loop, _cdnLoop], TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }
        _stop.Dispose();
    }

    /// <summary>Is <paramref name="path"/> stored with git LFS on the real hub (weights and preset arrays).</summary>
    public static bool IsLfs(string path) => path.EndsWith(".safetensors", StringComparison.Ordinal) || path.EndsWith(".bin", StringComparison.Ordinal) || path.EndsWith(".npy", StringComparison.Ordinal);

    /// <summary>git's object id of a blob: sha1 of <c>"blob {length}\0"</c> + content.</summary>
    public static string GitBlobSha1(byte[] bytes) =>
        Convert.ToHexStringLower(SHA1.HashData([.. Encoding.ASCII.GetBytes($"blob {bytes.Length}\0"), .. bytes]));

    private static (HttpListener, string) Start()
    {
        for (int attempt = 0; ; attempt++)
        {
            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            int port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            var listener = new HttpListener();
            listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            try
            {
                listener.Start();
                return (listener, $"http://127.0.0.1:{port}");
            }
            catch (HttpListenerException) when (attempt < 10)
            {
                listener.Close();
            }
        }
    }

    private async Task ServeAsync(HttpListener listener)
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }
            _ = Task.Run(() => HandleAsync(context));
        }
    }

    private async Task HandleAsync(HttpListenerContext context)
    {
        HttpListenerRequest request = context.Request;
        HttpListenerResponse response = context.Response;
        string path = Uri.UnescapeDataString(request.Url!.AbsolutePath);
        _requests.Enqueue(new FakeHubRequest(request.HttpMethod, path, request.Headers["Authorization"], request.Headers["Range"]));
        try
        {
            if (path.StartsWith("/cdn/", StringComparison.Ordinal) && _byCdnKey.TryGetValue(path[5..], out string? lfs))
            {
                await SendBodyAsync(context, lfs);
                return;
            }

            string prefix = $"/{RepoId}/resolve/";
            if (!path.StartsWith(prefix, StringComparison.Ordinal))
            {
                Fail(response, 401, "RepoNotFound");
                return;
            }
            if (RequiredToken is not null && request.Headers["Authorization"] != $"Bearer {RequiredToken}")
            {
                Fail(response, 401, "RepoNotFound");
                return;
            }
            string rest = path[prefix.Length..];
            int slash = rest.IndexOf('/');
            string revision = rest[..slash], file = rest[(slash + 1)..];
            if (revision is not ("main" or Commit))
            {
                Fail(response, 404, "RevisionNotFound");
                return;
            }
            response.Headers["X-Repo-Commit"] = Commit;
            if (!_files.TryGetValue(file, out byte[]? bytes))
            {
                Fail(response, 404, "EntryNotFound");
                return;
            }
            if (IsLfs(file))
            {
                response.StatusCode = 302;
                response.Headers["Location"] = $"{CdnEndpoint}/cdn/{_etags[file]}";
                response.Headers["ETag"] = $"\"{GitBlobSha1(Encoding.ASCII.GetBytes(_etags[file]))}\"";
                response.Headers["X-Linked-Etag"] = $"\"{_etags[file]}\"";
                response.Headers["X-Linked-Size"] = bytes.Length.ToString(System.Globalization.CultureInfo.InvariantCulture);
                response.ContentLength64 = 0;
                response.Close();
                return;
            }
            response.Headers["ETag"] = $"\"{_etags[file]}\"";
            if (request.HttpMethod == "HEAD")
            {
                response.ContentLength64 = bytes.Length;
                response.Close();
                return;
            }
            await SendBodyAsync(context, file);
        }
        catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException)
        {
            // The client went away.
        }
    }

    private async Task SendBodyAsync(HttpListenerContext context, string file)
    {
        HttpListenerResponse response = context.Response;
        byte[] bytes = _files[file];
        int gets = _gets.AddOrUpdate(file, 1, (_, n) => n + 1);
        FakeHubFault fault = _faults.GetValueOrDefault(file);
        if (fault == FakeHubFault.Corrupt)
        {
            bytes = (byte[])bytes.Clone();
            bytes[bytes.Length / 2] ^= 0xFF;
        }

        long from = 0;
        if (context.Request.Headers["Range"] is { } range && range.StartsWith("bytes=", StringComparison.Ordinal) && range.EndsWith('-'))
        {
            from = long.Parse(range[6..^1], System.Globalization.CultureInfo.InvariantCulture);
            if (from >= bytes.Length)
            {
                response.StatusCode = 416;
                response.Close();
                return;
            }
            response.StatusCode = 206;
            response.Headers["Content-Range"] = $"bytes {from}-{bytes.Length - 1}/{bytes.Length}";
        }
        response.Headers["ETag"] = $"\"{_etags[file]}\"";
        int count = bytes.Length - (int)from;
        response.ContentLength64 = count;
        if (context.Request.HttpMethod == "HEAD")
        {
            response.Close();
            return;
        }

        bool cut = fault == FakeHubFault.Truncate || (fault == FakeHubFault.TruncateOnce && gets == 1) || fault == FakeHubFault.Stall;
        if (!cut)
        {
            await response.OutputStream.WriteAsync(bytes.AsMemory((int)from, count));
            response.Close();
            return;
        }
        await response.OutputStream.WriteAsync(bytes.AsMemory((int)from, count / 2));
        await response.OutputStream.FlushAsync();
        if (fault == FakeHubFault.Stall) await _stalls.Task.WaitAsync(TimeSpan.FromSeconds(20));
        response.Abort();
    }

    private static void Fail(HttpListenerResponse response, int status, string code)
    {
        response.StatusCode = status;
        response.Headers["X-Error-Code"] = code;
        response.ContentLength64 = 0;
        response.Close();
    }
}

/// <summary>One request the fake hub received.</summary>
/// <param name="Method">HEAD or GET.</param>
/// <param name="Path">The unescaped path.</param>
/// <param name="Authorization">The Authorization header, or null.</param>
/// <param name="Range">The Range header, or null.</param>
public sealed record FakeHubRequest(string Method, string Path, string? Authorization, string? Range);

/// <summary>What the fake hub does wrong when sending a file's bytes.</summary>
public enum FakeHubFault
{
    /// <summary>Nothing.</summary>
    None,
    /// <summary>Every transfer stops halfway and the connection is reset.</summary>
    Truncate,
    /// <summary>The first transfer stops halfway; later ones (with Range) complete.</summary>
    TruncateOnce,
    /// <summary>One byte in the middle is flipped (same length).</summary>
    Corrupt,
    /// <summary>Half the bytes are sent, then nothing until <see cref="FakeHub.ReleaseStalls"/>.</summary>
    Stall,
}
