using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;

namespace BarkSharp.Server;

/// <summary>
/// Registers and maps the Bark speech server in any ASP.NET Core app:
/// <code>
/// builder.Services.AddBarkServer(builder.Configuration);
/// var app = builder.Build();
/// app.UseBarkServer();     // OpenAI-shaped errors for every status, API keys on every path but /health
/// app.MapBarkEndpoints();  // /v1/audio/speech, /v1/models, /v1/audio/voices, /health/live, /health/ready, /metrics
/// </code>
/// </summary>
public static class BarkServerExtensions
{
    /// <summary>
    /// Adds the server's services: options (section <c>Bark</c> of <paramref name="configuration"/> when given, then
    /// <paramref name="configure"/>), the model host that loads the model in the background, the request queue, the
    /// voice store and OpenTelemetry metrics with the Prometheus exporter.
    /// </summary>
    public static IServiceCollection AddBarkServer(this IServiceCollection services, IConfiguration? configuration = null, Action<BarkServerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        OptionsBuilder<BarkServerOptions> options = services.AddOptions<BarkServerOptions>();
        if (configuration is not null) options.Bind(configuration.GetSection(BarkServerOptions.SectionName));
        if (configure is not null) options.Configure(configure);
        options.Validate(o =>
        {
            o.Validate();
            return true;
        });
        services.AddSingleton(sp => new ServerMetrics(sp.GetService<System.Diagnostics.Metrics.IMeterFactory>()));
        services.AddSingleton<ModelHost>();
        services.AddHostedService(sp => sp.GetRequiredService<ModelHost>());
        services.AddSingleton<VoiceStore>();
        services.AddSingleton(sp =>
        {
            BarkServerOptions o = sp.GetRequiredService<IOptions<BarkServerOptions>>().Value;
            var queue = new RequestQueue(o.MaxBatch, o.QueueSize);
            sp.GetRequiredService<ServerMetrics>().SetQueueDepth(() => queue.Waiting);
            return queue;
        });
        services.AddOpenTelemetry().WithMetrics(m => m.AddMeter(ServerMetrics.MeterName).AddPrometheusExporter());
        return services;
    }

    /// <summary>
    /// Adds middleware that answers every error in OpenAI's shape (unknown routes, wrong methods, unhandled exceptions
    /// — never a stack trace) and, when API keys are configured, requires <c>Authorization: Bearer KEY</c> on every
    /// path but <c>/health/…</c> and the playground page's files. Call before <see cref="MapBarkEndpoints"/>.
    /// </summary>
    public static IApplicationBuilder UseBarkServer(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        return app.Use(async (context, next) =>
        {
            ILogger logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("BarkSharp.Server");
            try
            {
                if (!context.Request.Path.StartsWithSegments("/health") && !Playground.PlaygroundEndpoint.IsPagePath(context.Request.Path)) Authorize(context);
                await next(context);
                if (!context.Response.HasStarted && context.Response.StatusCode >= 400 && context.Response.ContentLength is null or 0 && context.Response.ContentType is null)
                    await ApiError.ForStatus(context.Response.StatusCode, context.Request.Path).WriteAsync(context.Response);
            }
            catch (ApiError e)
            {
                await e.WriteAsync(context.Response);
            }
            catch (Exception) when (context.RequestAborted.IsCancellationRequested)
            {
            }
            catch (Exception e)
            {
                logger.LogError(e, "Unhandled error on {Method} {Path}", context.Request.Method, context.Request.Path);
                if (context.Response.HasStarted) context.Abort();
                else await ApiError.ForStatus(500, context.Request.Path).WriteAsync(context.Response);
            }
        });
    }

    /// <summary>
    /// Maps the server's endpoints: <c>POST /v1/audio/speech</c>, <c>GET /v1/models</c>, <c>GET /v1/models/{id}</c>,
    /// <c>GET|POST /v1/audio/voices</c>, <c>DELETE /v1/audio/voices/{id}</c>, <c>GET /health/live</c>,
    /// <c>GET /health/ready</c>, <c>GET /metrics</c> (Prometheus) and the playground page at <c>GET /</c>. Every endpoint checks API keys and answers errors
    /// in OpenAI's shape on its own, so they work without <see cref="UseBarkServer"/> too.
    /// </summary>
    public static IEndpointRouteBuilder MapBarkEndpoints(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapPost("/v1/audio/speech", context => Handle(context, "speech", SpeechEndpoint.HandleAsync));
        endpoints.MapGet("/v1/models", context => Handle(context, "models", Endpoints.ModelsAsync));
        endpoints.MapGet("/v1/models/{id}", context => Handle(context, "models", Endpoints.ModelAsync));
        endpoints.MapGet("/v1/audio/voices", context => Handle(context, "voices", Endpoints.ListVoicesAsync));
        endpoints.MapPost("/v1/audio/voices", context => Handle(context, "voices", Endpoints.AddVoiceAsync));
        endpoints.MapDelete("/v1/audio/voices/{id}", context => Handle(context, "voices", Endpoints.DeleteVoiceAsync));
        Playground.PlaygroundEndpoint.Map(endpoints);
        endpoints.MapGet("/health/live", context => Handle(context, "health", Endpoints.LiveAsync, authorize: false));
        endpoints.MapGet("/health/ready", context => Handle(context, "health", Endpoints.ReadyAsync, authorize: false));
        endpoints.MapPrometheusScrapingEndpoint("/metrics", meterProvider: null, configureBranchedPipeline: branch => branch.Use(async (context, next) =>
        {
            try
            {
                Authorize(context);
            }
            catch (ApiError e)
            {
                await e.WriteAsync(context.Response);
                return;
            }
            await next(context);
        }), optionsName: null);
        return endpoints;
    }

    /// <summary>Runs a handler with API-key checks, OpenAI-shaped errors and the request counter.</summary>
    private static async Task Handle(HttpContext context, string endpoint, Func<HttpContext, Task> handler, bool authorize = true)
    {
        IServiceProvider services = context.RequestServices;
        ServerMetrics metrics = services.GetRequiredService<ServerMetrics>();
        try
        {
            if (authorize) Authorize(context);
            await handler(context);
        }
        catch (ApiError e)
        {
            if (context.Response.HasStarted) context.Abort();
            else await e.WriteAsync(context.Response);
        }
        catch (BadHttpRequestException e)
        {
            ApiError error = e.StatusCode == 413 ? ApiError.ForStatus(413, context.Request.Path) : ApiError.BadRequest("The request could not be read: " + e.Message, null, "bad_request");
            if (context.Response.HasStarted) context.Abort();
            else await error.WriteAsync(context.Response);
        }
        catch (Exception) when (context.RequestAborted.IsCancellationRequested)
        {
            // the client left; nothing to answer
        }
        catch (Exception e)
        {
            services.GetRequiredService<ILoggerFactory>().CreateLogger("BarkSharp.Server").LogError(e, "Unhandled error on {Method} {Path}", context.Request.Method, context.Request.Path);
            if (context.Response.HasStarted) context.Abort();
            else await ApiError.ForStatus(500, context.Request.Path).WriteAsync(context.Response);
        }
        finally
        {
            metrics.Request(endpoint, context.RequestAborted.IsCancellationRequested && !context.Response.HasStarted ? 499 : context.Response.StatusCode);
        }
    }

    private const string AuthorizedKey = "BarkSharp.Server.Authorized";

    /// <summary>Throws a 401 unless no keys are configured or the request carries one of them as a Bearer token.</summary>
    private static void Authorize(HttpContext context)
    {
        if (context.Items.ContainsKey(AuthorizedKey)) return;
        List<string> keys = context.RequestServices.GetRequiredService<IOptions<BarkServerOptions>>().Value.ApiKeys;
        if (keys.Count > 0)
        {
            string header = context.Request.Headers.Authorization.ToString();
            if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
                throw new ApiError(401, "Missing API key: send 'Authorization: Bearer KEY'.", "invalid_request_error", "missing_api_key");
            byte[] given = SHA256.HashData(Encoding.UTF8.GetBytes(header["Bearer ".Length..].Trim()));
            bool match = false;
            foreach (string key in keys) match |= CryptographicOperations.FixedTimeEquals(given, SHA256.HashData(Encoding.UTF8.GetBytes(key)));
            if (!match) throw new ApiError(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key");
        }
        context.Items[AuthorizedKey] = true;
    }
}
