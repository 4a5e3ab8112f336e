using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using BarkSharp.Server;
using BarkSharp.Tests.Audio;

namespace BarkSharp.Tests.Server;

public class ServerLimitsTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public async Task Api_keys_guard_everything_but_health()
    {
        await using BarkTestServer server = await BarkTestServer.StartAsync(o => o.ApiKeys = ["k1", "second-key"]);
        await ErrorAssert.IsAsync(await server.PostJsonAsync("/v1/audio/speech", """{"input":"x"}"""), 401, "missing_api_key", null);
        HttpResponseMessage wrong = await server.PostJsonAsync("/v1/audio/speech", """{"input":"x"}""", key: "k2");
        Assert.Equal("Bearer", wrong.Headers.WwwAuthenticate.Single().Scheme);
        await ErrorAssert.IsAsync(wrong, 401, "invalid_api_key", null);
        await ErrorAssert.IsAsync(await server.Http.GetAsync("/v1/models"), 401, "missing_api_key", null);
        await ErrorAssert.IsAsync(await server.Http.GetAsync("/v1/audio/voices"), 401, "missing_api_key", null);
        await ErrorAssert.IsAsync(await server.Http.GetAsync("/metrics"), 401, "missing_api_key", null);
        await ErrorAssert.IsAsync(await server.Http.GetAsync("/v1/anything"), 401, "missing_api_key", null);
        Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync("/health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync("/health/ready")).StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await server.PostJsonAsync("/v1/audio/speech", """{"input":"x","voice":"alloy"}""", key: "second-key")).StatusCode);
        var metrics = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        metrics.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "k1");
        Assert.Equal(HttpStatusCode.OK, (await server.Http.SendAsync(metrics)).StatusCode);

        var client = new OpenAI.Audio.AudioClient("tts-1", new System.ClientModel.ApiKeyCredential("wrong"), new OpenAI.OpenAIClientOptions { Endpoint = new Uri(server.BaseAddress, "/v1") });
        var e = await Assert.ThrowsAsync<System.ClientModel.ClientResultException>(() => client.GenerateSpeechAsync("x", OpenAI.Audio.GeneratedSpeechVoice.Alloy));
        Assert.Equal(401, e.Status);
    }

    [Fact]
    public async Task Bodies_over_the_limit_are_413()
    {
        await using BarkTestServer server = await BarkTestServer.StartAsync(o =>
        {
            o.MaxRequestBodyBytes = 2048;
            o.MaxInputCharacters = 100_000;
        });
        string json = JsonSerializer.Serialize(new { input = new string('a', 5000) });
        await ErrorAssert.IsAsync(await server.PostJsonAsync("/v1/audio/speech", json), 413, "request_too_large", null);

        // without a Content-Length (chunked upload) the limit holds while reading
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/audio/voices") { Content = new StreamContent(new MemoryStream(new byte[10_000])) };
        request.Headers.TransferEncodingChunked = true;
        await ErrorAssert.IsAsync(await server.Http.SendAsync(request), 413, "request_too_large", null);
    }

    [Fact]
    public async Task Not_ready_is_503_with_retry_after_until_loaded()
    {
        // the real tiny model loads in moments, so an engine factory that waits for the test shows the loading state
        var loaded = new TaskCompletionSource<ISpeechEngine>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using BarkTestServer slow = await BarkTestServer.StartAsync(engineTask: loaded.Task, waitReady: false);
        Assert.Equal(HttpStatusCode.OK, (await slow.Http.GetAsync("/health/live")).StatusCode);
        HttpResponseMessage ready = await slow.Http.GetAsync("/health/ready");
        Assert.NotNull(ready.Headers.RetryAfter);
        await ErrorAssert.IsAsync(ready, 503, "model_not_ready", null);
        await ErrorAssert.IsAsync(await slow.PostJsonAsync("/v1/audio/speech", """{"input":"x"}"""), 503, "model_not_ready", null);
        loaded.SetResult(new FakeEngine());
        await slow.WaitReadyAsync();
        Assert.Equal(HttpStatusCode.OK, (await slow.PostJsonAsync("/v1/audio/speech", """{"input":"x"}""")).StatusCode);
    }

    [Fact]
    public async Task A_full_queue_answers_429_at_once_with_retry_after()
    {
        var gate = new SemaphoreSlim(0);
        var engine = new FakeEngine { Gate = gate };
        await using BarkTestServer server = await BarkTestServer.StartAsync(o =>
        {
            o.MaxBatch = 1;
            o.QueueSize = 1;
            o.WarmUp = false;
        }, engine: () => engine);
        Task<HttpResponseMessage> first = server.PostJsonAsync("/v1/audio/speech", """{"input":"one"}""");
        while (Volatile.Read(ref engine.Started) == 0) await Task.Delay(10);
        Task<HttpResponseMessage> second = server.PostJsonAsync("/v1/audio/speech", """{"input":"two"}""");
        while (server.App.Services.GetService(typeof(RequestQueue)) is RequestQueue q && q.Waiting == 0) await Task.Delay(10);

        var clock = Stopwatch.StartNew();
        HttpResponseMessage third = await server.PostJsonAsync("/v1/audio/speech", """{"input":"three"}""");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5));
        Assert.True(third.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
        await ErrorAssert.IsAsync(third, 429, "queue_full", null);

        gate.Release(2);
        Assert.Equal(HttpStatusCode.OK, (await first).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await second).StatusCode);
    }

    [Fact]
    public async Task The_deadline_stops_a_request_with_504()
    {
        var engine = new FakeEngine { Gate = new SemaphoreSlim(0) };
        await using BarkTestServer server = await BarkTestServer.StartAsync(o =>
        {
            o.RequestTimeout = TimeSpan.FromMilliseconds(300);
            o.WarmUp = false;
        }, engine: () => engine);
        await ErrorAssert.IsAsync(await server.PostJsonAsync("/v1/audio/speech", """{"input":"slow"}"""), 504, "deadline_exceeded", null);
        await engine.Cancelled.Task.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(1, server.Metrics.CancelledCount);
    }

    [Fact]
    public async Task A_client_that_disconnects_mid_stream_stops_its_generation()
    {
        var gate = new SemaphoreSlim(0);
        var engine = new FakeEngine { Gate = gate, GateFirst = false, Pieces = 1000 };
        await using BarkTestServer server = await BarkTestServer.StartAsync(o => o.WarmUp = false, engine: () => engine);
        var reasons = new List<string>();
        server.Metrics.GenerationCancelled += r =>
        {
            lock (reasons) reasons.Add(r);
        };

        using var cts = new CancellationTokenSource();
        HttpResponseMessage response = await server.PostJsonAsync("/v1/audio/speech", """{"input":"long","stream_format":"audio","response_format":"pcm"}""",
            completion: HttpCompletionOption.ResponseHeadersRead, cancellationToken: cts.Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Stream body = await response.Content.ReadAsStreamAsync();
        byte[] buffer = new byte[4800];
        int read = await body.ReadAtLeastAsync(buffer, 4800);
        Assert.Equal(4800, read);                 // the first 0.1 s piece arrived while the rest is still being made
        response.Dispose();                       // hang up
        cts.Cancel();

        await engine.Cancelled.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var clock = Stopwatch.StartNew();
        while (server.Metrics.InFlight != 0 && clock.Elapsed < TimeSpan.FromSeconds(10)) await Task.Delay(20);
        Assert.Equal(0, server.Metrics.InFlight);
        lock (reasons) Assert.Equal(["client_disconnected"], reasons);
        string metrics = await server.Http.GetStringAsync("/metrics");
        Assert.Contains("bark_server_generations_cancelled_total{", metrics);
        Assert.Contains("reason=\"client_disconnected\"", metrics);

        // the server goes on serving others
        gate.Release(10_000);
        Assert.Equal(HttpStatusCode.OK, (await server.PostJsonAsync("/v1/audio/speech", """{"input":"next","response_format":"pcm"}""")).StatusCode);
    }

    [Fact]
    public async Task A_disconnect_mid_stream_stops_the_real_generation_and_frees_its_slot()
    {
        await using BarkTestServer server = await BarkTestServer.StartAsync(o =>
        {
            o.MaxBatch = 1;
            o.QueueSize = 0;
            o.MaxSemanticTokens = 16;
        });
        var cancelled = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        server.Metrics.GenerationCancelled += r => cancelled.TrySetResult(r);
        string text = string.Concat(Enumerable.Range(0, 40).Select(i => $"This is sentence number {i}, and it is long enough to be a segment of its own. "));

        HttpResponseMessage response = await server.PostJsonAsync("/v1/audio/speech", JsonSerializer.Serialize(new { input = text, stream_format = "audio", response_format = "pcm" }),
            completion: HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Stream body = await response.Content.ReadAsStreamAsync();
        Assert.True(await body.ReadAsync(new byte[2]) > 0);   // the first segment's audio is out; the rest is being made
        response.Dispose();

        Assert.Equal("client_disconnected", await cancelled.Task.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(0, server.Metrics.Completed);
        // with one slot and no queue, the next request is admitted only because the first gave its slot back
        var clock = Stopwatch.StartNew();
        HttpResponseMessage next = await server.PostJsonAsync("/v1/audio/speech", """{"input":"After.","response_format":"pcm"}""");
        while (next.StatusCode == HttpStatusCode.TooManyRequests && clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(50);
            next = await server.PostJsonAsync("/v1/audio/speech", """{"input":"After.","response_format":"pcm"}""");
        }
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
    }

    [Fact]
    public async Task Thirty_two_concurrent_requests_against_a_queue_of_eight_are_each_answered_in_bounded_time()
    {
        await using BarkTestServer server = await BarkTestServer.StartAsync(o =>
        {
            o.MaxBatch = 4;
            o.QueueSize = 8;
            o.MaxSemanticTokens = 4;
        });
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var clock = Stopwatch.StartNew();
        HttpResponseMessage[] responses = await Task.WhenAll(Enumerable.Range(0, 32).Select(i =>
            server.PostJsonAsync("/v1/audio/speech", $$"""{"input":"Request {{i}}.","seed":{{i}},"response_format":"pcm"}""", cancellationToken: bound.Token)));
        TimeSpan took = clock.Elapsed;
        Assert.All(responses, r => Assert.True(r.StatusCode is HttpStatusCode.OK or HttpStatusCode.TooManyRequests, $"status {r.StatusCode}"));
        int ok = responses.Count(r => r.StatusCode == HttpStatusCode.OK);
        Assert.True(ok >= 12, $"only {ok} answered 200; the first 12 (4 generating + 8 waiting) must be admitted");
        foreach (HttpResponseMessage r in responses)
        {
            if (r.StatusCode == HttpStatusCode.OK)
            {
                byte[] pcm = await r.Content.ReadAsByteArrayAsync();
                Assert.True(pcm.Length > 0 && pcm.Length % 2 == 0);
            }
            else
            {
                Assert.NotNull(r.Headers.RetryAfter);
                await ErrorAssert.IsAsync(r, 429, "queue_full", null);
            }
        }
        Assert.True(took < TimeSpan.FromSeconds(120));
        Assert.Equal(0, server.Metrics.InFlight);
        Assert.Equal(0, server.App.Services.GetService(typeof(RequestQueue)) is RequestQueue q ? q.Waiting : -1);
        output.WriteLine($"load: {ok} of 32 served, {32 - ok} refused, {took.TotalSeconds:F2} s");
    }

    [Fact]
    public async Task Voices_upload_list_speak_and_delete()
    {
        await using BarkTestServer server = await BarkTestServer.StartAsync();
        byte[] npz = NpzBytes();
        using var form = new MultipartFormDataContent
        {
            { new ByteArrayContent(npz), "file", "me.npz" },
            { new StringContent("narrator-1"), "name" },
        };
        HttpResponseMessage created = await server.Http.PostAsync("/v1/audio/voices", form);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal("voice_narrator-1", JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString());
        Assert.Equal(npz, await File.ReadAllBytesAsync(Path.Combine(server.VoicesDirectory, "voice_narrator-1.npz")));
        Assert.Equal(["voice_narrator-1.npz"], Directory.GetFiles(server.VoicesDirectory).Select(Path.GetFileName));   // no temporary file left

        using JsonDocument list = JsonDocument.Parse(await server.Http.GetStringAsync("/v1/audio/voices"));
        JsonElement[] voices = [.. list.RootElement.GetProperty("data").EnumerateArray()];
        Assert.Contains(voices, v => v.GetProperty("id").GetString() == "voice_narrator-1" && v.GetProperty("type").GetString() == "custom");
        Assert.Contains(voices, v => v.GetProperty("id").GetString() == "alloy" && v.GetProperty("preset").GetString() == "v2/en_speaker_6");
        Assert.Contains(voices, v => v.GetProperty("id").GetString() == "v2/en_speaker_6" && v.GetProperty("type").GetString() == "preset");

        // speaking with it equals speaking with the preset it was made from
        byte[] custom = await (await server.PostJsonAsync("/v1/audio/speech", """{"input":"Mine.","voice":{"id":"voice_narrator-1"},"seed":9}""")).Content.ReadAsByteArrayAsync();
        byte[] preset = await (await server.PostJsonAsync("/v1/audio/speech", """{"input":"Mine.","voice":"v2/en_speaker_6","seed":9}""")).Content.ReadAsByteArrayAsync();
        Assert.Equal("RIFF", Encoding.ASCII.GetString(custom, 0, 4));
        Assert.Equal(preset, custom);

        using var again = new MultipartFormDataContent { { new ByteArrayContent(npz), "file", "me.npz" }, { new StringContent("narrator-1"), "name" } };
        await ErrorAssert.IsAsync(await server.Http.PostAsync("/v1/audio/voices", again), 409, "voice_exists", "name");

        // a raw body upload gets a random id
        HttpResponseMessage raw = await server.Http.PostAsync("/v1/audio/voices", new ByteArrayContent(npz));
        Assert.Equal(HttpStatusCode.Created, raw.StatusCode);
        string rawId = JsonDocument.Parse(await raw.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
        Assert.Matches("^voice_[0-9a-f]{16}$", rawId);

        Assert.Equal(HttpStatusCode.OK, (await server.Http.DeleteAsync("/v1/audio/voices/voice_narrator-1")).StatusCode);
        Assert.False(File.Exists(Path.Combine(server.VoicesDirectory, "voice_narrator-1.npz")));
        await ErrorAssert.IsAsync(await server.Http.DeleteAsync("/v1/audio/voices/voice_narrator-1"), 404, "voice_not_found", "id");
        await ErrorAssert.IsAsync(await server.PostJsonAsync("/v1/audio/speech", """{"input":"x","voice":"voice_narrator-1"}"""), 400, "voice_not_found", "voice");
        await ErrorAssert.IsAsync(await server.Http.DeleteAsync("/v1/audio/voices/v2%2Fen_speaker_6"), 400, "invalid_voice_id", "id");
    }

    [Fact]
    public async Task Invalid_uploads_are_refused_and_leave_nothing()
    {
        await using BarkTestServer server = await BarkTestServer.StartAsync();
        using var notNpz = new MultipartFormDataContent { { new ByteArrayContent("not a zip"u8.ToArray()), "file", "x.npz" } };
        JsonElement e = await ErrorAssert.IsAsync(await server.Http.PostAsync("/v1/audio/voices", notNpz), 400, "invalid_voice", "file");
        Assert.DoesNotContain(server.VoicesDirectory, e.GetProperty("message").GetString());

        var arrays = new Dictionary<string, BarkSharp.IO.NpyArray>(VoicePreset.Load(Infrastructure.Fixtures.TinyBark, "v2/en_speaker_6").ToArrays());
        arrays["semantic_prompt"] = BarkSharp.IO.NpyArray.FromInt64([1, 2, 99_999], 3);   // a token beyond the vocabulary
        var bad = new MemoryStream();
        BarkSharp.IO.NpzFile.Write(bad, arrays);
        using var badForm = new MultipartFormDataContent { { new ByteArrayContent(bad.ToArray()), "file", "bad.npz" } };
        await ErrorAssert.IsAsync(await server.Http.PostAsync("/v1/audio/voices", badForm), 400, "invalid_voice", "file");

        foreach (string name in new[] { "../evil", "a/b", "..", "x.npz", "UPPER", "" + new string('a', 65) })
        {
            using var form = new MultipartFormDataContent { { new ByteArrayContent(NpzBytes()), "file", "v.npz" }, { new StringContent(name), "name" } };
            await ErrorAssert.IsAsync(await server.Http.PostAsync("/v1/audio/voices", form), 400, "invalid_voice_name", "name");
        }
        Assert.Empty(Directory.GetFileSystemEntries(server.VoicesDirectory));
    }

    [Fact]
    public async Task Voice_ids_never_reach_outside_the_voices_folder()
    {
        await using BarkTestServer server = await BarkTestServer.StartAsync();
        string outside = Path.Combine(Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(server.VoicesDirectory))!, "voice_victim.npz");
        await File.WriteAllBytesAsync(outside, NpzBytes());
        try
        {
            foreach (string id in new[] { "..%2Fvoice_victim", "..%2F..%2Fetc%2Fpasswd", "voice_..%2Fvoice_victim", "%2E%2E", "voice_victim.npz" })
            {
                HttpResponseMessage r = await server.Http.DeleteAsync("/v1/audio/voices/" + id);
                Assert.True(r.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound, $"{id}: {r.StatusCode}");
                Assert.True(r.Content.Headers.ContentType?.MediaType == "application/json", $"{id}: {r.StatusCode} without a JSON error");
                await ErrorAssert.ShapeAsync(r);
                Assert.True(File.Exists(outside), $"{id} deleted a file outside the voices folder");
            }
            // Kestrel itself refuses a NUL in the path (a bare 400, before any middleware runs)
            Assert.Equal(HttpStatusCode.BadRequest, (await server.Http.DeleteAsync("/v1/audio/voices/voice_a%00b")).StatusCode);
            Assert.True(File.Exists(outside));
            foreach (string voice in new[] { "../voice_victim", "voice_../voice_victim", outside, "voices/../voice_victim" })
            {
                HttpResponseMessage r = await server.PostJsonAsync("/v1/audio/speech", JsonSerializer.Serialize(new { input = "x", voice }));
                await ErrorAssert.IsAsync(r, 400, "voice_not_found", "voice");
            }
        }
        finally
        {
            File.Delete(outside);
        }
    }

    private static byte[] NpzBytes()
    {
        var ms = new MemoryStream();
        BarkSharp.IO.NpzFile.Write(ms, VoicePreset.Load(Infrastructure.Fixtures.TinyBark, "v2/en_speaker_6").ToArrays());
        return ms.ToArray();
    }
}
