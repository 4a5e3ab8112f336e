using System.CommandLine;
using System.Text.Json;
using BarkSharp.Configuration;
using BarkSharp.IO;

namespace BarkSharp.Cli.Commands;

/// <summary><c>bark info</c>: a model's configuration, files, weight types and parameter counts.</summary>
internal static class InfoCommand
{
    private static readonly string[] SubModels = ["semantic", "coarse_acoustics", "fine_acoustics", "codec_model"];

    public static Command Create(CliContext context)
    {
        var json = new Option<bool>("--json") { Description = "Print the summary as JSON." };
        var model = new ModelSelection();
        var command = new Command("info", "Summarize a model: configuration, files, weight dtype and parameters per sub-model.\n" +
                                          "Example: bark info tests/fixtures/tiny-bark (or --model FOLDER|REPO)") { json };
        model.AddTo(command, positional: true);

        command.SetAction(async (result, cancellationToken) =>
        {
            ProgressView view = ProgressView.Create(context);
            string folder = await view.RunAsync(() => model.LocalFolderAsync(result, context, view, cancellationToken));
            BarkConfig config = BarkConfig.Load(Path.Combine(folder, "config.json"));
            string weights = new[] { "model.safetensors", "pytorch_model.bin" }.Select(f => Path.Combine(folder, f)).FirstOrDefault(File.Exists)
                             ?? throw new CliException(ExitCodes.ModelUnavailable, $"'{folder}' has neither model.safetensors nor pytorch_model.bin.");

            var parameters = SubModels.ToDictionary(s => s, _ => 0L);
            var dtypes = new SortedDictionary<string, long>(StringComparer.Ordinal);
            using (ITensorStore store = Checkpoint.OpenCheckpoint(weights))
            {
                foreach (string key in store.Keys.Distinct(StringComparer.Ordinal))
                {
                    if (!store.TryGetInfo(key, out TensorInfo info)) continue;
                    string dtype = info.DType.ToString().ToLowerInvariant();
                    dtypes[dtype] = dtypes.GetValueOrDefault(dtype) + info.ElementCount;
                    if (!info.DType.IsFloatingPoint()) continue;
                    string? prefix = SubModels.FirstOrDefault(s => key.StartsWith(s + ".", StringComparison.Ordinal));
                    if (prefix is not null) parameters[prefix] += info.ElementCount;
                }
            }
            var files = Directory.EnumerateFiles(folder, "*", SearchOption.TopDirectoryOnly)
                .Select(f => (Name: Path.GetFileName(f), Bytes: ModelSelection.FileSize(f)))
                .OrderBy(f => f.Name, StringComparer.Ordinal).ToList();
            int voices = VoicePreset.AvailablePresets(folder).Count;

            var sub = new Dictionary<string, Dictionary<string, object>>
            {
                ["semantic"] = Causal(config.SemanticConfig, parameters["semantic"]),
                ["coarse_acoustics"] = Causal(config.CoarseAcousticsConfig, parameters["coarse_acoustics"]),
                ["fine_acoustics"] = Causal(config.FineAcousticsConfig, parameters["fine_acoustics"]),
                ["codec_model"] = new()
                {
                    ["parameters"] = parameters["codec_model"],
                    ["sampling_rate"] = config.CodecConfig.SamplingRate,
                    ["codebook_size"] = config.CodecConfig.CodebookSize,
                    ["upsampling_ratios"] = config.CodecConfig.UpsamplingRatios,
                    ["num_filters"] = config.CodecConfig.NumFilters,
                },
            };
            sub["fine_acoustics"]["n_codes_total"] = config.FineAcousticsConfig.NCodesTotal;
            sub["fine_acoustics"]["n_codes_given"] = config.FineAcousticsConfig.NCodesGiven;

            if (result.GetValue(json))
            {
                var document = new Dictionary<string, object?>
                {
                    ["model"] = model.ModelId(result),
                    ["folder"] = Path.GetFullPath(folder),
                    ["weights"] = new Dictionary<string, object> { ["file"] = Path.GetFileName(weights), ["bytes"] = ModelSelection.FileSize(weights), ["dtypes"] = dtypes },
                    ["torch_dtype"] = config.TorchDtype,
                    ["files"] = files.ToDictionary(f => f.Name, f => f.Bytes),
                    ["voice_presets"] = voices,
                };
                foreach ((string name, Dictionary<string, object> values) in sub) document[name] = values;
                await context.Out.WriteLineAsync(JsonSerializer.Serialize(document, new JsonSerializerOptions { WriteIndented = true }));
                return ExitCodes.Success;
            }

            TextWriter o = context.Out;
            await o.WriteLineAsync($"model     {model.ModelId(result)}");
            await o.WriteLineAsync($"folder    {Path.GetFullPath(folder)}");
            await o.WriteLineAsync($"weights   {Path.GetFileName(weights)}, {ProgressView.Bytes(ModelSelection.FileSize(weights))}, " +
                                   string.Join(", ", dtypes.Select(d => $"{d.Key} ({d.Value:N0} values)")));
            await o.WriteLineAsync($"files     {string.Join(", ", files.Select(f => $"{f.Name} {ProgressView.Bytes(f.Bytes)}"))}");
            await o.WriteLineAsync($"voices    {voices} presets (bark voices)");
            foreach ((string name, Dictionary<string, object> values) in sub)
            {
                string details = string.Join(", ", values.Where(v => v.Key != "parameters")
                    .Select(v => $"{v.Key} {v.Value switch { int[] a => "[" + string.Join(", ", a) + "]", bool b => b ? "true" : "false", var x => x }}"));
                await o.WriteLineAsync($"{name,-17} {(long)values["parameters"],13:N0} parameters  {details}");
            }
            return ExitCodes.Success;
        });
        return command;
    }

    private static Dictionary<string, object> Causal(BarkSubModelConfig c, long parameters) => new()
    {
        ["parameters"] = parameters,
        ["num_layers"] = c.NumLayers,
        ["num_heads"] = c.NumHeads,
        ["hidden_size"] = c.HiddenSize,
        ["block_size"] = c.BlockSize,
        ["input_vocab_size"] = c.InputVocabSize,
        ["output_vocab_size"] = c.OutputVocabSize,
        ["bias"] = c.Bias,
    };
}
