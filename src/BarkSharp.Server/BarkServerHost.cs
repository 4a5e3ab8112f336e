using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace BarkSharp.Server;

/// <summary>Builds a stand-alone Bark speech server (what <c>bark serve</c> runs).</summary>
public static class BarkServerHost
{
    /// <summary>
    /// Creates a web application with ASP.NET Core's usual configuration (appsettings.json, environment variables,
    /// <paramref name="args"/>), the server's services, middleware and endpoints, listening on <paramref name="urls"/>.
    /// </summary>
    /// <param name="args">Command-line arguments for ASP.NET configuration (e.g. <c>--Bark:QueueSize=8</c>).</param>
    /// <param name="urls">Addresses to listen on, e.g. <c>http://127.0.0.1:8000</c>; port 0 picks a free port.</param>
    /// <param name="configure">Settings applied after configuration (command-line options of <c>bark serve</c>).</param>
    /// <param name="configureBuilder">Last changes to the builder (logging, extra services).</param>
    public static WebApplication Build(string[] args, string urls, Action<BarkServerOptions>? configure = null, Action<WebApplicationBuilder>? configureBuilder = null)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = args });
        builder.WebHost.UseUrls(urls);
        builder.Services.AddBarkServer(builder.Configuration, configure);
        builder.WebHost.ConfigureKestrel((context, kestrel) =>
        {
            kestrel.AddServerHeader = false;
        });
        configureBuilder?.Invoke(builder);
        WebApplication app = builder.Build();
        BarkServerOptions options = app.Services.GetRequiredService<IOptions<BarkServerOptions>>().Value;   // validates now, before listening
        _ = options;
        app.UseBarkServer();
        app.MapBarkEndpoints();
        return app;
    }
}
