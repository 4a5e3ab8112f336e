using System.Runtime.InteropServices;

namespace BarkSharp.Tensors.Jit;

/// <summary>
/// Machine code in pages of its own, written while they are read-write and then made read-execute (W^X: never both):
/// <c>mmap</c>/<c>mprotect</c> on Linux and macOS, <c>VirtualAlloc</c>/<c>VirtualProtect</c> on Windows. The kernels
/// live as long as the process; <see cref="Dispose"/> exists for tests.
/// </summary>
internal sealed unsafe partial class ExecutableMemory : IDisposable
{
    private ExecutableMemory(nint address, nuint size)
    {
        Address = address;
        Size = size;
    }

    /// <summary>First byte of the code.</summary>
    public nint Address { get; private set; }

    /// <summary>Bytes mapped (whole pages).</summary>
    public nuint Size { get; }

    /// <summary>Whether this OS lets the process map executable pages the way this class does.</summary>
    public static bool IsSupported => OperatingSystem.IsLinux() || OperatingSystem.IsWindows() || OperatingSystem.IsMacOS();

    /// <summary>Copies <paramref name="code"/> into fresh read-write pages, then turns them read-execute.</summary>
    public static ExecutableMemory Create(ReadOnlySpan<byte> code)
    {
        if (!IsSupported) throw new PlatformNotSupportedException("Executable memory needs Linux, macOS or Windows.");
        nuint size = (nuint)((code.Length + 4095) & ~4095);
        if (size == 0) size = 4096;
        nint address;
        if (OperatingSystem.IsWindows())
        {
            address = VirtualAlloc(0, size, MemCommit | MemReserve, PageReadWrite);
            if (address == 0) throw new InvalidOperationException($"VirtualAlloc failed ({Marshal.GetLastPInvokeError()}).");
            code.CopyTo(new Span<byte>((void*)address, code.Length));
            if (!VirtualProtect(address, size, PageExecuteRead, out _))
                throw new InvalidOperationException($"VirtualProtect failed ({Marshal.GetLastPInvokeError()}).");
            FlushInstructionCache(GetCurrentProcess(), address, size);
        }
        else
        {
            int anonymous = OperatingSystem.IsMacOS() ? 0x1000 : 0x20;
            address = mmap(0, size, ProtRead | ProtWrite, MapPrivate | anonymous, -1, 0);
            if (address == -1) throw new InvalidOperationException($"mmap failed (errno {Marshal.GetLastPInvokeError()}).");
            code.CopyTo(new Span<byte>((void*)address, code.Length));
            if (mprotect(address, size, ProtRead | ProtExec) != 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                munmap(address, size);
                throw new InvalidOperationException($"mprotect failed (errno {errno}).");
            }
        }
        return new ExecutableMemory(address, size);
    }

    /// <summary>Unmaps the pages (the code must no longer run).</summary>
    public void Dispose()
    {
        if (Address == 0) return;
        if (OperatingSystem.IsWindows()) VirtualFree(Address, 0, MemRelease);
        else munmap(Address, Size);
        Address = 0;
    }

    private const int ProtRead = 1, ProtWrite = 2, ProtExec = 4, MapPrivate = 2;
    private const uint MemCommit = 0x1000, MemReserve = 0x2000, MemRelease = 0x8000, PageReadWrite = 0x04, PageExecuteRead = 0x20;

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint mmap(nint address, nuint length, int protection, int flags, int fd, nint offset);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int mprotect(nint address, nuint length, int protection);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int munmap(nint address, nuint length);

    [LibraryImport("kernel32", SetLastError = true)]
    private static partial nint VirtualAlloc(nint address, nuint size, uint type, uint protection);

    [LibraryImport("kernel32", SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    private static partial bool VirtualProtect(nint address, nuint size, uint protection, out uint old);

    [LibraryImport("kernel32", SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    private static partial bool VirtualFree(nint address, nuint size, uint type);

    [LibraryImport("kernel32")]
    private static partial nint GetCurrentProcess();

    [LibraryImport("kernel32")]
    [return: MarshalAs(UnmanagedType.Bool)]
    private static partial bool FlushInstructionCache(nint process, nint address, nuint size);
}
