namespace BarkSharp.Server;

/// <summary>
/// Admission for speech requests: at most <c>slots</c> generate at once and at most <c>queueSize</c> wait; anything
/// beyond is refused at once (429) with a Retry-After estimated from recent request durations. Never an unbounded backlog.
/// </summary>
internal sealed class RequestQueue
{
    private readonly SemaphoreSlim _slots;
    private readonly int _capacity;
    private int _admitted;
    private int _active;
    private double _averageSeconds = 5;   // running estimate of one request's duration

    public RequestQueue(int slots, int queueSize)
    {
        Slots = slots;
        _slots = new SemaphoreSlim(slots, slots);
        _capacity = slots + queueSize;
    }

    public int Slots { get; }

    /// <summary>Requests admitted but not yet generating.</summary>
    public int Waiting => Math.Max(0, Volatile.Read(ref _admitted) - Volatile.Read(ref _active));

    /// <summary>Admits a request or throws a 429 <see cref="ApiError"/>; then waits for a generation slot.</summary>
    public async Task<Lease> EnterAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Increment(ref _admitted) > _capacity)
        {
            Interlocked.Decrement(ref _admitted);
            int retry = (int)Math.Clamp(Math.Ceiling(_averageSeconds * (Waiting + 1) / Slots), 1, 120);
            throw new ApiError(429, $"The server is at capacity ({Slots} generating, {_capacity - Slots} waiting); retry after {retry} s.",
                "rate_limit_error", "queue_full")
            { RetryAfterSeconds = retry };
        }
        try
        {
            await _slots.WaitAsync(cancellationToken);
        }
        catch
        {
            Interlocked.Decrement(ref _admitted);
            throw;
        }
        Interlocked.Increment(ref _active);
        return new Lease(this);
    }

    private void Leave(TimeSpan took)
    {
        double seconds = took.TotalSeconds;
        _averageSeconds = 0.8 * _averageSeconds + 0.2 * seconds;
        Interlocked.Decrement(ref _active);
        Interlocked.Decrement(ref _admitted);
        _slots.Release();
    }

    /// <summary>A held generation slot; dispose to give it back.</summary>
    public sealed class Lease(RequestQueue queue) : IDisposable
    {
        private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0) queue.Leave(_clock.Elapsed);
        }
    }
}
