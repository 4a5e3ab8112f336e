using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace BarkSharp.Server;

/// <summary>The small endpoints: models, voices and health.</summary>
internal static class Endpoints
{
    private static readonly long StartedAt = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    private static BarkServerOptions Options(HttpContext context) => context.RequestServices.GetRequiredService<IOptions<BarkServerOptions>>().Value;

    /// <summary>The ids <c>/v1/models</c> lists: the loaded model's, then the aliases.</summary>
    public static IReadOnlyList<string> ModelIds(BarkServerOptions options) =>
        [options.ResolvedModelId, .. BarkServerOptions.ModelAliases.Where(a => a != options.ResolvedModelId)];

    /// <summary>Throws a 404 <c>model_not_found</c> unless <paramref name="model"/> is null or served.</summary>
    public static void CheckModel(string? model, BarkServerOptions options)
    {
        if (model is null || ModelIds(options).Contains(model, StringComparer.OrdinalIgnoreCase) || model == options.Model) return;
        throw new ApiError(404, $"The model '{model}' does not exist here; this server speaks with {string.Join(", ", ModelIds(options))} (all the same loaded model).",
            "invalid_request_error", "model_not_found", "model");
    }

    private static object ModelObject(string id) => new Dictionary<string, object> { ["id"] = id, ["object"] = "model", ["created"] = StartedAt, ["owned_by"] = "barksharp" };

    public static Task ModelsAsync(HttpContext context) =>
        JsonAsync(context, 200, new Dictionary<string, object> { ["object"] = "list", ["data"] = ModelIds(Options(context)).Select(ModelObject).ToArray() });

    public static Task ModelAsync(HttpContext context)
    {
        string id = (string)context.GetRouteValue("id")!;
        CheckModel(id, Options(context));
        return JsonAsync(context, 200, ModelObject(id));
    }

    public static Task ListVoicesAsync(HttpContext context)
    {
        ISpeechEngine engine = context.RequestServices.GetRequiredService<ModelHost>().Engine;
        IReadOnlyList<VoiceInfo> voices = context.RequestServices.GetRequiredService<VoiceStore>().List(engine);
        return JsonAsync(context, 200, new Dictionary<string, object> { ["object"] = "list", ["data"] = voices.Select(VoiceObject).ToArray() });
    }

    private static Dictionary<string, object?> VoiceObject(VoiceInfo v)
    {
        var o = new Dictionary<string, object?> { ["id"] = v.Id, ["object"] = "voice", ["type"] = v.Type };
        if (v.Preset is not null) o["preset"] = v.Preset;
        if (v.CreatedAt is not null) o["created_at"] = v.CreatedAt;
        return o;
    }

    /// <summary>
    /// <c>POST /v1/audio/voices</c>: a <c>.npz</c> voice prompt as multipart/form-data (field <c>file</c>, optional
    /// <c>name</c>) or as the raw body (<c>?name=</c> optional). Answers 201 with the new voice.
    /// </summary>
    public static async Task AddVoiceAsync(HttpContext context)
    {
        BarkServerOptions options = Options(context);
        byte[] content;
        string? fileName = null, name = context.Request.Query["name"];
        if (context.Request.HasFormContentType)
        {
            await LimitBodyAsync(context, options.MaxRequestBodyBytes, drain: false);
            IFormCollection form;
            try
            {
                form = await context.Request.ReadFormAsync(context.RequestAborted);
            }
            catch (InvalidDataException e)
            {
                throw new ApiError(413, "The upload is too large: " + e.Message, "invalid_request_error", "request_too_large");
            }
            IFormFile file = form.Files["file"] ?? form.Files.FirstOrDefault()
                ?? throw ApiError.BadRequest("The form has no file: send the .npz voice prompt in the field 'file'.", "file", "missing_required_parameter");
            if (file.Length > options.MaxRequestBodyBytes) throw ApiError.ForStatus(413, context.Request.Path);
            fileName = file.FileName;
            using var buffer = new MemoryStream();
            await file.CopyToAsync(buffer, context.RequestAborted);
            content = buffer.ToArray();
            if (form.TryGetValue("name", out var n) && !string.IsNullOrEmpty(n)) name = n;
        }
        else
        {
            content = await ReadBodyAsync(context, options.MaxRequestBodyBytes);
        }
        if (content.Length == 0) throw ApiError.BadRequest("The upload is empty: send a .npz voice prompt.", "file", "missing_required_parameter");
        VoiceInfo voice = context.RequestServices.GetRequiredService<VoiceStore>().Add(content, fileName, name);
        await JsonAsync(context, 201, VoiceObject(voice));
    }

    public static Task DeleteVoiceAsync(HttpContext context)
    {
        string id = (string)context.GetRouteValue("id")!;
        context.RequestServices.GetRequiredService<VoiceStore>().Delete(id);
        return JsonAsync(context, 200, new Dictionary<string, object> { ["id"] = id, ["object"] = "voice.deleted", ["deleted"] = true });
    }

    public static Task LiveAsync(HttpContext context) => JsonAsync(context, 200, new Dictionary<string, object> { ["status"] = "live" });

    public static Task ReadyAsync(HttpContext context)
    {
        ModelHost host = context.RequestServices.GetRequiredService<ModelHost>();
        _ = host.Engine;   // 503 until loaded and warmed up
        return JsonAsync(context, 200, new Dictionary<string, object> { ["status"] = "ready", ["model"] = Options(context).ResolvedModelId });
    }

    public static async Task JsonAsync(HttpContext context, int status, object value)
    {
        byte[] body = JsonSerializer.SerializeToUtf8Bytes(value);
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = body.Length;
        await context.Response.Body.WriteAsync(body, context.RequestAborted);
    }

    /// <summary>
    /// How much of an oversize body the server still reads (and discards) before it answers 413: a client that is
    /// still uploading then receives the JSON error instead of a connection reset (a broken pipe) halfway through its
    /// upload. Bodies larger than the limit plus this are cut off at once.
    /// </summary>
    internal const long DrainBytes = 1 << 20;

    private static async Task LimitBodyAsync(HttpContext context, long limit, bool drain = true)
    {
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
            feature.MaxRequestBodySize = drain ? limit + DrainBytes : limit;
        if (context.Request.ContentLength > limit)
        {
            var error = new ApiError(413, $"The request body has {context.Request.ContentLength} bytes; this server takes at most {limit}.", "invalid_request_error", "request_too_large");
            if (drain && context.Request.ContentLength <= limit + DrainBytes) await DrainAsync(context);
            throw error;
        }
    }

    private static async Task DrainAsync(HttpContext context)
    {
        byte[] chunk = new byte[16 * 1024];
        try
        {
            while (await context.Request.Body.ReadAsync(chunk, context.RequestAborted) > 0)
            {
            }
        }
        catch (Exception e) when (e is BadHttpRequestException or IOException)
        {
            // the client sent more than the drain allowance or went away: the 413 is still the answer
        }
    }

    /// <summary>Reads the whole body, at most <paramref name="limit"/> bytes (413 beyond).</summary>
    public static async Task<byte[]> ReadBodyAsync(HttpContext context, long limit)
    {
        await LimitBodyAsync(context, limit);
        using var buffer = new MemoryStream();
        byte[] chunk = new byte[16 * 1024];
        int n;
        while ((n = await context.Request.Body.ReadAsync(chunk, context.RequestAborted)) > 0)
        {
            if (buffer.Length + n > limit)
            {
                await DrainAsync(context);
                throw new ApiError(413, $"The request body is larger than this server's limit of {limit} bytes.", "invalid_request_error", "request_too_large");
            }
            buffer.Write(chunk, 0, n);
        }
        return buffer.ToArray();
    }
}
