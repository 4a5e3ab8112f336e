using System.Text.Json;

namespace BarkSharp.Configuration;

/// <summary>
/// The EnCodec codec Bark decodes with (<c>codec_config</c> in config.json, Transformers' <c>EncodecConfig</c>).
/// Absent keys take the defaults of <c>facebook/encodec_24khz</c>, which is what suno/bark stores.
/// </summary>
public sealed record EncodecConfig
{
    /// <summary>Bandwidths in kbps the codec supports. Default [1.5, 3, 6, 12, 24].</summary>
    public double[] TargetBandwidths { get; init; } = [1.5, 3.0, 6.0, 12.0, 24.0];

    /// <summary>Audio sample rate in Hz (<c>sampling_rate</c> in the JSON; one name, SampleRate, across the library). Default 24000.</summary>
    public int SampleRate { get; init; } = 24000;

    /// <summary>Audio channels. Default 1.</summary>
    public int AudioChannels { get; init; } = 1;

    /// <summary>Whether the audio is normalized (encoder only). Default false.</summary>
    public bool Normalize { get; init; }

    /// <summary>Chunk length in seconds for chunked coding (null = no chunking).</summary>
    public double? ChunkLengthS { get; init; }

    /// <summary>Overlap between chunks (null = none).</summary>
    public double? Overlap { get; init; }

    /// <summary>Width of the latent between decoder and quantizer. Default 128.</summary>
    public int HiddenSize { get; init; } = 128;

    /// <summary>Base number of convolution filters. Default 32.</summary>
    public int NumFilters { get; init; } = 32;

    /// <summary>Residual layers per resolution. Default 1.</summary>
    public int NumResidualLayers { get; init; } = 1;

    /// <summary>Upsampling ratios of the decoder. Default [8, 5, 4, 2] (hop 320).</summary>
    public int[] UpsamplingRatios { get; init; } = [8, 5, 4, 2];

    /// <summary>Normalization of the convolutions: <c>weight_norm</c> (default) or <c>time_group_norm</c>.</summary>
    public string NormType { get; init; } = "weight_norm";

    /// <summary>Kernel of the first convolution. Default 7.</summary>
    public int KernelSize { get; init; } = 7;

    /// <summary>Kernel of the last convolution. Default 7.</summary>
    public int LastKernelSize { get; init; } = 7;

    /// <summary>Kernel of the residual blocks' first convolution. Default 3.</summary>
    public int ResidualKernelSize { get; init; } = 3;

    /// <summary>Dilation growth between residual layers. Default 2.</summary>
    public int DilationGrowthRate { get; init; } = 2;

    /// <summary>Whether convolutions are causal (pad left only). Default true.</summary>
    public bool UseCausalConv { get; init; } = true;

    /// <summary>Padding mode of the convolutions. Default <c>reflect</c>.</summary>
    public string PadMode { get; init; } = "reflect";

    /// <summary>Channel reduction inside residual blocks. Default 2.</summary>
    public int Compress { get; init; } = 2;

    /// <summary>LSTM layers in the decoder. Default 2.</summary>
    public int NumLstmLayers { get; init; } = 2;

    /// <summary>Share of the transposed-convolution padding trimmed on the right in causal mode. Default 1.</summary>
    public double TrimRightRatio { get; init; } = 1.0;

    /// <summary>Codes per codebook. Default 1024.</summary>
    public int CodebookSize { get; init; } = 1024;

    /// <summary>Width of a codebook vector. Default = <see cref="HiddenSize"/>.</summary>
    public int CodebookDim { get; init; } = 128;

    /// <summary>Whether residual blocks have a 1×1 convolution shortcut. Default true.</summary>
    public bool UseConvShortcut { get; init; } = true;

    /// <summary>Samples per codec frame: the product of <see cref="UpsamplingRatios"/> (320).</summary>
    public int HopLength => UpsamplingRatios.Aggregate(1, (a, b) => a * b);

    /// <summary>Codec frames per second: ceil(sampling_rate / hop_length) (75).</summary>
    public int FrameRate => (int)Math.Ceiling(SampleRate / (double)HopLength);

    /// <summary>Number of residual quantizers: 1000·max(bandwidth) // (frame_rate·10) (32 for 24 kHz).</summary>
    public int NumQuantizers => (int)Math.Floor(1000 * TargetBandwidths.Max() / (FrameRate * 10.0));

    internal static EncodecConfig FromJson(JsonSection s)
    {
        var d = new EncodecConfig();
        int hidden = s.Int("hidden_size", d.HiddenSize);
        var c = new EncodecConfig
        {
            TargetBandwidths = s.DoubleArray("target_bandwidths", d.TargetBandwidths),
            SampleRate = s.Int("sampling_rate", d.SampleRate),
            AudioChannels = s.Int("audio_channels", d.AudioChannels),
            Normalize = s.Bool("normalize", d.Normalize),
            ChunkLengthS = s.NullableDouble("chunk_length_s"),
            Overlap = s.NullableDouble("overlap"),
            HiddenSize = hidden,
            NumFilters = s.Int("num_filters", d.NumFilters),
            NumResidualLayers = s.Int("num_residual_layers", d.NumResidualLayers),
            UpsamplingRatios = s.IntArray("upsampling_ratios", d.UpsamplingRatios),
            NormType = s.String("norm_type", d.NormType)!,
            KernelSize = s.Int("kernel_size", d.KernelSize),
            LastKernelSize = s.Int("last_kernel_size", d.LastKernelSize),
            ResidualKernelSize = s.Int("residual_kernel_size", d.ResidualKernelSize),
            DilationGrowthRate = s.Int("dilation_growth_rate", d.DilationGrowthRate),
            UseCausalConv = s.Bool("use_causal_conv", d.UseCausalConv),
            PadMode = s.String("pad_mode", d.PadMode)!,
            Compress = s.Int("compress", d.Compress),
            NumLstmLayers = s.Int("num_lstm_layers", d.NumLstmLayers),
            TrimRightRatio = s.Double("trim_right_ratio", d.TrimRightRatio),
            CodebookSize = s.Int("codebook_size", d.CodebookSize),
            CodebookDim = s.NullableInt("codebook_dim") ?? hidden,
            UseConvShortcut = s.Bool("use_conv_shortcut", d.UseConvShortcut),
        };
        c.Validate(s.Where);
        return c;
    }

    /// <summary>Parses a stand-alone EnCodec config.json object.</summary>
    public static EncodecConfig FromJson(JsonElement element) => FromJson(new JsonSection(element, "codec_config"));

    private void Validate(string where)
    {
        if (TargetBandwidths.Length == 0) throw new BarkConfigException($"{where}.target_bandwidths must not be empty.");
        if (UpsamplingRatios.Length == 0 || UpsamplingRatios.Any(r => r <= 0))
            throw new BarkConfigException($"{where}.upsampling_ratios must be a non-empty list of positive integers.");
        foreach (var (name, v) in new[] { ("hidden_size", HiddenSize), ("num_filters", NumFilters), ("codebook_size", CodebookSize), ("codebook_dim", CodebookDim), ("kernel_size", KernelSize), ("last_kernel_size", LastKernelSize), ("residual_kernel_size", ResidualKernelSize), ("compress", Compress), ("sampling_rate", SampleRate), ("audio_channels", AudioChannels) })
            if (v <= 0) throw new BarkConfigException($"{where}.{name} must be positive, found {v}.");
        if (NormType is not ("weight_norm" or "time_group_norm"))
            throw new BarkConfigException($"{where}.norm_type '{NormType}' is not supported (weight_norm or time_group_norm).");
        if (PadMode is not ("reflect" or "constant" or "replicate"))
            throw new BarkConfigException($"{where}.pad_mode '{PadMode}' is not supported (reflect, constant or replicate).");
    }
}
