using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using BarkSharp.Audio;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace BarkSharp.Server;

/// <summary>
/// <c>POST /v1/audio/speech</c>: parse and check the request, resolve the voice, wait for a slot in the bounded
/// queue (429 when full), then generate under the request's deadline and the client's connection: a disconnect or
/// the deadline cancels the generation within one decode step.
/// </summary>
internal static class SpeechEndpoint
{
    public static async Task HandleAsync(HttpContext context)
    {
        long arrival = Stopwatch.GetTimestamp();
        IServiceProvider services = context.RequestServices;
        BarkServerOptions options = services.GetRequiredService<IOptions<BarkServerOptions>>().Value;
        ServerMetrics metrics = services.GetRequiredService<ServerMetrics>();
        ILogger logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("BarkSharp.Server");

        byte[] body = await Endpoints.ReadBodyAsync(context, options.MaxRequestBodyBytes);
        SpeechRequest request = SpeechRequest.Parse(body, options);
        Endpoints.CheckModel(request.Model, options);
        ISpeechEngine engine = services.GetRequiredService<ModelHost>().Engine;
        VoicePreset? voice = services.GetRequiredService<VoiceStore>().Resolve(request.Voice, engine);
        ulong seed = request.Seed ?? (ulong)RandomNumberGenerator.GetInt32(int.MaxValue);
        var settings = new SpeechSettings(voice, request.Generation(seed, options.MaxSemanticTokens));

        using var deadline = new CancellationTokenSource(options.RequestTimeout);
        CancellationToken stopping = services.GetService<IHostApplicationLifetime>()?.ApplicationStopping ?? CancellationToken.None;
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, deadline.Token, stopping);
        CancellationToken cancellationToken = linked.Token;

        RequestQueue.Lease lease;
        try
        {
            lease = await services.GetRequiredService<RequestQueue>().EnterAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !context.RequestAborted.IsCancellationRequested)
        {
            throw DeadlineError(options);
        }

        using (lease)
        {
            metrics.Started();
            try
            {
                context.Response.Headers["X-Bark-Seed"] = seed.ToString(System.Globalization.CultureInfo.InvariantCulture);
                await RespondAsync(context, request, engine, settings, arrival, metrics, cancellationToken);
            }
            catch (Exception e) when (context.RequestAborted.IsCancellationRequested)
            {
                metrics.Cancelled("client_disconnected");
                logger.LogInformation("Client left; generation stopped ({Type})", e.GetType().Name);
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested || stopping.IsCancellationRequested)
            {
                metrics.Cancelled(deadline.IsCancellationRequested ? "deadline" : "shutdown");
                if (context.Response.HasStarted)
                {
                    await TryWriteSseErrorAsync(context, request, DeadlineError(options));
                    context.Abort();
                    return;
                }
                throw deadline.IsCancellationRequested ? DeadlineError(options) : new ApiError(503, "The server is shutting down.", "server_error", "shutting_down");
            }
            catch (BarkInputException e)
            {
                // input the segmenter, the processor or a generator refuses: the client's to fix
                ApiError error = ApiError.BadRequest(e.Message, "input", "invalid_input");
                if (!context.Response.HasStarted) throw error;
                await TryWriteSseErrorAsync(context, request, error);
                context.Abort();
            }
            catch (Exception e) when (context.Response.HasStarted)
            {
                logger.LogError(e, "Speech generation failed after the response started");
                await TryWriteSseErrorAsync(context, request, ApiError.ForStatus(500, context.Request.Path));
                context.Abort();
            }
            finally
            {
                metrics.Finished();
            }
        }
    }

    private static ApiError DeadlineError(BarkServerOptions options) =>
        new(504, $"The request did not finish within the server's deadline of {options.RequestTimeout.TotalSeconds:0.#} s.", "server_error", "deadline_exceeded");

    private static async Task RespondAsync(HttpContext context, SpeechRequest request, ISpeechEngine engine, SpeechSettings settings,
        long arrival, ServerMetrics metrics, CancellationToken cancellationToken)
    {
        HttpResponse response = context.Response;
        var pending = new MemoryStream();
        using AudioEncoder encoder = AudioEncoder.Create(request.Format, pending, engine.SampleRate, streaming: request.Stream != StreamMode.None);
        int inputTokens = 0, outputTokens = 0;
        bool first = true;

        async Task SendAsync(bool final)
        {
            if (pending.Length == 0 && !(final && request.Stream == StreamMode.None)) return;
            if (first)
            {
                first = false;
                metrics.FirstAudio(Stopwatch.GetElapsedTime(arrival));
                response.StatusCode = 200;
                response.ContentType = request.Stream == StreamMode.Sse ? "text/event-stream" : encoder.ContentType;
                if (request.Stream == StreamMode.None) response.ContentLength = pending.Length;
                else response.Headers.CacheControl = "no-cache";
            }
            if (request.Stream == StreamMode.Sse)
                await WriteEventAsync(response, w =>
                {
                    w.WriteString("type", "speech.audio.delta");
                    w.WriteBase64String("audio", pending.GetBuffer().AsSpan(0, (int)pending.Length));
                }, cancellationToken);
            else
                await response.Body.WriteAsync(pending.GetBuffer().AsMemory(0, (int)pending.Length), cancellationToken);
            await response.Body.FlushAsync(cancellationToken);
            pending.SetLength(0);
        }

        await foreach (SpeechPiece piece in engine.StreamAsync(request.Input, settings, cancellationToken))
        {
            inputTokens += piece.InputTokens;
            outputTokens += piece.SemanticTokens;
            encoder.Write(piece.Samples);
            if (request.Stream != StreamMode.None)
            {
                encoder.Flush();
                await SendAsync(final: false);
            }
        }
        encoder.Complete();
        await SendAsync(final: true);
        if (request.Stream == StreamMode.Sse)
        {
            await WriteEventAsync(response, w =>
            {
                w.WriteString("type", "speech.audio.done");
                w.WriteStartObject("usage");
                w.WriteNumber("input_tokens", inputTokens);
                w.WriteNumber("output_tokens", outputTokens);
                w.WriteNumber("total_tokens", inputTokens + outputTokens);
                w.WriteEndObject();
            }, cancellationToken);
            await response.Body.FlushAsync(cancellationToken);
        }
        metrics.Done(Stopwatch.GetElapsedTime(arrival), encoder.SamplesWritten / (double)engine.SampleRate);
    }

    private static async Task WriteEventAsync(HttpResponse response, Action<Utf8JsonWriter> write, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        buffer.Write("data: "u8);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            write(w);
            w.WriteEndObject();
        }
        buffer.Write("\n\n"u8);
        await response.Body.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), cancellationToken);
    }

    /// <summary>After an SSE stream started, a failure is told as an <c>error</c> event before the connection closes.</summary>
    private static async Task TryWriteSseErrorAsync(HttpContext context, SpeechRequest request, ApiError error)
    {
        if (request.Stream != StreamMode.Sse || context.RequestAborted.IsCancellationRequested) return;
        try
        {
            byte[] json = error.ToJson();
            string body = Encoding.UTF8.GetString(json);
            // {"error":{...}} → {"type":"error","error":{...}}
            await context.Response.Body.WriteAsync(Encoding.UTF8.GetBytes("data: {\"type\":\"error\"," + body[1..] + "\n\n"), CancellationToken.None);
            await context.Response.Body.FlushAsync(CancellationToken.None);
        }
        catch (Exception)
        {
            // the connection is going away anyway
        }
    }
}
