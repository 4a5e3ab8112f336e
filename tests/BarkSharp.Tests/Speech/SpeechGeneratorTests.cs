using System.Collections.Concurrent;
using BarkSharp.Generation;
using BarkSharp.Speech;
using BarkSharp.Tests.Infrastructure;

namespace BarkSharp.Tests.Speech;

/// <summary>Long text in one voice: segment batches, voice modes, streaming order, back-pressure, cancellation and seeds.</summary>
public class SpeechGeneratorTests(TinyModelFixture tiny) : IClassFixture<TinyModelFixture>
{
    /// <summary>Sampled (so random streams matter), short: the tiny model's random weights seldom end a sentence on their own.</summary>
    private static readonly BarkGenerationOptions Sampling = new()
    {
        Seed = 7,
        Semantic = new StageOptions { MaxNewTokens = 10 },
        Fine = new FineStageOptions { Temperature = 0.5 },
    };

    private const string Story = "The first sentence is here. A second one follows it. Then comes a third. " +
                                 "The fourth is short. Fifth. Sixth sentence now. And the seventh ends it.";

    private static SpeechOptions Options(VoicePreset? voice = null, VoiceMode mode = VoiceMode.Fixed, int batch = 2) => new()
    {
        Voice = voice,
        VoiceMode = mode,
        MaxBatchSize = batch,
        Segmentation = new TextSegmenterOptions { MaxTokens = 6 },
        Generation = Sampling,
    };

    private SegmentRequest Row(string text, string? voice, ulong seed, int stream) =>
        new(tiny.Processor.Tokenizer.EncodeToIds(text), voice is null ? null : tiny.Processor.LoadVoicePreset(voice), seed, stream);

    private static void AssertSame(SegmentOutput expected, SegmentOutput actual, string what)
    {
        Assert.True(expected.SemanticTokens.SequenceEqual(actual.SemanticTokens), $"{what}: semantic tokens differ");
        Assert.True(expected.Codes.Length == actual.Codes.Length && expected.Codes.Zip(actual.Codes).All(p => p.First.SequenceEqual(p.Second)), $"{what}: codes differ");
        Assert.True(expected.Audio.AsSpan().SequenceEqual(actual.Audio), $"{what}: audio differs");
    }

    [Fact]
    public void A_segment_gives_the_same_audio_alone_or_batched_with_other_voices_and_seeds()
    {
        SegmentRequest[] rows =
        [
            Row("Hello there, how are you?", "v2/en_speaker_6", 7, 0),
            Row("Guten Tag, wie geht es?", "v2/de_speaker_0", 99, 3),
            Row("No voice at all here.", null, 7, 1),
            Row("Hello there, how are you?", "v2/en_speaker_0", 7, 0),
        ];
        BarkGenerationOptions options = Sampling with { MinEosP = 0.2 };
        tiny.Model.MaxThreads = 1;
        SegmentOutput[] batched = tiny.Model.GenerateSegments(rows, options);
        Assert.All(batched, o => Assert.Equal(rows.Length, o.BatchSize));
        tiny.Model.MaxThreads = 2;
        for (int i = 0; i < rows.Length; i++)
        {
            SegmentOutput alone = tiny.Model.GenerateSegments([rows[i]], options)[0];
            AssertSame(alone, batched[i], $"row {i}");
            Assert.True(alone.Audio.Length > 0);
            Assert.Equal(alone.Frames * 320, alone.Audio.Length);
        }
        // Same text and seed in another voice is other audio; the voice really is per row.
        Assert.False(batched[0].Audio.AsSpan().SequenceEqual(batched[3].Audio));

        // Stream 0 of a seed is what Generate gives a lone text with that seed.
        BarkGeneration single = tiny.Model.Generate(tiny.Processor.Process("Hello there, how are you?", "v2/en_speaker_6"), options);
        Assert.Equal(single.SemanticTokens[0][..single.SemanticLengths[0]], batched[0].SemanticTokens);
        Assert.True(single.Audio[0].AsSpan().SequenceEqual(batched[0].Audio), "stream 0 differs from Generate");
    }

    [Fact]
    public async Task Fixed_mode_gives_every_segment_the_voice_and_chained_mode_the_previous_segment()
    {
        VoicePreset voice = tiny.Processor.LoadVoicePreset("v2/en_speaker_6");
        using var speech = new SpeechGenerator(tiny.Model, tiny.Processor);
        IReadOnlyList<TextSegment> segments = speech.Segment(Story, Options());
        Assert.True(segments.Count >= 5);
        BarkGenerationOptions used = Sampling with { MinEosP = SpeechOptions.DefaultMinEosP };
        SegmentOutput Expected(int i, VoicePreset? history) =>
            tiny.Model.GenerateSegments([new SegmentRequest(tiny.Processor.Tokenizer.EncodeToIds(segments[i].Text), history, Sampling.Seed, i)], used)[0];

        SpeechResult fixedVoice = await speech.GenerateAsync(Story, Options(voice));
        for (int i = 0; i < segments.Count; i++) AssertSame(Expected(i, voice), fixedVoice.Segments[i].Output, $"fixed {i}");

        SpeechResult chained = await speech.GenerateAsync(Story, Options(voice, VoiceMode.Chained) with { ChainResetInterval = 3 });
        for (int i = 0; i < segments.Count; i++)
        {
            VoicePreset? history = i == 0 || i % 3 == 0 ? voice : chained.Segments[i - 1].Output.ToVoicePreset();
            AssertSame(Expected(i, history), chained.Segments[i].Output, $"chained {i}");
        }
        Assert.False(chained.Audio.AsSpan().SequenceEqual(fixedVoice.Audio));

        // Without a voice, the first segment's own generation is the voice of every other segment.
        SpeechResult noVoice = await speech.GenerateAsync(Story, Options());
        VoicePreset? first = noVoice.Segments[0].Output.ToVoicePreset();
        Assert.NotNull(first);
        AssertSame(Expected(0, null), noVoice.Segments[0].Output, "no voice 0");
        for (int i = 1; i < segments.Count; i++) AssertSame(Expected(i, first), noVoice.Segments[i].Output, $"no voice {i}");
    }

    [Fact]
    public async Task Chunks_arrive_in_order_and_the_first_before_the_last_segment_starts()
    {
        using var speech = new SpeechGenerator(tiny.Model, tiny.Processor);
        var events = new ConcurrentQueue<string>();
        int count = speech.Segment(Story, Options()).Count;
        var progress = new Recorder(p =>
        {
            if (p.Stage.Stage == BarkStage.Semantic && p.Stage.Step == 1) events.Enqueue($"semantic {string.Join(',', p.Segments)}");
        });
        var chunks = new List<AudioChunk>();
        await foreach (AudioChunk chunk in speech.StreamAsync(Story, Options(), progress))
        {
            events.Enqueue($"chunk {chunk.SegmentIndex}");
            chunks.Add(chunk);
        }
        Assert.Equal(Enumerable.Range(0, count), chunks.Select(c => c.SegmentIndex));
        Assert.All(chunks, c => Assert.Equal(count, c.SegmentCount));
        Assert.True(chunks[^1].IsLast);
        List<string> log = [.. events];
        int firstChunk = log.IndexOf("chunk 0");
        int lastStarts = log.FindIndex(e => e.StartsWith("semantic", StringComparison.Ordinal) && e[9..].Split(',').Contains((count - 1).ToString()));
        Assert.True(firstChunk >= 0 && lastStarts > firstChunk, string.Join(" | ", log));
        Assert.Equal("semantic 0", log[0]);                                  // the first segment runs alone

        // Chunks tile the audio: positions add up, gaps precede every segment but the first, spans are the text's.
        long at = 0;
        foreach (AudioChunk c in chunks)
        {
            Assert.Equal(at, c.StartSample);
            Assert.Equal(c.SegmentIndex == 0 ? 0 : 6000, c.GapSamples);
            Assert.Equal(Story[c.StartChar..c.EndChar], c.Text);
            Assert.All(c.Samples.Take(c.GapSamples), s => Assert.Equal(0f, s));
            at += c.Samples.Length;
        }
    }

    [Fact]
    public async Task A_slow_consumer_holds_generation_back_to_one_batch_ahead()
    {
        await using var batcher = new SegmentBatcher(tiny.Model, maxBatchSize: 8);
        using var speech = new SpeechGenerator(tiny.Model, tiny.Processor, batcher);
        var generated = 0;
        var secondBatch = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        batcher.BatchCompleted += b =>
        {
            if (Interlocked.Add(ref generated, b.Size) > 1) secondBatch.TrySetResult();
        };
        await using IAsyncEnumerator<AudioChunk> chunks = speech.StreamAsync(Story, Options(batch: 2)).GetAsyncEnumerator();
        Assert.True(await chunks.MoveNextAsync());
        await secondBatch.Task.WaitAsync(TimeSpan.FromSeconds(60));
        // The consumer holds chunk 0: the batch after segment 0 is done and nothing further was queued or run.
        Assert.Equal(3, Volatile.Read(ref generated));
        Assert.Equal(0, batcher.QueuedSegments);
        int rest = 0;
        while (await chunks.MoveNextAsync()) rest++;
        Assert.Equal(speech.Segment(Story, Options()).Count - 1, rest);
    }

    [Fact]
    public async Task Cancelling_mid_stream_throws_and_stops_the_batches()
    {
        await using var batcher = new SegmentBatcher(tiny.Model);
        using var speech = new SpeechGenerator(tiny.Model, tiny.Processor, batcher);
        var batches = new ConcurrentQueue<SegmentBatchInfo>();
        batcher.BatchCompleted += batches.Enqueue;
        using var cancel = new CancellationTokenSource();
        int received = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (AudioChunk chunk in speech.StreamAsync(Story, Options(batch: 1), cancellationToken: cancel.Token))
            {
                received++;
                if (chunk.SegmentIndex == 1) cancel.Cancel();
            }
        });
        Assert.Equal(2, received);
        // At most the batch in flight when the token fired ran on (and stopped early); nothing after it.
        await Task.Delay(50);
        Assert.Equal(0, batcher.QueuedSegments);
        Assert.True(batches.Count <= 3, $"{batches.Count} batches ran");
    }

    [Fact]
    public async Task A_seed_gives_the_same_audio_for_any_batch_size_and_thread_count()
    {
        using var speech = new SpeechGenerator(tiny.Model, tiny.Processor);
        VoicePreset voice = tiny.Processor.LoadVoicePreset("v2/en_speaker_6");
        tiny.Model.MaxThreads = 1;
        SpeechResult one = await speech.GenerateAsync(Story, Options(voice, batch: 1));
        tiny.Model.MaxThreads = 2;
        SpeechResult three = await speech.GenerateAsync(Story, Options(voice, batch: 3));
        Assert.Contains(three.Segments.Skip(1), s => s.BatchSize > 1);
        Assert.All(one.Segments, s => Assert.Equal(1, s.BatchSize));
        Assert.True(one.Audio.AsSpan().SequenceEqual(three.Audio), "audio differs between batch sizes 1 and 3");
        SpeechResult other = await speech.GenerateAsync(Story, Options(voice, batch: 3) with { Generation = Sampling with { Seed = 8 } });
        Assert.False(other.Audio.AsSpan().SequenceEqual(three.Audio));
        Assert.Equal(one.Audio.Length, one.Segments.Sum(s => s.Samples.Length));
        Assert.True(one.TimeToFirstAudio <= one.Elapsed);
    }

    [Fact]
    public async Task A_text_of_one_segment_is_spoken_exactly_as_generate_speaks_it()
    {
        using var speech = new SpeechGenerator(tiny.Model, tiny.Processor);
        VoicePreset voice = tiny.Processor.LoadVoicePreset("v2/en_speaker_6");
        SpeechResult result = await speech.GenerateAsync("Hello there, how are you?", new SpeechOptions { Voice = voice, Generation = Sampling });
        BarkGeneration single = tiny.Model.Generate(tiny.Processor.Process("Hello there, how are you?", voice), Sampling);
        Assert.Single(result.Segments);
        Assert.True(single.Audio[0].AsSpan().SequenceEqual(result.Audio), "one segment differs from Generate (no fades, stock min_eos_p)");
    }

    [Fact]
    public async Task Empty_text_and_bad_options_are_refused_with_a_message()
    {
        using var speech = new SpeechGenerator(tiny.Model, tiny.Processor);
        var empty = await Assert.ThrowsAsync<BarkInputException>(() => speech.GenerateAsync("  \n "));
        Assert.Contains("empty", empty.Message);
        var gap = await Assert.ThrowsAsync<BarkInputException>(() => speech.GenerateAsync("Hi.", new SpeechOptions { GapSeconds = -1 }));
        Assert.Contains("gap", gap.Message);
    }

    private sealed class Recorder(Action<SpeechProgress> report) : IProgress<SpeechProgress>
    {
        public void Report(SpeechProgress value) => report(value);
    }
}
