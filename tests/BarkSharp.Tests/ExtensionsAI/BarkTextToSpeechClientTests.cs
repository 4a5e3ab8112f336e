using System.Text;
using BarkSharp.Extensions.AI;
using BarkSharp.Generation;
using BarkSharp.Speech;
using BarkSharp.Tests.Infrastructure;
using Microsoft.Extensions.AI;

namespace BarkSharp.Tests.ExtensionsAI;

/// <summary>The ITextToSpeechClient over the tiny model: whole audio, streaming, options mapping, concurrency and errors.</summary>
public class BarkTextToSpeechClientTests(TinyModelFixture tiny) : IClassFixture<TinyModelFixture>
{
    /// <summary>Sampled and short: 8 semantic tokens per segment.</summary>
    internal static readonly SpeechOptions Speech = new()
    {
        Generation = new BarkGenerationOptions
        {
            Semantic = new StageOptions { MaxNewTokens = 8 },
            Fine = new FineStageOptions { Temperature = 0.5 },
        },
    };

    /// <summary>Segments of at most 6 tokens, so that a few sentences make several.</summary>
    internal static readonly SpeechOptions Segmented = Speech with { Segmentation = new TextSegmenterOptions { MaxTokens = 6 } };

    private const string Story = "The first sentence is here. A second one follows it. Then the third ends it.";

    private BarkTextToSpeechClient Client(BarkTextToSpeechClientOptions? options = null) =>
        new(tiny.Model, tiny.Processor, options ?? new BarkTextToSpeechClientOptions { Speech = Speech });

    private static TextToSpeechOptions Options(ulong seed, string? voice = null, string? format = null) => new()
    {
        VoiceId = voice,
        AudioFormat = format,
        AdditionalProperties = new AdditionalPropertiesDictionary { [BarkSpeechProperties.Seed] = seed },
    };

    private static byte[] Bytes(TextToSpeechResponse response) => Assert.IsType<DataContent>(Assert.Single(response.Contents)).Data.ToArray();

    [Fact]
    public async Task Whole_audio_is_a_wav_of_the_generators_samples_for_the_same_seed()
    {
        using BarkTextToSpeechClient client = Client();
        using var generator = new SpeechGenerator(tiny.Model, tiny.Processor);
        SpeechResult expected = await generator.GenerateAsync("Hello there, how are you?",
            Speech with { Voice = tiny.Processor.LoadVoicePreset("v2/en_speaker_6"), Generation = Speech.Generation with { Seed = 11 } });

        TextToSpeechResponse wav = await client.GetAudioAsync("Hello there, how are you?", Options(11, "v2/en_speaker_6"));
        DataContent content = Assert.IsType<DataContent>(Assert.Single(wav.Contents));
        Assert.Equal("audio/wav", content.MediaType);
        Wav pcm = Wav.Parse(content.Data.Span);
        Assert.Equal((1, 1, 24000, 16), (pcm.FormatTag, pcm.Channels, pcm.SampleRate, pcm.BitsPerSample));
        Assert.Equal((uint)(expected.Audio.Length * 2), pcm.DeclaredDataSize);
        Assert.True(expected.Audio.Length > 0);
        Assert.Equal(Wav.Pcm16Of(expected.Audio), pcm.Samples);

        Wav floats = Wav.Parse(Bytes(await client.GetAudioAsync("Hello there, how are you?", Options(11, "v2/en_speaker_6", "wav-float32"))));
        Assert.Equal((3, 32), (floats.FormatTag, floats.BitsPerSample));
        Assert.Equal(expected.Audio, floats.Samples);

        Assert.Equal(expected.Segments.Sum(s => s.InputTokens), wav.Usage!.InputTokenCount);
        Assert.Equal(expected.Segments.Sum(s => s.SemanticTokens), wav.Usage.OutputTokenCount);
        Assert.Single(expected.Segments);
        Assert.InRange(wav.Usage.OutputTokenCount!.Value, 1, 8);
        Assert.Equal("tiny-bark", wav.ModelId);
        Assert.Equal(11UL, wav.AdditionalProperties!["seed"]);
        Assert.IsType<SpeechResult>(wav.RawRepresentation);
    }

    [Fact]
    public async Task Streaming_yields_one_update_per_segment_in_order_then_a_closing_update_with_usage()
    {
        using BarkTextToSpeechClient client = Client(new BarkTextToSpeechClientOptions { Speech = Segmented });
        IReadOnlyList<TextSegment> segments = client.Generator.Segment(Story, Segmented);
        Assert.True(segments.Count >= 3, $"the story should make several segments, made {segments.Count}");

        var updates = new List<TextToSpeechResponseUpdate>();
        await foreach (TextToSpeechResponseUpdate update in client.GetStreamingAudioAsync(Story, Options(5, "v2/en_speaker_6"))) updates.Add(update);

        Assert.Equal(segments.Count + 1, updates.Count);
        for (int i = 0; i < segments.Count; i++)
        {
            Assert.Equal(TextToSpeechResponseUpdateKind.AudioUpdating, updates[i].Kind);
            Assert.Equal(i, updates[i].AdditionalProperties!["segment_index"]);
            Assert.Equal(segments[i].Text, updates[i].AdditionalProperties!["text"]);
            Assert.Equal("audio/wav", Assert.IsType<DataContent>(Assert.Single(updates[i].Contents)).MediaType);
        }
        Assert.Single(updates.Select(u => u.ResponseId).Distinct());
        Assert.Equal(segments.Sum(s => s.TokenCount), updates.ToTextToSpeechResponse().Usage?.InputTokenCount);
        TextToSpeechResponseUpdate closing = updates[^1];
        Assert.Equal(TextToSpeechResponseUpdateKind.SessionClose, closing.Kind);
        UsageDetails usage = Assert.IsType<UsageContent>(Assert.Single(closing.Contents)).Details;
        Assert.Equal(segments.Sum(s => s.TokenCount), usage.InputTokenCount);
        int semantic = updates.Take(segments.Count).Sum(u => Assert.IsType<AudioChunk>(u.RawRepresentation).SemanticTokens);
        Assert.Equal(semantic, usage.OutputTokenCount);
        Assert.InRange(semantic, segments.Count, 8 * segments.Count);

        // The first update starts the WAV stream; the bytes of all updates are the whole audio of the same request.
        byte[] stream = [.. updates.SelectMany(u => u.Contents.OfType<DataContent>()).SelectMany(d => d.Data.ToArray())];
        Wav streamed = Wav.Parse(stream);
        Assert.Equal(uint.MaxValue, streamed.DeclaredDataSize);
        Assert.Equal("RIFF", Encoding.ASCII.GetString(Assert.IsType<DataContent>(updates[0].Contents[0]).Data.Span[..4]));
        Wav whole = Wav.Parse(Bytes(await client.GetAudioAsync(Story, Options(5, "v2/en_speaker_6"))));
        Assert.Equal(whole.Samples, streamed.Samples);
        Assert.Equal(updates.Take(segments.Count).Sum(u => ((AudioChunk)u.RawRepresentation!).Samples.Length), streamed.Samples.Length);
    }

    [Fact]
    public async Task Streaming_opus_is_one_ogg_stream_whose_last_page_comes_with_the_closing_update()
    {
        using BarkTextToSpeechClient client = Client(new BarkTextToSpeechClientOptions { Speech = Segmented });
        var updates = new List<TextToSpeechResponseUpdate>();
        await foreach (TextToSpeechResponseUpdate update in client.GetStreamingAudioAsync(Story, Options(5, format: "audio/ogg"))) updates.Add(update);
        DataContent first = Assert.IsType<DataContent>(updates[0].Contents[0]);
        Assert.Equal("audio/ogg", first.MediaType);
        Assert.Equal("OggS", Encoding.ASCII.GetString(first.Data.Span[..4]));
        Assert.Equal(TextToSpeechResponseUpdateKind.SessionClose, updates[^1].Kind);
        Assert.Single(updates[^1].Contents.OfType<UsageContent>());
        // The end-of-stream page (header flag 0x04) is in the closing update.
        DataContent tail = Assert.Single(updates[^1].Contents.OfType<DataContent>());
        Assert.Equal("OggS", Encoding.ASCII.GetString(tail.Data.Span[..4]));
        Assert.Equal(0x04, tail.Data.Span[5] & 0x04);
    }

    [Fact]
    public async Task Cancelling_a_stream_stops_generation()
    {
        using BarkTextToSpeechClient client = Client(new BarkTextToSpeechClientOptions { Speech = Segmented });
        using var cancel = new CancellationTokenSource();
        int updates = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (TextToSpeechResponseUpdate update in client.GetStreamingAudioAsync(Story, Options(5), cancel.Token))
            {
                updates++;
                await cancel.CancelAsync();
            }
        });
        Assert.Equal(1, updates);
    }

    [Fact]
    public async Task Options_map_voice_language_seed_format_and_volume()
    {
        var custom = tiny.Processor.LoadVoicePreset("v2/de_speaker_0");
        using BarkTextToSpeechClient client = Client(new BarkTextToSpeechClientOptions
        {
            Speech = Speech,
            Voices = new Dictionary<string, VoicePreset> { ["my-clone"] = custom },
        });
        const string Text = "Guten Tag, wie geht es?";
        byte[] german = Bytes(await client.GetAudioAsync(Text, Options(3, "v2/de_speaker_0")));

        // Language picks v2/de_speaker_0 when no voice is given; a custom voice and an .npz path speak the same.
        var byLanguage = Options(3);
        byLanguage.Language = "de-DE";
        Assert.Equal(german, Bytes(await client.GetAudioAsync(Text, byLanguage)));
        Assert.Equal(german, Bytes(await client.GetAudioAsync(Text, Options(3, "my-clone"))));
        string npz = Path.Combine(Path.GetTempPath(), $"barksharp-meai-{Guid.NewGuid():N}.npz");
        try
        {
            custom.SaveNpz(npz);
            Assert.Equal(german, Bytes(await client.GetAudioAsync(Text, Options(3, npz))));
        }
        finally
        {
            File.Delete(npz);
        }
        var byObject = Options(3);
        byObject.AdditionalProperties![BarkSpeechProperties.Voice] = custom;
        Assert.Equal(german, Bytes(await client.GetAudioAsync(Text, byObject)));

        // Another voice or seed is other audio; a seed given as a JSON string is the same seed.
        Assert.NotEqual(german, Bytes(await client.GetAudioAsync(Text, Options(3, "v2/en_speaker_6"))));
        Assert.NotEqual(german, Bytes(await client.GetAudioAsync(Text, Options(4, "v2/de_speaker_0"))));
        var jsonSeed = Options(0, "v2/de_speaker_0");
        jsonSeed.AdditionalProperties![BarkSpeechProperties.Seed] = System.Text.Json.JsonDocument.Parse("\"3\"").RootElement;
        Assert.Equal(german, Bytes(await client.GetAudioAsync(Text, jsonSeed)));

        // Formats: headerless PCM is the WAV's data; Opus is an Ogg stream.
        Wav wav = Wav.Parse(german);
        TextToSpeechResponse pcm = await client.GetAudioAsync(Text, Options(3, "v2/de_speaker_0", "pcm"));
        Assert.Equal("audio/pcm", Assert.IsType<DataContent>(pcm.Contents[0]).MediaType);
        Assert.Equal(wav.Samples, Wav.Decode(Bytes(pcm), 1, 16));
        TextToSpeechResponse opus = await client.GetAudioAsync(Text, Options(3, "v2/de_speaker_0", "opus"));
        Assert.Equal("audio/ogg", Assert.IsType<DataContent>(opus.Contents[0]).MediaType);
        Assert.Equal("OggS", Encoding.ASCII.GetString(Bytes(opus).AsSpan(0, 4)));

        // Volume 0.5 halves the float samples exactly.
        Wav full = Wav.Parse(Bytes(await client.GetAudioAsync(Text, Options(3, "v2/de_speaker_0", "wav-float32"))));
        var quieter = Options(3, "v2/de_speaker_0", "wav-float32");
        quieter.Volume = 0.5f;
        Assert.Equal(full.Samples.Select(s => s * 0.5f), Wav.Parse(Bytes(await client.GetAudioAsync(Text, quieter))).Samples);

        // A SpeechOptions from RawRepresentationFactory replaces the client's defaults: here, short segments.
        var raw = Options(3, "v2/de_speaker_0");
        TextToSpeechResponse oneSegment = await client.GetAudioAsync(Story, raw);
        raw.RawRepresentationFactory = _ => Segmented;
        TextToSpeechResponse segmented = await client.GetAudioAsync(Story, raw);
        Assert.Single(Assert.IsType<SpeechResult>(oneSegment.RawRepresentation).Segments);
        Assert.True(Assert.IsType<SpeechResult>(segmented.RawRepresentation).Segments.Count >= 3);

        // Greedy ignores the seed; the semantic token limit reaches the model.
        var greedy = Options(1, "v2/de_speaker_0");
        greedy.AdditionalProperties![BarkSpeechProperties.Greedy] = true;
        greedy.AdditionalProperties[BarkSpeechProperties.MaxSemanticTokens] = 3;
        TextToSpeechResponse g1 = await client.GetAudioAsync(Text, greedy);
        greedy.AdditionalProperties[BarkSpeechProperties.Seed] = 2;
        Assert.Equal(Bytes(g1), Bytes(await client.GetAudioAsync(Text, greedy)));
        Assert.Single(Assert.IsType<SpeechResult>(g1.RawRepresentation).Segments);
        Assert.InRange(g1.Usage!.OutputTokenCount!.Value, 1, 3);
    }

    [Fact]
    public void Unknown_voices_languages_formats_and_option_values_are_errors_that_say_what_is_possible()
    {
        using BarkTextToSpeechClient client = Client();
        var voice = Assert.Throws<BarkVoiceException>(() => client.GetStreamingAudioAsync("Hi.", new TextToSpeechOptions { VoiceId = "alloy" }));
        Assert.Contains("v2/en_speaker_6", voice.Message);

        var format = Assert.Throws<NotSupportedException>(() => client.GetStreamingAudioAsync("Hi.", new TextToSpeechOptions { AudioFormat = "mp3" }));
        Assert.Contains("'mp3'", format.Message);
        Assert.Contains("opus", format.Message);
        Assert.Contains("pcm", format.Message);

        var language = Assert.Throws<ArgumentException>(() => client.GetStreamingAudioAsync("Hi.", new TextToSpeechOptions { Language = "fr" }));
        Assert.Contains("de, en, ja, zh", language.Message);

        Assert.Throws<NotSupportedException>(() => client.GetStreamingAudioAsync("Hi.", new TextToSpeechOptions { Speed = 1.5f }));
        Assert.Throws<ArgumentNullException>(() => client.GetStreamingAudioAsync(null!));

        foreach ((string key, object value) in new (string, object)[]
                 {
                     (BarkSpeechProperties.Seed, -1), (BarkSpeechProperties.Seed, "many"), (BarkSpeechProperties.TextTemperature, 0.0),
                     (BarkSpeechProperties.MaxSemanticTokens, 100_000), (BarkSpeechProperties.VoiceMode, "wobbly"), (BarkSpeechProperties.Greedy, "sometimes"),
                     (BarkSpeechProperties.Voice, "v2/en_speaker_6"),
                 })
        {
            var options = new TextToSpeechOptions { AdditionalProperties = new AdditionalPropertiesDictionary { [key] = value } };
            var e = Assert.Throws<ArgumentException>(() => client.GetStreamingAudioAsync("Hi.", options));
            Assert.Contains($"'{key}'", e.Message);
        }
        var rawOfAnotherProvider = new TextToSpeechOptions { RawRepresentationFactory = _ => "not speech options" };
        Assert.Contains("SpeechOptions", Assert.Throws<ArgumentException>(() => client.GetStreamingAudioAsync("Hi.", rawOfAnotherProvider)).Message);
        var both = new TextToSpeechOptions { AdditionalProperties = new() { [BarkSpeechProperties.Greedy] = true, [BarkSpeechProperties.TextTemperature] = 0.7 } };
        Assert.Throws<ArgumentException>(() => client.GetStreamingAudioAsync("Hi.", both));
    }

    [Fact]
    public async Task Concurrent_calls_give_the_bytes_of_sequential_calls()
    {
        using BarkTextToSpeechClient client = Client(new BarkTextToSpeechClientOptions { Speech = Segmented });
        (string Text, TextToSpeechOptions Options)[] requests =
        [
            ("Hello there, how are you?", Options(1, "v2/en_speaker_6")),
            (Story, Options(2, "v2/de_speaker_0", "pcm")),
            ("No voice at all here.", Options(3)),
        ];
        var sequential = new List<byte[]>();
        foreach ((string text, TextToSpeechOptions options) in requests) sequential.Add(Bytes(await client.GetAudioAsync(text, options)));
        TextToSpeechResponse[] concurrent = await Task.WhenAll(requests.Select(r => Task.Run(() => client.GetAudioAsync(r.Text, r.Options))));
        for (int i = 0; i < requests.Length; i++) Assert.Equal(sequential[i], Bytes(concurrent[i]));
        Assert.Equal(3, concurrent.Select(c => c.ResponseId).Distinct().Count());
    }

    [Fact]
    public void GetService_hands_out_the_model_generator_processor_and_metadata()
    {
        using BarkTextToSpeechClient client = Client();
        ITextToSpeechClient asInterface = tiny.Model.AsITextToSpeechClient(tiny.Processor);
        using (asInterface)
        {
            Assert.Same(tiny.Model, asInterface.GetService<BarkModel>());
            Assert.Same(tiny.Processor, asInterface.GetService<BarkProcessor>());
            Assert.NotNull(asInterface.GetService<SpeechGenerator>());
            Assert.Null(asInterface.GetService<BarkModel>("some key"));
            Assert.Null(asInterface.GetService<string>());
        }
        TextToSpeechClientMetadata metadata = client.GetService<TextToSpeechClientMetadata>()!;
        Assert.Equal(("barksharp", "tiny-bark"), (metadata.ProviderName, metadata.DefaultModelId));
        Assert.Same(client, client.GetService<ITextToSpeechClient>());
        Assert.Same(client.Generator, client.GetService<SpeechGenerator>());

        // The client made its own generator and disposes it, never the caller's model.
        client.Dispose();
        Assert.Throws<ObjectDisposedException>(() => client.GetStreamingAudioAsync("Hi."));
        Assert.True(tiny.Model.Config.SemanticConfig.BlockSize > 0);
    }
}
