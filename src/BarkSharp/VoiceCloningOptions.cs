using BarkSharp.Cloning;
using BarkSharp.Hub;

namespace BarkSharp;

/// <summary>
/// Where the models of voice cloning come from and how the recording is read. Each model is a local path or a hub
/// repository id; repositories are fetched into the shared hub cache on first use (<see cref="Hub"/>, offline mode
/// honoured) and read from there afterwards.
/// </summary>
public sealed record VoiceCloningOptions
{
    /// <summary>
    /// Default <see cref="BarkModel"/>: <c>suno/bark-small</c>, the CLI's default model. Only its codec is read, the
    /// EnCodec 24 kHz model that <c>suno/bark</c> holds too, so a prompt cloned with either works with both.
    /// </summary>
    public const string DefaultBarkModel = "suno/bark-small";

    /// <summary>Default <see cref="Hubert"/>: HuBERT base trained on LibriSpeech 960 h (≈ 377 MB as float32).</summary>
    public const string DefaultHubert = "facebook/hubert-base-ls960";

    /// <summary>Default <see cref="Quantizer"/>: the recipe's repository of quantizers.</summary>
    public const string DefaultQuantizer = "GitMylo/bark-voice-cloning";

    /// <summary>Default <see cref="QuantizerFileName"/>: the v0 quantizer after 14 epochs, the recipe's default (≈ 104 MB).</summary>
    public const string DefaultQuantizerFileName = "quantifier_hubert_base_ls960_14.pth";

    /// <summary>Default <see cref="HubertLayer"/>: the recipe's <c>output_layer=9</c>.</summary>
    public const int DefaultHubertLayer = 9;

    /// <summary>A Bark model folder or repository id; only its <c>codec_model.*</c> tensors are read. Default <see cref="DefaultBarkModel"/>.</summary>
    public string BarkModel { get; init; } = DefaultBarkModel;

    /// <summary>A HuBERT folder (<c>config.json</c> + weights) or repository id. Default <see cref="DefaultHubert"/>.</summary>
    public string Hubert { get; init; } = DefaultHubert;

    /// <summary>
    /// The HuBERT hidden state the quantizer reads: <c>hidden_states[HubertLayer]</c> in Transformers, fairseq's 1-based
    /// <c>output_layer</c>. Default <see cref="DefaultHubertLayer"/> (9 of 12); a quantizer only works with the layer it was trained on.
    /// </summary>
    public int HubertLayer { get; init; } = DefaultHubertLayer;

    /// <summary>A quantizer <c>.pth</c> file, a folder holding <see cref="QuantizerFileName"/>, or a repository id. Default <see cref="DefaultQuantizer"/>.</summary>
    public string Quantizer { get; init; } = DefaultQuantizer;

    /// <summary>The quantizer file inside a folder or repository. Default <see cref="DefaultQuantizerFileName"/>.</summary>
    public string QuantizerFileName { get; init; } = DefaultQuantizerFileName;

    /// <summary>Hub endpoint, token, cache, revision and offline mode for models given as repository ids (the environment's when null).</summary>
    public HubOptions? Hub { get; init; }

    /// <summary>Threads the models may use (default: all processors); results do not depend on it.</summary>
    public int? MaxThreads { get; init; }

    /// <summary>Longest recording accepted. Default 5 minutes; the recipe advises 5–12 s.</summary>
    public TimeSpan MaxDuration { get; init; } = TimeSpan.FromMinutes(5);
}
