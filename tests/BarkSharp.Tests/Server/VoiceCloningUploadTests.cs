using System.Net;
using System.Text.Json;
using BarkSharp.Cloning;
using BarkSharp.IO;
using BarkSharp.Tests.Cloning;

namespace BarkSharp.Tests.Server;

/// <summary><c>POST /v1/audio/voices</c> with a WAV recording: cloned into a custom voice the server then speaks with.</summary>
public class VoiceCloningUploadTests
{
    private static Task<BarkTestServer> Start() => BarkTestServer.StartAsync(o =>
    {
        o.CloneHubert = CloningFixtures.HubertTiny;
        o.CloneHubertLayer = CloningFixtures.TinyHubertLayer;
        o.CloneQuantizer = CloningFixtures.QuantizerV0;
    });

    [Fact]
    public async Task A_wav_upload_is_cloned_into_the_voice_the_library_clones()
    {
        await using BarkTestServer server = await Start();
        byte[] wav = await File.ReadAllBytesAsync(CloningFixtures.Wav("speech_44k1_stereo"));
        using var form = new MultipartFormDataContent { { new ByteArrayContent(wav), "file", "me.wav" }, { new StringContent("me"), "name" } };
        HttpResponseMessage created = await server.Http.PostAsync("/v1/audio/voices", form);
        Assert.True(created.StatusCode == HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        Assert.Equal("voice_me", JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString());

        VoicePreset stored = VoicePreset.FromNpz(Path.Combine(server.VoicesDirectory, "voice_me.npz"));
        VoicePreset expected = VoiceCloner.FromPretrained(VoiceClonerTests.TinyOptions).Clone(WavReader.Read(CloningFixtures.Wav("speech_44k1_stereo")));
        Assert.Equal(expected.SemanticPrompt, stored.SemanticPrompt);
        Assert.Equal(expected.FinePrompt, stored.FinePrompt);
        Assert.Equal(expected.CoarsePrompt, stored.CoarsePrompt);

        HttpResponseMessage speech = await server.PostJsonAsync("/v1/audio/speech", """{"input":"In my own voice.","voice":"voice_me","seed":3}""");
        Assert.Equal(HttpStatusCode.OK, speech.StatusCode);
        Assert.Equal("RIFF", System.Text.Encoding.ASCII.GetString((await speech.Content.ReadAsByteArrayAsync())[..4]));
    }

    [Fact]
    public async Task A_broken_wav_is_refused_with_its_reason_and_nothing_is_stored()
    {
        await using BarkTestServer server = await Start();
        byte[] wav = await File.ReadAllBytesAsync(CloningFixtures.Wav("speech_24k_mono"));
        HttpResponseMessage refused = await server.Http.PostAsync("/v1/audio/voices", new ByteArrayContent(wav[..60]));      // header only, data cut
        JsonElement error = await ErrorAssert.IsAsync(refused, 400, "invalid_voice", "file");
        Assert.Contains("WAV", error.GetProperty("message").GetString());
        Assert.Empty(Directory.Exists(server.VoicesDirectory) ? Directory.GetFiles(server.VoicesDirectory) : []);
    }
}
