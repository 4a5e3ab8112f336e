using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using BarkSharp.Cli;
using BarkSharp.Tests.Infrastructure;
using BarkSharp.Tests.Server;

namespace BarkSharp.Tests.Playground;

/// <summary><c>bark serve --no-playground</c>, and the SSE <c>segment</c> field the page reads its progress and timings from.</summary>
public sealed partial class PlaygroundServeTests
{
    [GeneratedRegex(@"listening on (http://127\.0\.0\.1:\d+)")]
    private static partial Regex Listening();

    [Fact]
    public async Task Bark_serve_no_playground_answers_404_at_the_root()
    {
        string voices = Fixtures.TempDir();
        var output = new StringWriter();
        var error = new StringWriter();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        Task<int> run = Program.RunAsync(["serve", "--model", Fixtures.TinyBark, "--port", "0", "--voices-dir", voices, "--max-semantic-tokens", "4", "--threads", "1",
            "--no-playground"], TextWriter.Synchronized(output), TextWriter.Synchronized(error), cancellationToken: stop.Token);
        try
        {
            Uri? address = null;
            for (int i = 0; i < 600 && address is null && !run.IsCompleted; i++)
            {
                Match m = Listening().Match(output.ToString());
                if (m.Success) address = new Uri(m.Groups[1].Value);
                else await Task.Delay(50);
            }
            Assert.True(address is not null, $"no address printed; stdout: {output}\nstderr: {error}");
            using var http = new HttpClient { BaseAddress = address };
            using HttpResponseMessage page = await http.GetAsync("/");
            Assert.Equal(HttpStatusCode.NotFound, page.StatusCode);
            using HttpResponseMessage models = await http.GetAsync("/v1/models");
            Assert.Equal(HttpStatusCode.OK, models.StatusCode);
            for (int i = 0; i < 600 && (await http.GetAsync("/health/ready")).StatusCode != HttpStatusCode.OK; i++) await Task.Delay(50);
        }
        finally
        {
            stop.Cancel();
            Assert.Equal(0, await run.WaitAsync(TimeSpan.FromSeconds(30)));
            Directory.Delete(voices, true);
        }
    }

    [Fact]
    public async Task Sse_deltas_name_their_segment_and_carry_the_stage_timings()
    {
        await using BarkTestServer server = await BarkTestServer.StartAsync();
        using HttpResponseMessage r = await server.PostJsonAsync("/v1/audio/speech",
            """{"input":"One paragraph.\n\nAnother paragraph.","voice":"v2/en_speaker_6","response_format":"pcm","stream_format":"sse","seed":3}""");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        JsonElement[] events = (await r.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries)
            .Select(e => JsonDocument.Parse(e["data: ".Length..]).RootElement).ToArray();
        JsonElement[] deltas = events.Where(e => e.GetProperty("type").GetString() == "speech.audio.delta").ToArray();
        Assert.Equal(2, deltas.Length);
        for (int i = 0; i < deltas.Length; i++)
        {
            JsonElement segment = deltas[i].GetProperty("segment");
            Assert.Equal(i, segment.GetProperty("index").GetInt32());
            Assert.Equal(2, segment.GetProperty("count").GetInt32());
            Assert.Equal(deltas[i].GetProperty("audio").GetBytesFromBase64().Length, 2 * segment.GetProperty("samples").GetInt32());   // s16le
            Assert.InRange(segment.GetProperty("semantic_tokens").GetInt32(), 1, 8);
            JsonElement t = segment.GetProperty("timings_ms");
            double[] ms = new[] { "semantic", "coarse", "fine", "codec" }.Select(stage => t.GetProperty(stage).GetDouble()).ToArray();
            Assert.All(ms, v => Assert.True(v >= 0));
            Assert.True(ms[0] > 0 && ms[2] > 0, "semantic and fine take measurable time");
        }
        Assert.Equal("speech.audio.done", events[^1].GetProperty("type").GetString());
    }
}
