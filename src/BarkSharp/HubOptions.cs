using BarkSharp.Hub;

namespace BarkSharp;

/// <summary>
/// Where and how <see cref="HubClient"/> fetches files of Hugging Face hub repositories, with huggingface_hub's
/// environment variables as defaults: <c>HF_ENDPOINT</c>, <c>HF_TOKEN</c> (then <c>HF_TOKEN_PATH</c> or
/// <c>HF_HOME/token</c>), <c>HF_HUB_CACHE</c> (then <c>HF_HOME/hub</c>, then <c>~/.cache/huggingface/hub</c>) and
/// <c>HF_HUB_OFFLINE</c>. Python and .NET programs on one machine thereby share one cache.
/// </summary>
/// <remarks>
/// A null property means "the default": <see cref="HubClient"/> fills it from the process environment. Use
/// <see cref="FromEnvironment"/> to see, or to compute from another set of variables, what those defaults are.
/// </remarks>
public sealed record HubOptions
{
    /// <summary>The public hub, used when neither <see cref="Endpoint"/> nor <c>HF_ENDPOINT</c> is set.</summary>
    public const string DefaultEndpoint = "https://huggingface.co";

    /// <summary>The branch used when no revision is given.</summary>
    public const string DefaultRevision = "main";

    /// <summary>Base address of the hub (<c>HF_ENDPOINT</c>; default <see cref="DefaultEndpoint"/>).</summary>
    public string? Endpoint { get; init; }

    /// <summary>
    /// Access token sent as <c>Authorization: Bearer …</c> for private or gated repositories (<c>HF_TOKEN</c>, else the
    /// file <c>HF_TOKEN_PATH</c> or <c>HF_HOME/token</c> that <c>huggingface-cli login</c> writes). Empty: send none.
    /// </summary>
    public string? Token { get; init; }

    /// <summary>The cache folder holding <c>models--{org}--{name}</c> (<c>HF_HUB_CACHE</c>, <c>HF_HOME/hub</c>, <c>~/.cache/huggingface/hub</c>).</summary>
    public string? CacheDirectory { get; init; }

    /// <summary>Never touch the network; resolve everything from the cache (<c>HF_HUB_OFFLINE=1</c>).</summary>
    public bool? Offline { get; init; }

    /// <summary>Branch, tag or commit sha to download (default <see cref="DefaultRevision"/>).</summary>
    public string? Revision { get; init; }

    /// <summary>
    /// Ask the hub whether the revision moved even when the cache already holds it. Default false: once a revision is in
    /// the cache, files come from the commit recorded for it without any request (missing files are fetched from that
    /// same commit). <c>bark download</c> sets it to refresh a branch.
    /// </summary>
    public bool CheckForUpdates { get; init; }

    /// <summary>How long a request may wait for response headers or for the next bytes of a body. Default 60 s.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// The HTTP handler to send requests through (proxies, tests). It must not follow redirects itself, because
    /// <see cref="HubClient"/> reads the hub's redirect responses; it is not disposed by the client. Null: a fresh
    /// <see cref="SocketsHttpHandler"/> per client.
    /// </summary>
    public HttpMessageHandler? HttpHandler { get; init; }

    /// <summary>
    /// The options the given environment variables imply (every property set). <paramref name="environment"/> reads
    /// a variable by name; the process environment when null.
    /// </summary>
    /// <exception cref="BarkHubException"><c>HF_ENDPOINT</c> is not an absolute http(s) URL, or <c>HF_HUB_OFFLINE</c> is neither a true (1, on, yes, true) nor a false (0, off, no, false) value (<see cref="HubErrorKind.InvalidOptions"/>).</exception>
    public static HubOptions FromEnvironment(Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        string? Get(string name) => environment(name) is { Length: > 0 } v ? v : null;

        string home = Get("HF_HOME") ?? Path.Combine(
            Get("XDG_CACHE_HOME") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"),
            "huggingface");
        string cache = Get("HF_HUB_CACHE") ?? Get("HUGGINGFACE_HUB_CACHE") ?? Path.Combine(home, "hub");

        string? token = Get("HF_TOKEN") ?? Get("HUGGING_FACE_HUB_TOKEN");
        if (token is null)
        {
            string tokenPath = Get("HF_TOKEN_PATH") ?? Path.Combine(home, "token");
            try
            {
                if (File.Exists(tokenPath)) token = File.ReadAllText(tokenPath).Trim() is { Length: > 0 } t ? t : null;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                token = null;
            }
        }

        string endpoint = (Get("HF_ENDPOINT") ?? DefaultEndpoint).TrimEnd('/');
        if (!HubClient.IsHubAddress(endpoint)) throw InvalidEndpoint(endpoint);
        return new HubOptions
        {
            Endpoint = endpoint,
            Token = token,
            CacheDirectory = ExpandHome(cache),
            Offline = ParseOffline(Get("HF_HUB_OFFLINE")),
            Revision = DefaultRevision,
        };
    }

    /// <summary>These options with every null filled from <see cref="FromEnvironment"/> of the process environment.</summary>
    internal HubOptions WithDefaults()
    {
        if (Endpoint is not null && CacheDirectory is not null && Offline is not null && Revision is not null) return this;
        HubOptions env = FromEnvironment();
        return this with
        {
            Endpoint = (Endpoint ?? env.Endpoint)!.TrimEnd('/'),
            Token = Token ?? env.Token,
            CacheDirectory = CacheDirectory ?? env.CacheDirectory,
            Offline = Offline ?? env.Offline,
            Revision = Revision ?? DefaultRevision,
        };
    }

    /// <summary>
    /// Checks the settings that are given: <see cref="Endpoint"/> must be an absolute http(s) URL and
    /// <see cref="Revision"/> a branch, tag or commit name (see <see cref="HubClient.IsRevisionName"/>).
    /// <see cref="HubClient"/> calls this; call it to fail early, before any work.
    /// </summary>
    /// <exception cref="BarkHubException">A setting is unusable (<see cref="HubErrorKind.InvalidOptions"/>); the message says which and what to do.</exception>
    public void Validate()
    {
        if (Endpoint is not null && !HubClient.IsHubAddress(Endpoint)) throw InvalidEndpoint(Endpoint);
        if (Revision is not null && !HubClient.IsRevisionName(Revision))
            throw new BarkHubException(HubErrorKind.InvalidOptions, "", null,
                $"'{Revision}' is not a revision name: a branch, tag or commit (such as main, v1.0 or a 40-character commit sha) has no empty, '.' or '..' parts, no backslash and no control characters.");
    }

    internal static BarkHubException InvalidEndpoint(string endpoint) => new(HubErrorKind.InvalidOptions, "", null,
        $"the hub address '{endpoint}' (HF_ENDPOINT) is not an absolute http(s) URL. Set HF_ENDPOINT to one such as {DefaultEndpoint} (a mirror's address), or unset it.");

    // huggingface_hub's _is_true: "1", "ON", "YES", "TRUE" in any case; its false values are taken too, anything else
    // (which huggingface_hub silently reads as false) is refused, so a typo does not go online unnoticed.
    private static bool ParseOffline(string? value) => value?.Trim().ToUpperInvariant() switch
    {
        null or "" or "0" or "OFF" or "NO" or "FALSE" => false,
        "1" or "ON" or "YES" or "TRUE" => true,
        _ => throw new BarkHubException(HubErrorKind.InvalidOptions, "", null,
            $"HF_HUB_OFFLINE is '{value}'; set it to 1 (use only the cache, never the network) or 0, or unset it."),
    };

    private static string ExpandHome(string path) =>
        path.StartsWith("~/", StringComparison.Ordinal) || path == "~"
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), path.Length > 2 ? path[2..] : "")
            : path;
}
