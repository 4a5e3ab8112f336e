using System.CommandLine;
using BarkSharp.Hub;

namespace BarkSharp.Cli.Commands;

/// <summary>The <c>--model</c> and <c>--revision</c> options every model-using command shares, and loading what they name.</summary>
internal sealed class ModelSelection
{
    /// <summary>The model used when <c>--model</c> is not given.</summary>
    public const string DefaultModel = "suno/bark-small";

    public Option<string> Model { get; } = new("--model", "-m")
    {
        Description = "Hub repository id (downloaded into the Hugging Face cache on first use) or local model folder.",
        DefaultValueFactory = _ => DefaultModel,
        HelpName = "REPO|FOLDER",
    };

    public Option<string?> Revision { get; } = new("--revision")
    {
        Description = "Branch, tag or commit of the hub repository (default: main).",
        HelpName = "REV",
    };

    public void AddTo(Command command)
    {
        command.Options.Add(Model);
        command.Options.Add(Revision);
    }

    public string ModelId(ParseResult result) => result.GetValue(Model) ?? DefaultModel;

    public HubOptions Hub(ParseResult result, CliContext context) => context.Hub(result.GetValue(Revision));

    /// <summary>Loads the processor (tokenizer and voice index; small files, downloaded when missing).</summary>
    public BarkProcessor LoadProcessor(ParseResult result, CliContext context) =>
        BarkProcessor.FromPretrained(ModelId(result), hub: Hub(result, context));

    /// <summary>Loads the model, showing download progress.</summary>
    public async Task<BarkModel> LoadModelAsync(ParseResult result, CliContext context, ProgressView view, int? threads, CancellationToken cancellationToken,
        Tensors.WeightType weights = Tensors.WeightType.Auto, Generation.KvCacheType kvCache = Generation.KvCacheType.Auto, bool lowMemory = false)
    {
        var options = new BarkModelOptions { Hub = Hub(result, context), MaxThreads = threads, WeightType = weights, KvCacheType = kvCache, LowMemory = lowMemory };
        return await BarkModel.FromPretrainedAsync(ModelId(result), options, loggerFactory: null, view.Downloads, cancellationToken);
    }

    /// <summary>The local folder of the model (downloading model and processor files when needed).</summary>
    public async Task<string> LocalFolderAsync(ParseResult result, CliContext context, ProgressView view, CancellationToken cancellationToken)
    {
        string model = ModelId(result);
        if (Directory.Exists(model)) return model;
        using var hub = new HubClient(Hub(result, context));
        if (!HubClient.IsRepoId(model))
            throw new CliException(ExitCodes.ModelUnavailable, $"'{model}' is neither an existing model folder nor a hub repository id (like '{DefaultModel}').");
        return await hub.DownloadModelAsync(model, includeVoicePresets: false, view.Downloads, cancellationToken);
    }

    /// <summary>The size of a file, following a snapshot's symbolic link to its blob.</summary>
    public static long FileSize(string path) => (File.ResolveLinkTarget(path, returnFinalTarget: true) as FileInfo ?? new FileInfo(path)).Length;
}
