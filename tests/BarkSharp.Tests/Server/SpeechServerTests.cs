#pragma warning disable OPENAI001 // the SDK marks speech streaming and its usage as evaluation APIs
using System.Buffers.Binary;
using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json;
using BarkSharp.Tests.Audio;
using OpenAI;
using OpenAI.Audio;

namespace BarkSharp.Tests.Server;

/// <summary>One server with the tiny model, shared by the tests of <see cref="SpeechServerTests"/>.</summary>
public sealed class TinyServerFixture : IAsyncLifetime
{
    public BarkTestServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await BarkTestServer.StartAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

public class SpeechServerTests(TinyServerFixture fixture) : IClassFixture<TinyServerFixture>
{
    private BarkTestServer Server => fixture.Server;

    private AudioClient Client(string model = "tts-1") =>
        new(model, new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(Server.BaseAddress, "/v1") });

    private static int WavSamples(byte[] wav)
    {
        Assert.Equal("RIFF", Encoding.ASCII.GetString(wav, 0, 4));
        Assert.Equal("WAVE", Encoding.ASCII.GetString(wav, 8, 4));
        Assert.Equal(24_000, BinaryPrimitives.ReadInt32LittleEndian(wav.AsSpan(24)));
        Assert.Equal("data", Encoding.ASCII.GetString(wav, 36, 4));
        return (wav.Length - 44) / 2;
    }

    [Fact]
    public async Task OpenAI_sdk_gets_wav_with_exact_sizes()
    {
        ClientResult<BinaryData> result = await Client().GenerateSpeechAsync("Hello from Bark.", GeneratedSpeechVoice.Alloy,
            new SpeechGenerationOptions { ResponseFormat = GeneratedSpeechFormat.Wav });
        byte[] wav = result.Value.ToArray();
        int samples = WavSamples(wav);
        Assert.True(samples > 0);
        Assert.Equal(wav.Length - 8, BinaryPrimitives.ReadInt32LittleEndian(wav.AsSpan(4)));
        Assert.Equal(samples * 2, BinaryPrimitives.ReadInt32LittleEndian(wav.AsSpan(40)));
        Assert.Equal("audio/wav", result.GetRawResponse().Headers.TryGetValue("Content-Type", out string? type) ? type : null);
    }

    [Fact]
    public async Task OpenAI_sdk_gets_pcm_and_opus_of_the_same_length_as_wav_for_one_seed()
    {
        // The SDK sends no seed; the same request with a seed through plain HTTP pins the audio, so the three formats can be compared.
        ClientResult<BinaryData> pcmSdk = await Client().GenerateSpeechAsync("Hello.", GeneratedSpeechVoice.Alloy, new SpeechGenerationOptions { ResponseFormat = GeneratedSpeechFormat.Pcm });
        Assert.True(pcmSdk.Value.ToArray().Length % 2 == 0 && pcmSdk.Value.ToArray().Length > 0);
        ClientResult<BinaryData> opusSdk = await Client().GenerateSpeechAsync("Hello.", GeneratedSpeechVoice.Alloy, new SpeechGenerationOptions { ResponseFormat = GeneratedSpeechFormat.Opus });
        (float[] opusAudio, _, _) = OggOpusReader.Decode(opusSdk.Value.ToArray());
        Assert.True(opusAudio.Length > 0);

        byte[] wav = await SpeakAsync("""{"model":"bark","input":"Hello there.","voice":"alloy","seed":11,"response_format":"wav"}""");
        byte[] pcm = await SpeakAsync("""{"model":"bark","input":"Hello there.","voice":"alloy","seed":11,"response_format":"pcm"}""");
        byte[] opus = await SpeakAsync("""{"model":"bark","input":"Hello there.","voice":"alloy","seed":11,"response_format":"opus"}""");
        Assert.Equal(wav.AsSpan(44).ToArray(), pcm);
        (float[] decoded, _, int inputRate) = OggOpusReader.Decode(opus);
        Assert.Equal(24_000, inputRate);
        Assert.Equal(pcm.Length / 2 * 2, decoded.Length);   // 48 kHz decode of the 24 kHz input: exactly twice the samples
        Assert.All(OggOpusReader.Pages(opus), p => Assert.True(p.CrcValid));
    }

    [Fact]
    public async Task OpenAI_sdk_gets_flac_that_decodes_to_the_pcm_of_the_same_seed()
    {
        ClientResult<BinaryData> sdk = await Client().GenerateSpeechAsync("Lossless.", GeneratedSpeechVoice.Alloy, new SpeechGenerationOptions { ResponseFormat = GeneratedSpeechFormat.Flac });
        Assert.Equal("fLaC", Encoding.ASCII.GetString(sdk.Value.ToArray(), 0, 4));

        byte[] flac = await SpeakAsync("""{"input":"Lossless.","seed":4,"response_format":"flac"}""");
        byte[] pcm = await SpeakAsync("""{"input":"Lossless.","seed":4,"response_format":"pcm"}""");
        ulong packed = BinaryPrimitives.ReadUInt64BigEndian(flac.AsSpan(18));
        Assert.Equal((ulong)pcm.Length / 2, packed & 0xF_FFFF_FFFF);
        Assert.Equal(System.Security.Cryptography.MD5.HashData(pcm), flac.AsSpan(26, 16).ToArray());   // STREAMINFO's MD5 is that of the PCM samples
    }

    private async Task<byte[]> SpeakAsync(string json)
    {
        using HttpResponseMessage r = await Server.PostJsonAsync("/v1/audio/speech", json);
        string detail = r.IsSuccessStatusCode ? "" : await r.Content.ReadAsStringAsync();
        Assert.True(r.StatusCode == HttpStatusCode.OK, $"{r.StatusCode}: {detail}");
        return await r.Content.ReadAsByteArrayAsync();
    }

    [Fact]
    public async Task A_seed_gives_the_same_audio_and_is_echoed()
    {
        using HttpResponseMessage a = await Server.PostJsonAsync("/v1/audio/speech", """{"input":"Same seed.","voice":{"id":"v2/en_speaker_6"},"seed":42,"text_temp":0.8}""");
        using HttpResponseMessage b = await Server.PostJsonAsync("/v1/audio/speech", """{"input":"Same seed.","voice":"v2/en_speaker_6","seed":42,"text_temp":0.8}""");
        Assert.Equal(HttpStatusCode.OK, a.StatusCode);
        Assert.Equal("42", a.Headers.GetValues("X-Bark-Seed").Single());
        Assert.Equal(await a.Content.ReadAsByteArrayAsync(), await b.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task OpenAI_sdk_streams_sse_deltas_and_a_done_event_with_usage()
    {
        var audio = new MemoryStream();
        SpeechTokenUsage? usage = null;
        int deltas = 0;
        await foreach (StreamingSpeechUpdate update in await Client("gpt-4o-mini-tts").GenerateSpeechStreamingAsync("Streaming, please.", GeneratedSpeechVoice.Alloy,
                           new SpeechGenerationOptions { ResponseFormat = GeneratedSpeechFormat.Pcm }))
        {
            switch (update)
            {
                case StreamingSpeechAudioDeltaUpdate delta:
                    deltas++;
                    audio.Write(delta.AudioBytes.ToArray());
                    break;
                case StreamingSpeechAudioDoneUpdate done:
                    usage = done.Usage;
                    break;
            }
        }
        Assert.True(deltas >= 1);
        Assert.True(audio.Length > 0 && audio.Length % 2 == 0);
        Assert.NotNull(usage);
        Assert.True(usage.InputTokenCount > 0);
        Assert.InRange(usage.OutputTokenCount, 1, 8);
        Assert.Equal(usage.InputTokenCount + usage.OutputTokenCount, usage.TotalTokenCount);
    }

    [Fact]
    public async Task Sse_lines_are_openai_events()
    {
        string text = await (await Server.PostJsonAsync("/v1/audio/speech", """{"input":"Hi.","voice":"alloy","stream_format":"sse","response_format":"wav","seed":3}""")).Content.ReadAsStringAsync();
        string[] events = text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.All(events, e => Assert.StartsWith("data: ", e));
        JsonElement[] parsed = events.Select(e => JsonDocument.Parse(e["data: ".Length..]).RootElement).ToArray();
        Assert.Equal("speech.audio.done", parsed[^1].GetProperty("type").GetString());
        Assert.All(parsed[..^1], p => Assert.Equal("speech.audio.delta", p.GetProperty("type").GetString()));
        byte[] wav = parsed[..^1].SelectMany(p => Convert.FromBase64String(p.GetProperty("audio").GetString()!)).ToArray();
        Assert.Equal("RIFF", Encoding.ASCII.GetString(wav, 0, 4));
        Assert.Equal(0xFFFFFFFFu, BinaryPrimitives.ReadUInt32LittleEndian(wav.AsSpan(40)));   // streamed: size unknown up front
        JsonElement usage = parsed[^1].GetProperty("usage");
        Assert.Equal(usage.GetProperty("input_tokens").GetInt32() + usage.GetProperty("output_tokens").GetInt32(), usage.GetProperty("total_tokens").GetInt32());
    }

    [Fact]
    public async Task Audio_stream_format_is_chunked_wav_with_unknown_sizes()
    {
        using HttpResponseMessage r = await Server.PostJsonAsync("/v1/audio/speech", """{"input":"Chunks.","voice":"alloy","stream_format":"audio","seed":5}""");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.True(r.Headers.TransferEncodingChunked);
        byte[] wav = await r.Content.ReadAsByteArrayAsync();
        Assert.Equal(0xFFFFFFFFu, BinaryPrimitives.ReadUInt32LittleEndian(wav.AsSpan(4)));
        byte[] exact = await SpeakAsync("""{"input":"Chunks.","voice":"alloy","seed":5}""");
        Assert.Equal(exact.AsSpan(44).ToArray(), wav.AsSpan(44).ToArray());
    }

    private const string LongText = "The first sentence is here and it goes on for a while, with a clause or two. " +
                                    "Then a second one follows it, saying something else entirely about the weather today. " +
                                    "A third sentence talks about the mountains, the rivers and the long roads between them. " +
                                    "The fourth one is about dinner: soup, bread, cheese and a glass of water. " +
                                    "And the fifth closes the paragraph, thanking everyone who listened this far.";

    [Fact]
    public async Task Long_input_streams_one_delta_per_segment_and_counts_usage_over_all()
    {
        string text = await (await Server.PostJsonAsync("/v1/audio/speech", JsonSerializer.Serialize(new
        {
            input = LongText,
            stream_format = "sse",
            response_format = "pcm",
            seed = 1,
        }))).Content.ReadAsStringAsync();
        JsonElement[] events = text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Select(e => JsonDocument.Parse(e["data: ".Length..]).RootElement).ToArray();
        JsonElement[] deltas = events.Where(e => e.GetProperty("type").GetString() == "speech.audio.delta").ToArray();
        Assert.True(deltas.Length >= 2, $"{deltas.Length} deltas");
        JsonElement usage = events[^1].GetProperty("usage");
        Assert.True(usage.GetProperty("input_tokens").GetInt32() > 20);
        Assert.InRange(usage.GetProperty("output_tokens").GetInt32(), deltas.Length, deltas.Length * 8);

        // the same request unstreamed is the concatenation of the deltas
        byte[] streamed = deltas.SelectMany(d => Convert.FromBase64String(d.GetProperty("audio").GetString()!)).ToArray();
        byte[] whole = await SpeakAsync(JsonSerializer.Serialize(new { input = LongText, response_format = "pcm", seed = 1 }));
        Assert.Equal(whole, streamed);
    }

    [Fact]
    public async Task A_request_batched_with_others_gives_the_audio_it_gives_alone()
    {
        string Body(int seed) => JsonSerializer.Serialize(new { input = "Batch me, please.", voice = seed % 2 == 0 ? "alloy" : "v2/en_speaker_0", seed, response_format = "pcm" });
        var alone = new Dictionary<int, byte[]>();
        foreach (int seed in new[] { 1, 2, 3 }) alone[seed] = await SpeakAsync(Body(seed));
        for (int attempt = 0; attempt < 5 && Server.Metrics.LargestBatch < 2; attempt++)
        {
            int[] seeds = [1, 2, 3, 1, 2, 3];
            byte[][] together = await Task.WhenAll(seeds.Select(s => SpeakAsync(Body(s))));
            for (int i = 0; i < seeds.Length; i++) Assert.Equal(alone[seeds[i]], together[i]);
        }
        Assert.True(Server.Metrics.LargestBatch >= 2, "no two requests shared a batch");
    }

    [Fact]
    public async Task Models_are_listed_in_openai_shape()
    {
        using JsonDocument doc = JsonDocument.Parse(await Server.Http.GetStringAsync("/v1/models"));
        Assert.Equal("list", doc.RootElement.GetProperty("object").GetString());
        string[] ids = doc.RootElement.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()!).ToArray();
        Assert.Equal("tiny-bark", ids[0]);
        Assert.Contains("tts-1", ids);
        Assert.Contains("gpt-4o-mini-tts", ids);
        Assert.All(doc.RootElement.GetProperty("data").EnumerateArray(), m => Assert.Equal("model", m.GetProperty("object").GetString()));
        var sdk = new OpenAI.Models.OpenAIModelClient(new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(Server.BaseAddress, "/v1") });
        OpenAI.Models.OpenAIModelCollection models = (await sdk.GetModelsAsync()).Value;
        Assert.Contains(models, m => m.Id == "tts-1-hd");
    }

    [Theory]
    [InlineData("""{"input":"x","response_format":"mp3"}""", 400, "unsupported_response_format", "response_format")]
    [InlineData("""{"input":"x","response_format":"aac"}""", 400, "unsupported_response_format", "response_format")]
    [InlineData("""{"input":"x","response_format":"float32"}""", 400, "unsupported_response_format", "response_format")]
    [InlineData("""{"input":"x","speed":1.5}""", 400, "unsupported_speed", "speed")]
    [InlineData("""{"input":"x","speed":9}""", 400, "invalid_value", "speed")]
    [InlineData("""{"input":""}""", 400, "empty_input", "input")]
    [InlineData("""{"voice":"alloy"}""", 400, "missing_required_parameter", "input")]
    [InlineData("""{"input":"x","voice":"nobody"}""", 400, "voice_not_found", "voice")]
    [InlineData("""{"input":"x","voice":"ash"}""", 400, "voice_not_found", "voice")]
    [InlineData("""{"input":"x","voice":"../../etc/passwd"}""", 400, "voice_not_found", "voice")]
    [InlineData("""{"input":"x","voice":"voice_missing"}""", 400, "voice_not_found", "voice")]
    [InlineData("""{"input":"x","model":"whisper-1"}""", 404, "model_not_found", "model")]
    [InlineData("""{"input":"x","greedy":true,"text_temp":0.5}""", 400, "invalid_value", "greedy")]
    [InlineData("""{"input":"x","stream_format":"websocket"}""", 400, "invalid_value", "stream_format")]
    [InlineData("""{"input":"x",""", 400, "invalid_json", null)]
    [InlineData("""[1,2]""", 400, "invalid_json", null)]
    public async Task Bad_requests_get_openai_errors(string json, int status, string code, string? param)
    {
        using HttpResponseMessage r = await Server.PostJsonAsync("/v1/audio/speech", json);
        await ErrorAssert.IsAsync(r, status, code, param);
    }

    [Fact]
    public async Task Input_longer_than_the_limit_is_input_too_long()
    {
        string json = JsonSerializer.Serialize(new { input = new string('a', 4097) });
        using HttpResponseMessage r = await Server.PostJsonAsync("/v1/audio/speech", json);
        await ErrorAssert.IsAsync(r, 400, "input_too_long", "input");
    }

    [Fact]
    public async Task A_voice_file_path_on_the_server_is_never_loaded()
    {
        string npz = Path.Combine(Server.VoicesDirectory, "..", Path.GetRandomFileName() + ".npz");
        VoicePreset.Load(Infrastructure.Fixtures.TinyBark, "v2/en_speaker_6").SaveNpz(npz);
        try
        {
            using HttpResponseMessage r = await Server.PostJsonAsync("/v1/audio/speech", JsonSerializer.Serialize(new { input = "x", voice = Path.GetFullPath(npz) }));
            await ErrorAssert.IsAsync(r, 400, "voice_not_found", "voice");
        }
        finally
        {
            File.Delete(npz);
        }
    }

    [Fact]
    public async Task Unknown_routes_and_methods_get_openai_errors()
    {
        await ErrorAssert.IsAsync(await Server.Http.GetAsync("/v1/nothing"), 404, "not_found", null);
        await ErrorAssert.IsAsync(await Server.Http.GetAsync("/v1/audio/speech"), 405, "method_not_allowed", null);
        await ErrorAssert.IsAsync(await Server.Http.GetAsync("/v1/models/dall-e-3"), 404, "model_not_found", "model");
    }

    [Fact]
    public async Task Health_and_metrics()
    {
        Assert.Equal(HttpStatusCode.OK, (await Server.Http.GetAsync("/health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Server.Http.GetAsync("/health/ready")).StatusCode);
        await SpeakAsync("""{"input":"Metrics.","voice":"alloy"}""");
        string metrics = await Server.Http.GetStringAsync("/metrics");
        Assert.Contains("bark_server_requests_total{", metrics);
        Assert.Contains("endpoint=\"speech\"", metrics);
        Assert.Contains("bark_server_time_to_first_audio_seconds_bucket", metrics);
        Assert.Contains("bark_server_request_duration_seconds_bucket", metrics);
        Assert.Contains("bark_server_audio_seconds_total", metrics);
        Assert.Contains("bark_server_queue_depth", metrics);
        Assert.Contains("bark_server_requests_in_flight", metrics);
        Assert.Contains("bark_server_batch_size_bucket", metrics);
    }
}

internal static class ErrorAssert
{
    /// <summary>Asserts OpenAI's error shape, whatever the status, and that no stack trace leaks.</summary>
    public static async Task ShapeAsync(HttpResponseMessage r)
    {
        string body = await r.Content.ReadAsStringAsync();
        Assert.True((int)r.StatusCode >= 400, body);
        Assert.Equal("application/json", r.Content.Headers.ContentType?.MediaType);
        JsonElement error = JsonDocument.Parse(body).RootElement.GetProperty("error");
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
        Assert.DoesNotContain("   at ", body);
    }

    /// <summary>Asserts OpenAI's error shape, the status, code and param, and that no stack trace leaks.</summary>
    public static async Task<JsonElement> IsAsync(HttpResponseMessage r, int status, string? code, string? param)
    {
        string body = await r.Content.ReadAsStringAsync();
        Assert.True((int)r.StatusCode == status, $"expected {status}, got {(int)r.StatusCode}: {body}");
        Assert.Equal("application/json", r.Content.Headers.ContentType?.MediaType);
        JsonElement error = JsonDocument.Parse(body).RootElement.GetProperty("error");
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("type").GetString()));
        Assert.Equal(code, error.GetProperty("code").GetString());
        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.DoesNotContain("   at ", body);
        Assert.DoesNotContain(".cs:line", body);
        return error;
    }
}
