using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace BarkSharp.Server.Playground;

/// <summary>
/// The playground page: <c>index.html</c>, <c>app.js</c> and <c>style.css</c> embedded in this assembly, served at
/// <c>GET /</c> and <c>GET /playground/{file}</c> without an API key (the page holds no secret; it asks for a key and
/// sends it with its API calls). With <see cref="BarkServerOptions.Playground"/> off both answer 404.
/// </summary>
internal static class PlaygroundEndpoint
{
    private static readonly ConcurrentDictionary<string, byte[]?> Cache = new(StringComparer.Ordinal);

    private static readonly Dictionary<string, string> ContentTypes = new(StringComparer.Ordinal)
    {
        ["index.html"] = "text/html; charset=utf-8",
        ["app.js"] = "text/javascript; charset=utf-8",
        ["style.css"] = "text/css; charset=utf-8",
    };

    /// <summary>Whether <paramref name="path"/> is one of the page's files, which need no API key.</summary>
    public static bool IsPagePath(PathString path) => path == "/" || path.StartsWithSegments("/playground");

    public static void Map(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/", context => ServeAsync(context, "index.html"));
        endpoints.MapGet("/playground/{file}", context => ServeAsync(context, (string)context.GetRouteValue("file")!));
    }

    private static async Task ServeAsync(HttpContext context, string file)
    {
        BarkServerOptions options = context.RequestServices.GetRequiredService<IOptions<BarkServerOptions>>().Value;
        byte[]? body = options.Playground && ContentTypes.ContainsKey(file) ? Cache.GetOrAdd(file, Read) : null;
        if (body is null)
        {
            await ApiError.ForStatus(404, context.Request.Path).WriteAsync(context.Response);
            return;
        }
        context.Response.ContentType = ContentTypes[file];
        context.Response.ContentLength = body.Length;
        context.Response.Headers.CacheControl = "no-cache";
        context.Response.Headers["X-Content-Type-Options"] = "nosniff";
        // everything the page loads comes from this server: no CDN, no inline script
        context.Response.Headers.ContentSecurityPolicy = "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self'; script-src 'self'";
        await context.Response.Body.WriteAsync(body, context.RequestAborted);
    }

    private static byte[]? Read(string file)
    {
        using Stream? stream = typeof(PlaygroundEndpoint).Assembly.GetManifestResourceStream("BarkSharp.Server.Playground." + file);
        if (stream is null) return null;
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return buffer.ToArray();
    }
}
