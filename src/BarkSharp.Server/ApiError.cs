using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace BarkSharp.Server;

/// <summary>
/// An error answered in OpenAI's shape, <c>{"error":{"message","type","param","code"}}</c>, with its HTTP status.
/// Thrown by the endpoints and turned into a response by the server's middleware; the message is meant for the
/// client and never holds a stack trace or a server path.
/// </summary>
internal sealed class ApiError : Exception
{
    /// <summary>Creates an error.</summary>
    /// <param name="status">HTTP status code.</param>
    /// <param name="message">What went wrong and what to do, for the client.</param>
    /// <param name="type">OpenAI's error type: <c>invalid_request_error</c>, <c>authentication_error</c>, <c>rate_limit_error</c>, <c>server_error</c>, …</param>
    /// <param name="code">A machine-readable code such as <c>input_too_long</c>, or null.</param>
    /// <param name="param">The request field at fault, or null.</param>
    public ApiError(int status, string message, string type = "invalid_request_error", string? code = null, string? param = null) : base(message)
    {
        Status = status;
        Type = type;
        Code = code;
        Param = param;
    }

    /// <summary>HTTP status code.</summary>
    public int Status { get; }

    /// <summary>OpenAI's error type.</summary>
    public string Type { get; }

    /// <summary>Machine-readable code, or null.</summary>
    public string? Code { get; }

    /// <summary>The request field at fault, or null.</summary>
    public string? Param { get; }

    /// <summary>Seconds for a <c>Retry-After</c> header (429 and 503), or null.</summary>
    public int? RetryAfterSeconds { get; init; }

    /// <summary>A 400 <c>invalid_request_error</c>.</summary>
    public static ApiError BadRequest(string message, string? param = null, string? code = "invalid_value") => new(400, message, "invalid_request_error", code, param);

    /// <summary>The JSON body of this error.</summary>
    public byte[] ToJson() => ToJson(Message, Type, Param, Code);

    /// <summary>The JSON body <c>{"error":{"message","type","param","code"}}</c>.</summary>
    public static byte[] ToJson(string message, string type, string? param, string? code)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteStartObject("error");
            w.WriteString("message", message);
            w.WriteString("type", type);
            if (param is null) w.WriteNull("param");
            else w.WriteString("param", param);
            if (code is null) w.WriteNull("code");
            else w.WriteString("code", code);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }

    /// <summary>Writes this error as the response, when nothing has been sent yet.</summary>
    public async Task WriteAsync(HttpResponse response)
    {
        if (response.HasStarted) return;
        response.Clear();
        response.StatusCode = Status;
        if (RetryAfterSeconds is { } seconds) response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (Status == 401) response.Headers.WWWAuthenticate = "Bearer";
        byte[] body = ToJson();
        response.ContentType = "application/json";
        response.ContentLength = body.Length;
        await response.Body.WriteAsync(body, CancellationToken.None);
    }

    /// <summary>The default error for a bare status code (404 unknown route, 405, …).</summary>
    public static ApiError ForStatus(int status, string path) => status switch
    {
        404 => new ApiError(404, $"No route for '{path}'. The server offers POST /v1/audio/speech, GET /v1/models, GET|POST /v1/audio/voices, DELETE /v1/audio/voices/{{id}}, /health/live, /health/ready and /metrics.", "invalid_request_error", "not_found"),
        405 => new ApiError(405, $"Method not allowed on '{path}'.", "invalid_request_error", "method_not_allowed"),
        413 => new ApiError(413, "The request body is too large.", "invalid_request_error", "request_too_large"),
        415 => new ApiError(415, "Unsupported content type.", "invalid_request_error", "unsupported_media_type"),
        _ when status >= 500 => new ApiError(status, "The server failed to handle the request.", "server_error", null),
        _ => new ApiError(status, $"The request failed with status {status}.", "invalid_request_error", null),
    };
}
