using System.Collections.Concurrent;
using BarkSharp.Generation;
using BarkSharp.Speech;
using BarkSharp.Tests.Infrastructure;

namespace BarkSharp.Tests.Speech;

/// <summary>Segments of different callers batched together: each keeps its own result, and a caller that leaves is dropped.</summary>
public class SegmentBatcherTests(TinyModelFixture tiny) : IClassFixture<TinyModelFixture>
{
    private static readonly BarkGenerationOptions Options = new() { Semantic = new StageOptions { MaxNewTokens = 10 }, Fine = new FineStageOptions { Temperature = 0.5 } };

    private SegmentRequest Row(string text, string? voice, ulong seed) =>
        new(tiny.Processor.Tokenizer.EncodeToIds(text), voice is null ? null : tiny.Processor.LoadVoicePreset(voice), seed, 0);

    [Fact]
    public async Task Callers_waiting_together_share_a_batch_and_a_caller_that_leaves_is_dropped()
    {
        await using var batcher = new SegmentBatcher(tiny.Model, maxBatchSize: 4);
        var batches = new ConcurrentQueue<SegmentBatchInfo>();
        batcher.BatchCompleted += batches.Enqueue;
        SegmentRequest a = Row("Hello there, how are you?", "v2/en_speaker_6", 1), b = Row("Guten Tag, wie geht es?", "v2/de_speaker_0", 2);
        SegmentOutput aloneA = tiny.Model.GenerateSegments([a], Options)[0];

        // A first call keeps the batcher busy, so that the next two wait together and run as one batch.
        Task<SegmentOutput[]> blocker = await Busy(batcher);
        using var leave = new CancellationTokenSource();
        var bProgress = new Recorder(p =>
        {
            if (p.Progress.Stage == BarkStage.Semantic && p.Progress.Step == 2) leave.Cancel();      // b's caller goes away mid-semantic
        });
        Task<SegmentOutput[]> first = batcher.GenerateAsync([a], Options);
        Task<SegmentOutput[]> second = batcher.GenerateAsync([b], Options, bProgress, leave.Token);
        await blocker;
        SegmentOutput[] resultA = await first;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => second);

        Assert.True(resultA[0].Audio.AsSpan().SequenceEqual(aloneA.Audio), "a's audio changed by sharing the batch");
        Assert.Equal(2, resultA[0].BatchSize);
        await Task.Delay(50);                                      // the event is raised after the results are handed out
        SegmentBatchInfo shared = batches.Single(x => x.Size == 2);
        Assert.False(shared.Cancelled);
        Assert.Equal(aloneA.Audio.Length / 24000.0, shared.AudioSeconds, 6);     // only a's audio was made: b was dropped before coarse
        Assert.Equal(0, batcher.QueuedSegments);
    }

    [Fact]
    public async Task Different_options_do_not_share_a_batch()
    {
        await using var batcher = new SegmentBatcher(tiny.Model, maxBatchSize: 4);
        var sizes = new ConcurrentQueue<int>();
        batcher.BatchCompleted += x => sizes.Enqueue(x.Size);
        Task<SegmentOutput[]> blocker = await Busy(batcher);
        Task<SegmentOutput[]> greedy = batcher.GenerateAsync([Row("One.", null, 1)], BarkGenerationOptions.Greedy with { Semantic = Options.Semantic });
        Task<SegmentOutput[]> sampled = batcher.GenerateAsync([Row("Two.", null, 1), Row("Three.", null, 1)], Options with { Seed = 9 });
        await Task.WhenAll(blocker, greedy, sampled);
        await Task.Delay(50);
        Assert.Equal([1, 1, 2], sizes.ToArray());                  // seeds differ freely; sampling settings do not mix
    }

    /// <summary>Starts a call and returns once its batch is running (its first progress report).</summary>
    private async Task<Task<SegmentOutput[]>> Busy(SegmentBatcher batcher)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task<SegmentOutput[]> call = batcher.GenerateAsync([Row("Just keeping it busy.", null, 3)], Options, new Recorder(_ => started.TrySetResult()));
        await started.Task.WaitAsync(TimeSpan.FromSeconds(60));
        return call;
    }

    private sealed class Recorder(Action<(IReadOnlyList<int> Segments, BarkProgress Progress)> report) : IProgress<(IReadOnlyList<int> Segments, BarkProgress Progress)>
    {
        public void Report((IReadOnlyList<int> Segments, BarkProgress Progress) value) => report(value);
    }
}
