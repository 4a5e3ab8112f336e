
namespace BarkSharp.IO;

/// <summary>Opens a checkpoint file of either format the hub ships, choosing the reader by the file's first bytes.</summary>
internal static class Checkpoint
{
    // pickle protocol 2, then torch.save's legacy magic number 0x1950a86a20f9469cfc6c as a 10-byte LONG1.
    private static ReadOnlySpan<byte> LegacyTorchMagic => [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9];

    /// <summary>
    /// Opens <paramref name="path"/> as a <see cref="SafeTensorsFile"/> (8-byte header length, then a JSON object) or a
    /// <see cref="TorchCheckpoint"/> (a zip archive, <c>PK\x03\x04</c>). The content decides, not the extension
    /// (<c>.safetensors</c>, <c>.bin</c>, <c>.pt</c>, <c>.pth</c>), so a misnamed file still opens.
    /// </summary>
    /// <exception cref="BarkFormatException">The file is missing, of neither format (e.g. the legacy pre-1.6 torch format), or malformed.</exception>
    public static ITensorStore OpenCheckpoint(string path)
    {
        if (!File.Exists(path))
            throw new BarkFormatException(path, "the file does not exist.");
        Span<byte> head = stackalloc byte[9];
        long length;
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read))
        {
            length = stream.Length;
            head = head[..stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false)];
        }

        if (head.StartsWith("PK\x03\x04"u8))
            return TorchCheckpoint.Open(path);
        // A JSON header right after the length field: safetensors, even when the length is wrong (SafeTensorsFile says how).
        if (head.Length == 9 && head[8] == (byte)'{')
            return SafeTensorsFile.Open(path);
        if (head.StartsWith(LegacyTorchMagic))
            throw new BarkFormatException(path,
                "the file is a PyTorch checkpoint in the legacy (pre-1.6) torch.save format, which is not supported. " +
                "Re-save it with torch >= 1.6 (torch.save(torch.load(path), path)) or convert it to model.safetensors.");
        throw new BarkFormatException(path,
            "the file is neither a safetensors file nor a torch.save zip checkpoint (pytorch_model.bin); " +
            (length < 9 ? $"it has only {length} bytes." : "check that the download is complete and the path is right."));
    }
}
