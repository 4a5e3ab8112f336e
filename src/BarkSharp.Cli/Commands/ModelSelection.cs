using System.CommandLine;
using BarkSharp.Hub;

namespace BarkSharp.Cli.Commands;

/// <summary>
/// The <c>--model</c> and <c>--revision</c> options every model-using command shares (and, where it reads naturally, a
/// positional MODEL argument meaning the same), and loading what they name.
/// </summary>
internal sealed class ModelSelection
{
    /// <summary>The model used when neither <c>--model</c> nor a MODEL argument is given.</summary>
    public const string DefaultModel = "suno/bark-small";

    public Option<string?> Model { get; } = new("--model", "-m")
    {
        Description = $"Hub repository id (downloaded into the Hugging Face cache on first use) or local model folder. Default: {DefaultModel}.",
        HelpName = "REPO|FOLDER",
    };

    public Option<bool> NoJitKernels { get; } = new("--no-jit-kernels")
    {
        Description = "Run the managed kernels only, not the machine code generated at load time for int8/bf16 weights (as BARKSHARP_JIT=0).",
    };

    public Option<string?> Revision { get; } = new("--revision")
    {
        Description = "Branch, tag or commit of the hub repository (default: main).",
        HelpName = "REV",
    };

    /// <summary>The positional MODEL argument, for commands whose only argument is the model (<c>bark info FOLDER</c>).</summary>
    public Argument<string?>? Positional { get; private set; }

    /// <summary>Adds <c>--model</c> and <c>--revision</c>, and with <paramref name="positional"/> an optional MODEL argument that means the same as <c>--model</c>.</summary>
    public void AddTo(Command command, bool positional = false, string positionalName = "MODEL")
    {
        if (positional)
        {
            Positional = new Argument<string?>(positionalName)
            {
                Description = $"Hub repository id or local model folder, like --model (default {DefaultModel}).",
                Arity = ArgumentArity.ZeroOrOne,
            };
            command.Arguments.Add(Positional);
        }
        command.Options.Add(Model);
        command.Options.Add(Revision);
    }

    /// <summary>The model named by the MODEL argument or <c>--model</c> (they must agree when both are given), or <see cref="DefaultModel"/>.</summary>
    public string ModelId(ParseResult result)
    {
        string? option = result.GetValue(Model);
        string? argument = Positional is null ? null : result.GetValue(Positional);
        if (option is not null && argument is not null && option != argument)
            throw new CliException(ExitCodes.Usage, $"the model is named twice, as '{argument}' and with --model '{option}'; give it once.");
        string model = argument ?? option ?? DefaultModel;
        if (model.Length == 0) throw new CliException(ExitCodes.Usage, "--model is empty; give a hub repository id such as suno/bark-small or a model folder.");
        return model;
    }

    /// <summary>
    /// The model, checked: an existing folder, or a string shaped like a hub repository id. Anything else is a bad
    /// value (exit 2), the same in every command.
    /// </summary>
    public string CheckedModelId(ParseResult result)
    {
        string model = ModelId(result);
        if (Directory.Exists(model) || HubClient.IsRepoId(model)) return model;
        if (File.Exists(model))
            throw new CliException(ExitCodes.Usage, $"'{model}' is a file; --model takes a model folder (holding config.json and the weights) or a hub repository id like '{DefaultModel}'.");
        throw new CliException(ExitCodes.Usage, $"'{model}' is neither an existing model folder nor a hub repository id (like '{DefaultModel}': organization/name).");
    }

    /// <summary>The hub settings (environment and <c>--revision</c>), checked even for a local folder: the same mistake fails the same way everywhere.</summary>
    public HubOptions Hub(ParseResult result, CliContext context)
    {
        HubOptions options = context.Hub(result.GetValue(Revision));
        options.Validate();
        return options;
    }

    /// <summary>Loads the processor (tokenizer and voice index; small files, downloaded when missing).</summary>
    public BarkProcessor LoadProcessor(ParseResult result, CliContext context)
    {
        string model = CheckedModelId(result);
        HubOptions hub = Hub(result, context);
        try
        {
            return BarkProcessor.FromPretrained(model, hub: hub);
        }
        catch (BarkHubException e) when (FirstRunAdvice(e, model, hub) is { } advice)
        {
            throw advice;
        }
    }

    /// <summary>Loads the model, showing download progress.</summary>
    public async Task<BarkModel> LoadModelAsync(ParseResult result, CliContext context, ProgressView view, int? threads, CancellationToken cancellationToken,
        Tensors.WeightType weights = Tensors.WeightType.Auto, KvCacheType kvCache = KvCacheType.Auto, bool lowMemory = false)
    {
        string model = CheckedModelId(result);
        var options = new BarkModelOptions
        {
            Hub = Hub(result, context),
            MaxThreads = threads,
            WeightType = weights,
            KvCacheType = kvCache,
            LowMemory = lowMemory,
            UseJitKernels = !result.GetValue(NoJitKernels),
        };
        try
        {
            return await BarkModel.FromPretrainedAsync(model, options, loggerFactory: null, view.Downloads, cancellationToken);
        }
        catch (BarkHubException e) when (FirstRunAdvice(e, model, options.Hub) is { } advice)
        {
            throw advice;
        }
    }

    /// <summary>The local folder of the model (downloading model and processor files when needed).</summary>
    public async Task<string> LocalFolderAsync(ParseResult result, CliContext context, ProgressView view, CancellationToken cancellationToken)
    {
        string model = CheckedModelId(result);
        HubOptions options = Hub(result, context);
        if (Directory.Exists(model)) return model;
        using var hub = new HubClient(options);
        try
        {
            return await hub.DownloadModelAsync(model, includeVoicePresets: false, view.Downloads, cancellationToken);
        }
        catch (BarkHubException e) when (FirstRunAdvice(e, model, options) is { } advice)
        {
            throw advice;
        }
    }

    /// <summary>
    /// When the hub cannot be reached (or offline mode is on) and the cache holds nothing of <paramref name="model"/>,
    /// the three ways forward; null otherwise.
    /// </summary>
    public static CliException? FirstRunAdvice(BarkHubException e, string model, HubOptions options)
    {
        if (e.Kind is not (HubErrorKind.Network or HubErrorKind.NotCached) || !HubClient.IsRepoId(model)) return null;
        using var hub = new HubClient(options);
        if (hub.CachedSnapshot(model) is not null) return null;
        string reason = e.Kind == HubErrorKind.NotCached
            ? $"offline mode (HF_HUB_OFFLINE) is on and {model} is not in the cache {hub.CacheDirectory}."
            : $"{e.Message.Split(". Check the network", 2)[0].TrimEnd('.')}, and {model} is not in the cache {hub.CacheDirectory}.";
        return new CliException(ExitCodes.ModelUnavailable,
            $"{reason}\nThree ways forward:\n" +
            $"  1. connect to the network{(e.Kind == HubErrorKind.NotCached ? ", unset HF_HUB_OFFLINE" : "")} and run the command again;\n" +
            $"  2. on a machine with network, run `bark download {model}` and copy its cache folder (HF_HUB_CACHE, else ~/.cache/huggingface/hub) to {hub.CacheDirectory} here;\n" +
            "  3. use a model folder on this machine: --model FOLDER (a copy of a hub repository with config.json and the weights; " +
            "to see the tool work without network, the random-weight test model tests/fixtures/tiny-bark of the BarkSharp sources, which speaks noise).", e);
    }

    /// <summary>The size of a file, following a snapshot's symbolic link to its blob.</summary>
    public static long FileSize(string path) => (File.ResolveLinkTarget(path, returnFinalTarget: true) as FileInfo ?? new FileInfo(path)).Length;
}
