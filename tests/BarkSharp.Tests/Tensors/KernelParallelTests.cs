using System.Collections.Concurrent;
using BarkSharp.Tensors;

namespace BarkSharp.Tests.Tensors;

public class KernelParallelTests
{
    /// <summary>Counts how often each unit ran and which threads ran units.</summary>
    private readonly struct CountingJob(int[] hits, ConcurrentDictionary<int, byte> threads, VectorPath[] widths) : IRangeJob
    {
        public void Run(int begin, int end)
        {
            threads.TryAdd(Environment.CurrentManagedThreadId, 0);
            for (int i = begin; i < end; i++)
            {
                Interlocked.Increment(ref hits[i]);
                widths[i] = Simd.Path;
            }
        }
    }

    private readonly struct SlowCountingJob(ConcurrentDictionary<int, byte> threads, VectorPath[] widths) : IRangeJob
    {
        public void Run(int begin, int end)
        {
            new CountingJob(new int[widths.Length], threads, widths).Run(begin, end);
            Thread.Sleep(2);
        }
    }

    private readonly struct ThrowingJob(int badUnit) : IRangeJob
    {
        public void Run(int begin, int end)
        {
            if (begin <= badUnit && badUnit < end) throw new InvalidOperationException($"unit {badUnit} failed");
        }
    }

    [Theory]
    [InlineData(1, 2)]
    [InlineData(7, 2)]
    [InlineData(1000, 2)]
    [InlineData(1000, 3)]
    [InlineData(5, 8)]
    public void Every_unit_runs_exactly_once(int count, int threads)
    {
        for (int call = 0; call < 50; call++)
        {
            var hits = new int[count];
            KernelParallel.For(new CountingJob(hits, new(), new VectorPath[count]), count, threads);
            Assert.All(hits, h => Assert.Equal(1, h));
        }
    }

    /// <summary>Several callers at once: one holds the kernel threads, the others fan out on the thread pool.</summary>
    [Fact]
    public void Concurrent_callers_each_get_every_unit_once()
    {
        const int callers = 4, calls = 200, count = 64;
        var failures = new ConcurrentBag<string>();
        Parallel.For(0, callers, new ParallelOptions { MaxDegreeOfParallelism = callers }, c =>
        {
            for (int call = 0; call < calls; call++)
            {
                var hits = new int[count];
                KernelParallel.For(new CountingJob(hits, new(), new VectorPath[count]), count, 2);
                if (hits.Any(h => h != 1)) failures.Add($"caller {c} call {call}: {string.Join(",", hits)}");
            }
        });
        Assert.Empty(failures);
    }

    [Fact]
    public void Two_threads_are_used_when_the_work_is_long_enough()
    {
        // Each unit sleeps, so whichever thread claims the second range first, both end up working over 40 calls.
        var threads = new ConcurrentDictionary<int, byte>();
        for (int call = 0; call < 40 && threads.Count < 2; call++)
            KernelParallel.For(new SleepingJob(threads), 2, 2);
        Assert.Equal(2, threads.Count);
    }

    private readonly struct SleepingJob(ConcurrentDictionary<int, byte> threads) : IRangeJob
    {
        public void Run(int begin, int end)
        {
            threads.TryAdd(Environment.CurrentManagedThreadId, 0);
            Thread.Sleep(5);
        }
    }

    [Fact]
    public void A_failing_range_rethrows_its_own_exception_and_the_threads_keep_working()
    {
        var e = Assert.Throws<InvalidOperationException>(() => KernelParallel.For(new ThrowingJob(900), 1000, 2));
        Assert.Equal("unit 900 failed", e.Message);
        var hits = new int[1000];
        KernelParallel.For(new CountingJob(hits, new(), new VectorPath[1000]), 1000, 2);
        Assert.All(hits, h => Assert.Equal(1, h));
    }

    /// <summary>While one caller holds the kernel threads, another's failure surfaces the same way (the thread-pool path).</summary>
    [Fact]
    public async Task A_failing_range_of_a_concurrent_caller_rethrows_its_own_exception_too()
    {
        using var holding = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var holder = Task.Run(() => KernelParallel.For(new BlockingJob(holding, release), 2, 2));
        Assert.True(holding.Wait(TimeSpan.FromSeconds(30)));
        try
        {
            var e = Assert.Throws<InvalidOperationException>(() => KernelParallel.For(new ThrowingJob(5), 10, 2));
            Assert.Equal("unit 5 failed", e.Message);
        }
        finally
        {
            release.Set();
        }
        await holder.WaitAsync(TimeSpan.FromSeconds(30));
    }

    private readonly struct BlockingJob(ManualResetEventSlim holding, ManualResetEventSlim release) : IRangeJob
    {
        public void Run(int begin, int end)
        {
            holding.Set();
            release.Wait(TimeSpan.FromSeconds(30));
        }
    }

    [Fact]
    public void A_forced_width_holds_on_the_kernel_threads()
    {
        var threads = new ConcurrentDictionary<int, byte>();
        var widths = new VectorPath[64];
        using (Simd.Force(VectorPath.Vector128))
        {
            for (int call = 0; call < 40 && threads.Count < 2; call++)
                KernelParallel.For(new SlowCountingJob(threads, widths), 64, 2);
        }
        Assert.Equal(2, threads.Count);
        Assert.All(widths, w => Assert.Equal(VectorPath.Vector128, w));
        // And the kernel threads drop it again for a caller that forced nothing.
        KernelParallel.For(new CountingJob(new int[64], threads, widths), 64, 2);
        Assert.All(widths, w => Assert.Equal(Simd.Detected, w));
    }
}
