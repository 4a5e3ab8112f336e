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
/// </summary>
internal static class KernelParallel
{
    /// <summary>Runs <paramref name="job"/> over <c>[0, count)</c> on up to <paramref name="threads"/> threads (the caller's alone when 1).</summary>
    public static void For<TJob>(TJob job, int count, int threads)
        where TJob : struct, IRangeJob
    {
        threads = Math.Clamp(threads, 1, Math.Max(1, count));
        if (threads == 1) job.Run(0, count);
        else Fan(job, count, threads);
    }

    // Kept apart so the closure is only allocated when threads are used (a decode step on one thread allocates nothing).
    private static void Fan<TJob>(TJob job, int count, int threads)
        where TJob : struct, IRangeJob =>
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
            job.Run((int)((long)count * t / threads), (int)((long)count * (t + 1) / threads)));
}
