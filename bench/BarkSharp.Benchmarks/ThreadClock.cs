using System.Runtime.InteropServices;

/// <summary>
/// The calling thread's CPU time (Linux <c>CLOCK_THREAD_CPUTIME_ID</c>): on a host shared with other work, a one-thread
/// kernel timed by it loses only what the other work does to the caches, not the time it is scheduled out.
/// </summary>
internal static partial class ThreadClock
{
    private const int ThreadCpuTime = 3;

    /// <summary>Whether the clock is available (Linux only).</summary>
    public static bool IsSupported => OperatingSystem.IsLinux();

    /// <summary>Milliseconds of CPU time the calling thread has used.</summary>
    public static double Milliseconds()
    {
        if (clock_gettime(ThreadCpuTime, out Timespec t) != 0) throw new InvalidOperationException("clock_gettime failed");
        return t.Seconds * 1e3 + t.Nanoseconds / 1e6;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", SetLastError = false)]
    private static partial int clock_gettime(int clock, out Timespec time);
}
