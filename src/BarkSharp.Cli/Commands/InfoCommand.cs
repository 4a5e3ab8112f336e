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
                CheckShapes(store, config);
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
                    ["sampling_rate"] = config.CodecConfig.SampleRate,
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
                    ["kernels"] = new Dictionary<string, string> { ["vector_path"] = Diagnostics.MachineProbe.VectorPath, ["generated"] = Diagnostics.MachineProbe.GeneratedKernels },
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
            await o.WriteLineAsync($"kernels   {Diagnostics.MachineProbe.VectorPath} on this machine; generated: {Diagnostics.MachineProbe.GeneratedKernels}");
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

    /// <summary>
    /// The checks loading the model makes on the embeddings, the last layer and the heads, without loading it: a
    /// config.json that does not describe the checkpoint fails here with the same message as in <c>bark say</c>.
    /// </summary>
    private static void CheckShapes(ITensorStore store, BarkConfig config)
    {
        void Check(string key, params long[] shape) => TensorStoreExtensions.CheckShape(store, store.GetInfo(key), shape);
        foreach ((string prefix, BarkSubModelConfig c) in new (string, BarkSubModelConfig)[] { ("semantic", config.SemanticConfig), ("coarse_acoustics", config.CoarseAcousticsConfig) })
        {
            Check($"{prefix}.input_embeds_layer.weight", c.InputVocabSize, c.HiddenSize);
            Check($"{prefix}.position_embeds_layer.weight", c.BlockSize, c.HiddenSize);
            Check($"{prefix}.layers.{c.NumLayers - 1}.attn.att_proj.weight", 3L * c.HiddenSize, c.HiddenSize);
            Check($"{prefix}.lm_head.weight", c.OutputVocabSize, c.HiddenSize);
        }
        FineAcousticsConfig fine = config.FineAcousticsConfig;
        for (int i = 0; i < fine.NCodesTotal; i++) Check($"fine_acoustics.input_embeds_layers.{i}.weight", fine.InputVocabSize, fine.HiddenSize);
        Check("fine_acoustics.position_embeds_layer.weight", fine.BlockSize, fine.HiddenSize);
        Check($"fine_acoustics.layers.{fine.NumLayers - 1}.attn.att_proj.weight", 3L * fine.HiddenSize, fine.HiddenSize);
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
