using System.Diagnostics.Metrics;

namespace BarkSharp.Server;

/// <summary>
/// The server's instruments on the meter <c>BarkSharp.Server</c>, exported at <c>/metrics</c> by OpenTelemetry's
/// Prometheus exporter (dots become underscores, counters end in <c>_total</c>, seconds in <c>_seconds</c>).
/// </summary>
internal sealed class ServerMetrics : IDisposable
{
    /// <summary>The meter's name, for <c>AddMeter</c>.</summary>
    public const string MeterName = "BarkSharp.Server";

    private readonly Meter _meter;
    private readonly Counter<long> _requests;
    private readonly UpDownCounter<long> _inFlight;
    private readonly Histogram<double> _timeToFirstAudio;
    private readonly Histogram<double> _duration;
    private readonly Histogram<long> _batchSize;
    private readonly Counter<double> _audioSeconds;
    private readonly Counter<long> _cancelled;
    private long _cancelledCount, _inFlightCount, _completedCount, _largestBatch;
    private Func<int> _queueDepth = () => 0;
    private int _ready;

    /// <summary>Creates the instruments on a meter from <paramref name="meterFactory"/> (or a private meter).</summary>
    public ServerMetrics(IMeterFactory? meterFactory = null)
    {
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _requests = _meter.CreateCounter<long>("bark.server.requests", description: "HTTP requests answered, by endpoint and status code.");
        _inFlight = _meter.CreateUpDownCounter<long>("bark.server.requests.in_flight", description: "Speech requests being generated now.");
        _meter.CreateObservableGauge("bark.server.queue.depth", () => _queueDepth(), description: "Speech requests waiting for a generation slot.");
        _meter.CreateObservableGauge("bark.server.ready", () => Volatile.Read(ref _ready), description: "1 once the model is loaded and warmed up.");
        _timeToFirstAudio = _meter.CreateHistogram<double>("bark.server.time_to_first_audio", "s", "From the request's arrival to its first audio bytes.");
        _duration = _meter.CreateHistogram<double>("bark.server.request.duration", "s", "Speech requests from arrival to the last byte.");
        _batchSize = _meter.CreateHistogram<long>("bark.server.batch.size", description: "Segments generated together in one batch.");
        _audioSeconds = _meter.CreateCounter<double>("bark.server.audio", "s", "Seconds of audio produced.");
        _cancelled = _meter.CreateCounter<long>("bark.server.generations.cancelled", description: "Generations stopped before the end, by reason (client_disconnected, deadline, shutdown).");
    }

    /// <summary>Generations stopped early so far (all reasons).</summary>
    public long CancelledCount => Interlocked.Read(ref _cancelledCount);

    /// <summary>Speech requests generating now.</summary>
    public long InFlight => Interlocked.Read(ref _inFlightCount);

    /// <summary>Speech requests that delivered all their audio.</summary>
    public long Completed => Interlocked.Read(ref _completedCount);

    /// <summary>The most segments generated in one batch so far.</summary>
    public long LargestBatch => Interlocked.Read(ref _largestBatch);

    /// <summary>Raised after a generation was stopped early, with the reason.</summary>
    public event Action<string>? GenerationCancelled;

    internal void SetQueueDepth(Func<int> depth) => _queueDepth = depth;

    internal void SetReady(bool ready) => Volatile.Write(ref _ready, ready ? 1 : 0);

    internal void Request(string endpoint, int status) =>
        _requests.Add(1, new KeyValuePair<string, object?>("endpoint", endpoint), new KeyValuePair<string, object?>("status", status));

    internal void Started()
    {
        Interlocked.Increment(ref _inFlightCount);
        _inFlight.Add(1);
    }

    internal void Finished()
    {
        Interlocked.Decrement(ref _inFlightCount);
        _inFlight.Add(-1);
    }

    internal void FirstAudio(TimeSpan sinceArrival) => _timeToFirstAudio.Record(sinceArrival.TotalSeconds);

    internal void Done(TimeSpan sinceArrival, double audioSeconds)
    {
        Interlocked.Increment(ref _completedCount);
        _duration.Record(sinceArrival.TotalSeconds);
        _audioSeconds.Add(audioSeconds);
    }

    internal void Batch(int size)
    {
        _batchSize.Record(size);
        long seen;
        while (size > (seen = Interlocked.Read(ref _largestBatch)) && Interlocked.CompareExchange(ref _largestBatch, size, seen) != seen)
        {
        }
    }

    internal void Cancelled(string reason)
    {
        Interlocked.Increment(ref _cancelledCount);
        _cancelled.Add(1, new KeyValuePair<string, object?>("reason", reason));
        GenerationCancelled?.Invoke(reason);
    }

    /// <inheritdoc />
    public void Dispose() => _meter.Dispose();
}
