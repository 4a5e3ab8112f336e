namespace BarkSharp.Tensors;

/// <summary>
/// The data cache sizes the GEMM blocking is sized for: the first core's L1 data and L2 caches as Linux reports them
/// (<c>/sys/devices/system/cpu/cpu0/cache</c>), else 32 KB and 1 MB, what x86 cores of the last decade and most Arm64
/// cores have at least (Intel's server cores have 48 KB and 2 MB, Apple's cores more: blocks sized for less still fit).
/// </summary>
internal static class CacheSizes
{
    /// <summary>L1 data cache bytes of one core.</summary>
    public static int L1Data { get; }

    /// <summary>L2 cache bytes of one core.</summary>
    public static int L2 { get; }

    static CacheSizes()
    {
        int l1 = 0, l2 = 0;
        try
        {
            const string root = "/sys/devices/system/cpu/cpu0/cache";
            if (Directory.Exists(root))
            {
                foreach (string index in Directory.EnumerateDirectories(root, "index*"))
                {
                    string level = Read(index, "level"), type = Read(index, "type");
                    int size = ParseSize(Read(index, "size"));
                    if (level == "1" && type == "Data") l1 = size;
                    else if (level == "2" && type is "Unified" or "Data") l2 = size;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        L1Data = l1 is >= 8 << 10 and <= 4 << 20 ? l1 : 32 << 10;
        L2 = l2 is >= 128 << 10 and <= 64 << 20 ? l2 : 1 << 20;
    }

    private static string Read(string folder, string name)
    {
        string path = Path.Combine(folder, name);
        return File.Exists(path) ? File.ReadAllText(path).Trim() : "";
    }

    /// <summary>Bytes of a sysfs size such as <c>32K</c>, <c>1024K</c> or <c>2M</c>; 0 when unreadable.</summary>
    internal static int ParseSize(string text)
    {
        if (text.Length == 0) return 0;
        long scale = char.ToUpperInvariant(text[^1]) switch { 'K' => 1 << 10, 'M' => 1 << 20, 'G' => 1 << 30, _ => 1 };
        string digits = scale == 1 ? text : text[..^1];
        return long.TryParse(digits, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long value)
            ? (int)Math.Min(int.MaxValue, value * scale) : 0;
    }
}
