using BarkSharp.Hub;

namespace BarkSharp.Extensions.AI;

/// <summary>What <c>services.AddBarkTextToSpeech(…)</c> loads and how the client it registers behaves.</summary>
public sealed class BarkTextToSpeechServiceOptions
{
    /// <summary>A hub repository id (downloaded into the Hugging Face cache on first use) or a local model folder; default <c>suno/bark-small</c>.</summary>
    public string Model { get; set; } = "suno/bark-small";

    /// <summary>Weight type, KV cache, threads, low-memory mode and hub settings of the model; <see cref="BarkModelOptions.Hub"/> also serves the processor.</summary>
    public BarkModelOptions ModelOptions { get; set; } = new();

    /// <summary>The client's request defaults (voice, format, seed, temperatures, segmentation).</summary>
    public BarkTextToSpeechClientOptions Client { get; set; } = new();

    /// <summary>
    /// Load the model while the host starts (a hosted service, so the host is ready only with the model in memory) and
    /// speak a few tokens once, so the first request pays neither the load nor the JIT (default true). Without a host,
    /// or when false, the model loads when the client is first resolved.
    /// </summary>
    public bool WarmUpOnStart { get; set; } = true;

    /// <summary>The text the warm-up speaks (default "Hello."), with at most 8 semantic tokens.</summary>
    public string WarmUpText { get; set; } = "Hello.";

    internal HubOptions? Hub => ModelOptions.Hub;
}
