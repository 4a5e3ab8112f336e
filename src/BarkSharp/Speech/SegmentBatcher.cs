using BarkSharp.Generation;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace BarkSharp.Speech;

/// <summary>A batch the <see cref="SegmentBatcher"/> ran.</summary>
/// <param name="Size">Segments in the batch.</param>
/// <param name="Duration">Wall time of the batch.</param>
/// <param name="AudioSeconds">Seconds of audio it produced, all segments together.</param>
/// <param name="Cancelled">True when every caller of the batch cancelled and the batch stopped early.</param>
public readonly record struct SegmentBatchInfo(int Size, TimeSpan Duration, double AudioSeconds, bool Cancelled);

/// <summary>
/// Runs the segments that callers submit — one long text's segments, or many requests' — on one model, one batch at a
/// time: the segments waiting when a batch starts (up to <see cref="MaxBatchSize"/>, in arrival order, with equal
/// generation options) run together through <see cref="BarkModel.GenerateSegments"/>, each with its own voice and
/// random stream. A segment's result does not depend on what it was batched with.
/// </summary>
/// <remarks>
/// A caller that cancels gets <see cref="OperationCanceledException"/> at once; its segments are dropped if they have
/// not started, a running batch stops (within one decode step) once every caller in it has cancelled, and in a batch
/// shared with others its rows are dropped at the next stage boundary while the others go on. Thread-safe.
/// </remarks>
public sealed partial class SegmentBatcher : IAsyncDisposable, IDisposable
{
    private readonly BarkModel _model;
    private readonly ILogger _logger;
    private readonly List<Pending> _queue = [];
    private readonly SemaphoreSlim _signal = new(0);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _worker;

    /// <summary>Starts a batcher over <paramref name="model"/>.</summary>
    /// <param name="model">The model every batch runs on.</param>
    /// <param name="maxBatchSize">Most segments per batch (default 4).</param>
    /// <param name="logger">Receives one line per batch.</param>
    public SegmentBatcher(BarkModel model, int maxBatchSize = 4, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatchSize, 1);
        _model = model;
        MaxBatchSize = maxBatchSize;
        _logger = logger ?? NullLogger.Instance;
        _worker = Task.Factory.StartNew(RunAsync, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
    }

    /// <summary>Most segments per batch.</summary>
    public int MaxBatchSize { get; }

    /// <summary>The model batches run on.</summary>
    public BarkModel Model => _model;

    /// <summary>Segments waiting for a batch.</summary>
    public int QueuedSegments
    {
        get
        {
            lock (_queue) return _queue.Count;
        }
    }

    /// <summary>Raised after each batch (on the batcher's thread; keep handlers short).</summary>
    public event Action<SegmentBatchInfo>? BatchCompleted;

    /// <summary>
    /// Queues <paramref name="segments"/> together (so that they can share a batch) and returns their results in order.
    /// </summary>
    /// <param name="segments">The segments.</param>
    /// <param name="options">Sampling options (the seed comes from each segment).</param>
    /// <param name="progress">Receives the progress of every batch one of the segments is in, with the indices of <paramref name="segments"/> in it.</param>
    /// <param name="cancellationToken">Withdraws the segments.</param>
    /// <exception cref="BarkInputException">A segment has no text.</exception>
    public Task<SegmentOutput[]> GenerateAsync(IReadOnlyList<SegmentRequest> segments, BarkGenerationOptions options,
        IProgress<(IReadOnlyList<int> Segments, BarkProgress Progress)>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(segments);
        ArgumentNullException.ThrowIfNull(options);
        ObjectDisposedException.ThrowIf(_stopping.IsCancellationRequested, this);
        for (int i = 0; i < segments.Count; i++)
            if (segments[i] is null || segments[i].TextIds.Count == 0)
                throw new BarkInputException($"segment {i} has no text ids; Bark needs some text to speak.");
        if (segments.Count == 0) return Task.FromResult(Array.Empty<SegmentOutput>());

        var call = new Call(segments.Count, progress);
        BarkGenerationOptions key = options with { Seed = 0 };
        lock (_queue)
            for (int i = 0; i < segments.Count; i++) _queue.Add(new Pending(segments[i], key, call, i, cancellationToken));
        _signal.Release();
        return call.Result.Task.WaitAsync(cancellationToken);
    }

    private async Task RunAsync()
    {
        while (true)
        {
            try
            {
                await _signal.WaitAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            while (TakeBatch() is { } batch) Run(batch);
        }
        lock (_queue)
        {
            foreach (Pending p in _queue) p.Call.Result.TrySetException(new ObjectDisposedException(nameof(SegmentBatcher)));
            _queue.Clear();
        }
    }

    /// <summary>The oldest segment and the next waiting ones with the same options; withdrawn segments are dropped.</summary>
    private List<Pending>? TakeBatch()
    {
        lock (_queue)
        {
            _queue.RemoveAll(p => p.Token.IsCancellationRequested || p.Call.Result.Task.IsCompleted);
            if (_queue.Count == 0) return null;
            BarkGenerationOptions key = _queue[0].Options;
            List<Pending> batch = _queue.Where(p => p.Options == key).Take(MaxBatchSize).ToList();
            foreach (Pending p in batch) _queue.Remove(p);
            return batch;
        }
    }

    private void Run(List<Pending> batch)
    {
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        int live = batch.Count;
        var registrations = batch.Select(p => p.Token.Register(() =>
        {
            if (Interlocked.Decrement(ref live) == 0) cancel.Cancel();
        })).ToList();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var progress = new FanOut(batch);
        try
        {
            // A caller that goes away mid-batch has its rows dropped at the next stage boundary; the others go on.
            SegmentOutput?[] outputs = _model.GenerateWithdrawableSegments(batch.Select(p => p.Segment).ToArray(), batch[0].Options, progress, cancel.Token,
                withdrawn: i => batch[i].Token.IsCancellationRequested);
            for (int i = 0; i < batch.Count; i++)
            {
                if (outputs[i] is { } output) batch[i].Call.Complete(batch[i].Index, output);
                else batch[i].Call.Result.TrySetCanceled(batch[i].Token);
            }
            double audio = outputs.Sum(o => o is null ? 0 : o.Audio.Length / (double)o.SampleRate);
            LogBatch(_logger, batch.Count, clock.Elapsed.TotalSeconds, audio);
            BatchCompleted?.Invoke(new SegmentBatchInfo(batch.Count, clock.Elapsed, audio, false));
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            foreach (Pending p in batch) p.Call.Result.TrySetCanceled(p.Token.IsCancellationRequested ? p.Token : _stopping.Token);
            BatchCompleted?.Invoke(new SegmentBatchInfo(batch.Count, clock.Elapsed, 0, true));
        }
        catch (Exception e)
        {
            foreach (Pending p in batch) p.Call.Result.TrySetException(e);
        }
        finally
        {
            foreach (CancellationTokenRegistration r in registrations) r.Dispose();
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_stopping.IsCancellationRequested) return;
        _stopping.Cancel();
        await _worker.ConfigureAwait(false);
        _stopping.Dispose();
    }

    /// <inheritdoc />
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    private sealed record Pending(SegmentRequest Segment, BarkGenerationOptions Options, Call Call, int Index, CancellationToken Token);

    /// <summary>One <see cref="GenerateAsync"/> call: its results fill in as its segments' batches finish.</summary>
    private sealed class Call(int count, IProgress<(IReadOnlyList<int>, BarkProgress)>? progress)
    {
        private readonly SegmentOutput?[] _outputs = new SegmentOutput?[count];
        private int _remaining = count;

        public TaskCompletionSource<SegmentOutput[]> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public IProgress<(IReadOnlyList<int>, BarkProgress)>? Progress => progress;

        public void Complete(int index, SegmentOutput output)
        {
            _outputs[index] = output;
            if (Interlocked.Decrement(ref _remaining) == 0) Result.TrySetResult(_outputs!);
        }
    }

    /// <summary>Hands a batch's progress to each call in it, with the call's own segment indices.</summary>
    private sealed class FanOut(List<Pending> batch) : IProgress<BarkProgress>
    {
        private readonly (Call Call, int[] Indices)[] _calls = batch.GroupBy(p => p.Call).Select(g => (g.Key, g.Select(p => p.Index).ToArray())).ToArray();

        public void Report(BarkProgress value)
        {
            foreach ((Call call, int[] indices) in _calls) call.Progress?.Report((indices, value));
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Batch of {Size} segments: {Seconds:F2} s for {AudioSeconds:F2} s of audio")]
    private static partial void LogBatch(ILogger logger, int size, double seconds, double audioSeconds);
}
