using System.Runtime.InteropServices;

namespace BarkSharp.Tensors.Jit;

/// <summary>
/// Linux hands out the AMX tile state (XFEATURE_XTILEDATA, 8 KB per thread) only on request:
/// <c>arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA)</c>, once per process, before the first tile instruction.
/// Other OSes: not requested here, so AMX counts as unavailable.
/// </summary>
internal static partial class AmxPermission
{
    private const long SysArchPrctl = 158, ArchReqXcompPerm = 0x1023, XfeatureXtiledata = 18;
    private static readonly Lazy<bool> Granted = new(RequestOnce);

    /// <summary>Whether the process may use the tile registers (asks the kernel the first time).</summary>
    public static bool Request() => Granted.Value;

    private static bool RequestOnce()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            return syscall(SysArchPrctl, ArchReqXcompPerm, XfeatureXtiledata) == 0;
        }
        catch (EntryPointNotFoundException)
        {
            return false;
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial long syscall(long number, long a1, long a2);
}
