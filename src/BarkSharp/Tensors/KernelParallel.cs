using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace BarkSharp.Tensors;

/// <summary>A kernel's work over a range of independent units (panels, heads, chunks of elements).</summary>
internal interface IRangeJob
{
    /// <summary>Computes units <c>[begin, end)</c>.</summary>
    void Run(int begin, int end);
}

/// <summary>
/// The kernels' one parallel-for: splits <c>[0, count)</c> into <c>threads</c> contiguous ranges of nearly equal
/// size. Every unit is computed by exactly one thread with the same code, so results do not depend on the split.
/// <para>
/// The ranges run on the caller and on dedicated kernel threads (<see cref="KernelWorkers"/>) that spin briefly
/// between kernels before they sleep: a prefill calls a few dozen kernels a layer with short single-threaded steps
/// between them, and the thread pool that <see cref="Parallel.For(int, int, Action{int})"/> uses started the second
/// range late (a median 40–50 µs, at times 13 ms on a 2-vCPU host), or the caller ran both ranges itself. While the
/// kernel threads serve one caller, another caller's kernels fan out on the thread pool as before.
/// </para>
/// </summary>
internal static class KernelParallel
{
    /// <summary>Runs <paramref name="job"/> over <c>[0, count)</c> on up to <paramref name="threads"/> threads (the caller's alone when 1).</summary>
    public static void For<TJob>(TJob job, int count, int threads)
        where TJob : struct, IRangeJob
    {
        threads = Math.Clamp(threads, 1, Math.Max(1, count));
        if (threads == 1)
        {
            job.Run(0, count);      // a decode step on one thread allocates nothing
            return;
        }
        var work = new Ranges<TJob>(job, count, threads);
        if (!KernelWorkers.TryRun(work)) Fan(work);
    }

    /// <summary>
    /// While another caller holds the kernel threads: the same parts, claimed by this caller and thread-pool threads
    /// (<see cref="FannedWork.Drain"/> keeps the forced width and the first exception, as on the kernel threads).
    /// </summary>
    private static void Fan(FannedWork work)
    {
        Parallel.For(0, work.Parts, new ParallelOptions { MaxDegreeOfParallelism = work.Parts }, _ => work.Drain());
        work.ThrowIfFailed();
    }

    /// <summary>One call's ranges, claimed one at a time by whichever thread comes first.</summary>
    private sealed class Ranges<TJob>(TJob job, int count, int threads) : FannedWork(threads)
        where TJob : struct, IRangeJob
    {
        protected override void Run(int part) =>
            job.Run((int)((long)count * part / Parts), (int)((long)count * (part + 1) / Parts));
    }
}

/// <summary>
/// Work split into <see cref="Parts"/> parts for <see cref="KernelWorkers"/> (or the thread pool): each part is claimed once (an
/// interlocked counter), run, and counted done; the first exception is kept for the caller. The caller's
/// <see cref="Simd.ForcedPath"/> width holds on every thread that runs a part.
/// </summary>
internal abstract class FannedWork(int parts)
{
    private int _next, _pending = parts;
    private ExceptionDispatchInfo? _error;
    private readonly VectorPath? _forced = Simd.ForcedPath;

    /// <summary>The number of parts.</summary>
    public int Parts { get; } = parts;

    /// <summary>Whether every part has finished.</summary>
    public bool Done => Volatile.Read(ref _pending) == 0;

    /// <summary>Runs part <paramref name="part"/>.</summary>
    protected abstract void Run(int part);

    /// <summary>Claims and runs parts until none is left unclaimed.</summary>
    public void Drain()
    {
        int part;
        while ((part = Interlocked.Increment(ref _next) - 1) < Parts)
        {
            try
            {
                using var width = Simd.Force(_forced);
                Run(part);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _error, ExceptionDispatchInfo.Capture(e), null);
            }
            Interlocked.Decrement(ref _pending);
        }
    }

    /// <summary>Rethrows the first exception a part threw, if any.</summary>
    public void ThrowIfFailed() => _error?.Throw();
}

/// <summary>
/// Background threads that run <see cref="FannedWork"/> parts beside the caller, one caller at a time. After a part
/// they spin for <see cref="SpinMicroseconds"/> µs waiting for the next work (a kernel follows within microseconds in
/// a forward pass), then sleep until woken; so an idle library or server holds no CPU.
/// </summary>
internal static class KernelWorkers
{
    private const int SpinMicroseconds = 300;
    private static readonly object s_grow = new();
    private static Worker[] s_workers = [];
    private static FannedWork? s_work;
    private static long s_generation;
    private static int s_busy;

    /// <summary>
    /// Runs <paramref name="work"/> on the caller and up to <c>Parts − 1</c> kernel threads (one fewer than the cores)
    /// and returns once every part is done (rethrowing a part's exception); false, without running anything, while
    /// another caller holds the threads.
    /// </summary>
    public static bool TryRun(FannedWork work)
    {
        if (Interlocked.CompareExchange(ref s_busy, 1, 0) != 0) return false;
        try
        {
            // More parts than cores (threads asked beyond the machine) are claimed by fewer threads: spinning
            // helpers on a busy core would only take time from the ones working.
            int helpers = Math.Min(work.Parts, Environment.ProcessorCount) - 1;
            Worker[] workers = Ensure(helpers);
            Volatile.Write(ref s_work, work);
            Interlocked.Increment(ref s_generation);                         // a full fence before reading Sleeping
            for (int i = 0; i < helpers; i++) workers[i].WakeIfSleeping();
            work.Drain();
            var spin = new SpinWait();
            while (!work.Done) spin.SpinOnce(sleep1Threshold: -1);
        }
        finally
        {
            Volatile.Write(ref s_work, null);
            Volatile.Write(ref s_busy, 0);
        }
        work.ThrowIfFailed();
        return true;
    }

    private static Worker[] Ensure(int count)
    {
        Worker[] workers = s_workers;
        if (workers.Length >= count) return workers;
        lock (s_grow)
        {
            workers = s_workers;
            if (workers.Length < count)
            {
                var grown = new Worker[count];
                workers.CopyTo(grown, 0);
                for (int i = workers.Length; i < count; i++) grown[i] = new Worker(i);
                s_workers = workers = grown;
            }
            return workers;
        }
    }

    private sealed class Worker
    {
        private readonly SemaphoreSlim _wake = new(0);
        private int _sleeping;

        public Worker(int index) =>
            new Thread(Loop) { IsBackground = true, Name = $"BarkSharp kernels {index + 1}" }.Start();

        public void WakeIfSleeping()
        {
            if (Volatile.Read(ref _sleeping) != 0) _wake.Release();
        }

        private void Loop()
        {
            long seen = Volatile.Read(ref s_generation), spinTicks = Stopwatch.Frequency * SpinMicroseconds / 1_000_000;
            while (true)
            {
                long deadline = Stopwatch.GetTimestamp() + spinTicks;
                while (Volatile.Read(ref s_generation) == seen)
                {
                    if (Stopwatch.GetTimestamp() < deadline)
                    {
                        Thread.SpinWait(16);
                        continue;
                    }
                    // Announce the sleep with a full fence, then look once more: a caller that published after that
                    // look sees the flag and releases the semaphore (an extra release only makes a later wait return
                    // at once, and the loop looks again).
                    Interlocked.Exchange(ref _sleeping, 1);
                    if (Volatile.Read(ref s_generation) == seen) _wake.Wait();
                    Interlocked.Exchange(ref _sleeping, 0);
                    deadline = Stopwatch.GetTimestamp() + spinTicks;
                }
                seen = Volatile.Read(ref s_generation);
                Volatile.Read(ref s_work)?.Drain();
            }
        }
    }
}
