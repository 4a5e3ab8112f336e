using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using BarkSharp.Audio;
using BarkSharp.Generation;
using BarkSharp.IO;
using BarkSharp.Speech;

namespace BarkSharp.Cli.Commands;

/// <summary><c>bark say</c>: text of any length → audio (a file or standard output, streamed per segment), with statistics afterwards.</summary>
internal static partial class SayCommand
{
    public static Command Create(CliContext context)
    {
        var text = new Argument<string[]>("TEXT")
        {
            Description = "The text to speak. Several arguments are joined with spaces (with --batch, each is one sample). " +
                          "Without TEXT and -f, the text is read from stdin.",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var file = new Option<string?>("--file", "-f") { Description = "Read the text from this file ('-' for stdin); with --batch, one sample per non-empty line.", HelpName = "FILE" };
        var output = new Option<string>("--output", "-o") { Description = "The audio file to write, or - for standard output (with --batch: OUT_0.wav, OUT_1.wav, …).", DefaultValueFactory = _ => "bark.wav", HelpName = "OUT" };
        var model = new ModelSelection();
        var voice = new Option<string?>("--voice", "-v") { Description = "Voice preset name (see 'bark voices', e.g. v2/en_speaker_6) or a .npz voice prompt.", HelpName = "VOICE" };
        var seed = NumberOption.Whole("--seed", "Random seed; the same seed gives the same audio. Default: a random one, printed.", ulong.MinValue, ulong.MaxValue);
        var greedy = new Option<bool>("--greedy") { Description = "Decode greedily (argmax) in every stage: deterministic, often monotonous." };
        var textTemp = NumberOption.Real("--text-temp", "Sampling temperature of the semantic (text) stage (checkpoint default 0.7; suno's text_temp).", 0, 10, "T");
        var waveformTemp = NumberOption.Real("--waveform-temp", "Sampling temperature of the coarse stage (checkpoint default 0.7; suno's waveform_temp).", 0, 10, "T");
        var fineTemp = NumberOption.Real("--fine-temp", "Sampling temperature of the fine stage (checkpoint default 0.5).", 0, 10, "T");
        var minEosP = NumberOption.Real("--min-eos-p", "End the semantic stage once the end token's probability exceeds this (e.g. 0.2); default: only when it wins.", 0, 1, "P");
        var maxSemantic = NumberOption.Whole("--max-semantic-tokens", "At most this many semantic tokens (Transformers' semantic_max_new_tokens; 768 ≈ 14 s of audio).", 1, int.MaxValue);
        var format = new Option<string?>("--format")
        {
            Description = "Audio format: wav (16-bit, default), float32 (32-bit float WAV), raw (headerless signed 16-bit little-endian mono, " +
                          "for aplay -f S16_LE -r 24000 -c 1), opus (Ogg Opus) or flac. Default: from the output's extension (.opus, .flac, .raw/.pcm), else wav.",
            HelpName = "wav|float32|raw|opus|flac",
            CustomParser = r => r.Tokens.Single().Value.ToLowerInvariant() is var name && name is "wav" or "pcm16" or "float32" or "raw" or "pcm" or "opus" or "flac"
                ? name
                : FailFormat(r, $"--format must be wav, float32, raw, opus or flac, not '{r.Tokens.Single().Value}'."),
        };
        var stream = new Option<bool>("--stream") { Description = "Write and flush the audio segment by segment as it is generated (always on with -o -); WAV sizes are then 0xFFFFFFFF." };
        var voiceMode = new Option<string>("--voice-mode")
        {
            Description = "How segments of a long text keep one voice: fixed (every segment from the voice; batched) or chained (each continues the previous segment).",
            DefaultValueFactory = _ => "fixed",
            HelpName = "fixed|chained",
        };
        voiceMode.AcceptOnlyFromAmong("fixed", "chained");
        var gap = NumberOption.Real("--gap", "Seconds of silence between segments (default 0.25).", 0, 10, "SECONDS");
        var segmentTokens = NumberOption.Whole("--segment-tokens", "Most tokens per segment (default 40, about 10 s of speech).", 1, BarkProcessor.SemanticTextLength);
        var segmentBatch = NumberOption.Whole("--segment-batch", "Segments generated together in one batch (default 1, one after another; the first always runs alone).", 1, 64);
        var json = new Option<string?>("--json")
        {
            Description = "Print a JSON report (segments with their text spans and times, time to first audio, totals) to stdout, or to FILE when given.",
            Arity = ArgumentArity.ZeroOrOne,
            HelpName = "FILE",
        };
        var threads = NumberOption.Whole("--threads", "Threads to use (default: all cores). Results do not depend on it.", 1, 4096);
        var saveVoice = new Option<string?>("--save-voice") { Description = "Also write the generated voice as a suno-format .npz prompt, usable with --voice.", HelpName = "NPZ" };
        var weights = new Option<string?>("--weights") { Description = "Store the transformer weights as f32, bf16, f16 or int8 (default: the checkpoint's type). Smaller types decode faster.", HelpName = "TYPE" };
        weights.AcceptOnlyFromAmong("f32", "bf16", "f16", "int8");
        var kvCache = new Option<string?>("--kv-cache") { Description = "Store the KV caches as f32 or bf16 (default auto: f32 with f32 weights, else bf16).", HelpName = "TYPE" };
        kvCache.AcceptOnlyFromAmong("auto", "f32", "bf16");
        var lowMemory = new Option<bool>("--low-memory") { Description = "Keep only the running stage's weights in memory (slower: each stage reads its weights again)." };
        var batch = new Option<bool>("--batch") { Description = "Generate every TEXT argument, or every line of -f FILE, as one sample of a single batch." };

        var command = new Command("say", "Speak text of any length into an audio file or standard output. Long text is cut into segments spoken in one voice.\n" +
                                         "Example: bark say \"Hello from Bark\" -o hello.wav --voice v2/en_speaker_6\n" +
                                         "         bark say -f story.txt -o - --format raw | aplay -f S16_LE -r 24000 -c 1")
        {
            text, file, output, voice, seed, greedy, textTemp, waveformTemp, fineTemp, minEosP, maxSemantic, format, stream, voiceMode, gap, segmentTokens, segmentBatch, json,
            threads, saveVoice, batch, weights, kvCache, lowMemory,
        };
        model.AddTo(command);
        command.Options.Add(model.NoJitKernels);

        command.SetAction(async (result, cancellationToken) =>
        {
            bool isBatch = result.GetValue(batch);
            IReadOnlyList<string> texts = ReadTexts(context, result.GetValue(text) ?? [], result.GetValue(file), isBatch);
            BarkGenerationOptions options = GenerationOptions(result, seed, greedy, textTemp, waveformTemp, fineTemp, minEosP, maxSemantic);
            int? threadCount = result.GetValue(threads);
            if (threadCount is < 1) throw new CliException(ExitCodes.Usage, "--threads must be at least 1.");
            string outPath = result.GetValue(output)!;
            var weightType = result.GetValue(weights) is { } w ? Diagnostics.BarkBenchmark.ParseWeightType(w) : Tensors.WeightType.Auto;
            var kvCacheType = result.GetValue(kvCache) is { } k ? Diagnostics.BarkBenchmark.ParseKvCacheType(k) : KvCacheType.Auto;
            AudioFormat audioFormat = ChooseFormat(result.GetValue(format), outPath);
            if (!isBatch)
            {
                var request = new LongFormRequest(texts[0], outPath, audioFormat, outPath == "-" || result.GetValue(stream),
                    result.GetResult(json) is null ? null : result.GetValue(json) ?? "-", result.GetValue(saveVoice), result.GetValue(voice),
                    new SpeechOptions
                    {
                        VoiceMode = result.GetValue(voiceMode) == "chained" ? VoiceMode.Chained : VoiceMode.Fixed,
                        GapSeconds = result.GetValue(gap) ?? 0.25,
                        MaxBatchSize = result.GetValue(segmentBatch) ?? new SpeechOptions().MaxBatchSize,
                        Segmentation = new TextSegmenterOptions { MaxTokens = result.GetValue(segmentTokens) ?? new TextSegmenterOptions().MaxTokens },
                        Generation = options,
                    });
                return await LongFormAsync(context, result, model, request, threadCount, weightType, kvCacheType, result.GetValue(lowMemory), cancellationToken);
            }
            if (outPath == "-" || audioFormat is not (AudioFormat.Wav or AudioFormat.WavFloat32))
                throw new CliException(ExitCodes.Usage, "--batch writes one WAV file per sample; it cannot write to standard output or in raw or opus format.");
            string? voicePath = result.GetValue(saveVoice);
            string[] wavPaths = OutputPaths(outPath, texts.Count, isBatch);
            string[]? npzPaths = voicePath is null ? null : OutputPaths(voicePath, texts.Count, isBatch);
            OutputFiles.CheckWritable([.. wavPaths, .. npzPaths ?? []]);

            BarkProcessor processor = model.LoadProcessor(result, context);
            string? voiceName = result.GetValue(voice);
            VoicePreset? preset = voiceName is null ? null : processor.LoadVoicePreset(voiceName);
            BarkInputs inputs = preset is null ? processor.Process(texts) : processor.Process(texts, preset);
            for (int i = 0; i < texts.Count; i++)
                if (inputs.Truncated[i])
                    await context.Error.WriteLineAsync($"warning: text {i} has {inputs.TokenCounts[i]} tokens; only the first {BarkProcessor.SemanticTextLength} are spoken. " +
                                                       "Split it into shorter pieces (see 'bark tokenize').");

            ProgressView view = ProgressView.Create(context);
            int semanticLimit = int.MaxValue;
            BarkGeneration generation = await view.RunAsync(async () =>
            {
                using BarkModel bark = await model.LoadModelAsync(result, context, view, threadCount, cancellationToken, weightType, kvCacheType, result.GetValue(lowMemory));
                semanticLimit = bark.MaxSemanticTokens;
                return await bark.GenerateAsync(inputs, options, view.Generation, cancellationToken);
            });
            if (options.Semantic.MaxNewTokens is int asked && asked > semanticLimit)
                await context.Error.WriteLineAsync($"warning: --max-semantic-tokens {asked} was capped to {semanticLimit}: this model's semantic stage holds " +
                                                   $"{semanticLimit} generated tokens after the text (its block size less the {BarkProcessor.SemanticTextLength} text positions).");

            cancellationToken.ThrowIfCancellationRequested();
            WavFormat wavFormat = audioFormat == AudioFormat.WavFloat32 ? WavFormat.Float32 : WavFormat.Pcm16;
            for (int i = 0; i < texts.Count; i++)
            {
                OutputFiles.Write(wavPaths[i], path => WavWriter.Write(path, generation.Audio[i], generation.SampleRate, wavFormat));
                await context.Out.WriteLineAsync($"wrote {wavPaths[i]} ({generation.Audio[i].Length / (double)generation.SampleRate:F2} s, {generation.SampleRate} Hz, {FormatName(wavFormat)})");
                if (npzPaths is not null)
                {
                    VoicePreset generated = generation.ToVoicePreset(i);
                    OutputFiles.Write(npzPaths[i], generated.SaveNpz);
                    await context.Out.WriteLineAsync($"wrote {npzPaths[i]} (voice prompt: {generated.SemanticPrompt.Length} semantic tokens, {generated.FinePrompt[0].Length} frames)");
                }
            }
            await Statistics.WriteAsync(context.Out, generation.Timings, options, texts.Count);
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>The WAV-only <c>--format</c> option of <c>bark decode</c> (pcm16 or float32).</summary>
    public static Option<WavFormat> FormatOption() => new("--format")
    {
        Description = "WAV sample format: pcm16 (16-bit integers) or float32.",
        DefaultValueFactory = _ => WavFormat.Pcm16,
        CustomParser = r => r.Tokens.Single().Value.ToLowerInvariant() switch
        {
            "pcm16" => WavFormat.Pcm16,
            "float32" => WavFormat.Float32,
            string other => Fail(r, $"--format must be pcm16 or float32, not '{other}'."),
        },
        HelpName = "pcm16|float32",
    };

    public static string FormatName(WavFormat format) => format == WavFormat.Float32 ? "float32" : "pcm16";

    private static string? FailFormat(System.CommandLine.Parsing.ArgumentResult result, string message)
    {
        result.AddError(message);
        return null;
    }

    private static WavFormat Fail(System.CommandLine.Parsing.ArgumentResult result, string message)
    {
        result.AddError(message);
        return default;
    }

    private static IReadOnlyList<string> ReadTexts(CliContext context, string[] arguments, string? file, bool batch)
    {
        if (arguments.Length > 0 && file is not null)
            throw new CliException(ExitCodes.Usage, "give the text either as arguments or with -f FILE, not both.");
        string? whole = null;
        if (file is not null)
        {
            if (file == "-")
            {
                whole = context.Input?.ReadToEnd() ?? throw new CliException(ExitCodes.Usage, "-f - reads stdin, but stdin is a terminal; pipe the text in.");
            }
            else
            {
                whole = ReadTextFile(file);
            }
        }
        else if (arguments.Length == 0)
        {
            whole = context.Input?.ReadToEnd() ?? throw new CliException(ExitCodes.Usage,
                "no text: give it as an argument (bark say \"Hello\" -o hello.wav), with -f FILE, or on stdin.");
        }

        string[] texts = whole is null
            ? batch ? arguments : [string.Join(' ', arguments)]
            : batch ? whole.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToArray() : [whole.Trim()];
        if (texts.Length == 0 || texts.Any(string.IsNullOrWhiteSpace))
        {
            int empty = Array.FindIndex(texts, string.IsNullOrWhiteSpace);
            throw new CliException(ExitCodes.Usage, texts.Length == 0 || !batch
                ? "the text is empty; Bark needs something to say."
                : $"text {empty} of the batch is empty; Bark needs something to say in every sample.");
        }
        return texts;
    }

    /// <summary>The text of <c>-f FILE</c>, or a message naming the file and what is wrong with it.</summary>
    private static string ReadTextFile(string file)
    {
        if (Directory.Exists(file))
            throw new CliException(ExitCodes.Usage, $"-f '{file}' is a folder; -f takes a text file ('-' for stdin).");
        if (!File.Exists(file))
            throw new CliException(ExitCodes.Usage, $"-f '{file}': there is no such file.");
        try
        {
            return File.ReadAllText(file);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new CliException(ExitCodes.Usage, $"-f '{file}': permission denied; the text file cannot be read.", e);
        }
        catch (IOException e)
        {
            throw new CliException(ExitCodes.Usage, $"-f '{file}': the text file cannot be read ({e.Message.Split(" : '")[0].TrimEnd('.')}).", e);
        }
    }

    private static BarkGenerationOptions GenerationOptions(ParseResult result, Option<ulong?> seed, Option<bool> greedy, Option<double?> textTemp,
        Option<double?> waveformTemp, Option<double?> fineTemp, Option<double?> minEosP, Option<int?> maxSemantic)
    {
        double? text = result.GetValue(textTemp), waveform = result.GetValue(waveformTemp), fine = result.GetValue(fineTemp), eos = result.GetValue(minEosP);
        int? max = result.GetValue(maxSemantic);
        bool isGreedy = result.GetValue(greedy);
        if (isGreedy && (text ?? waveform ?? fine) is not null)
            throw new CliException(ExitCodes.Usage, "--greedy decodes without sampling; it cannot be combined with --text-temp, --waveform-temp or --fine-temp.");
        foreach ((string name, double? value) in new[] { ("--text-temp", text), ("--waveform-temp", waveform), ("--fine-temp", fine) })
            if (value is <= 0 or > 10 || (value is { } v && !double.IsFinite(v)))
                throw new CliException(ExitCodes.Usage, $"{name} must be a temperature above 0 (typically 0.5–1.0), not {value?.ToString(CultureInfo.InvariantCulture)}.");
        if (eos is < 0 or > 1) throw new CliException(ExitCodes.Usage, "--min-eos-p is a probability between 0 and 1.");
        if (max is < 1) throw new CliException(ExitCodes.Usage, "--max-semantic-tokens must be at least 1.");

        BarkGenerationOptions options = isGreedy ? BarkGenerationOptions.Greedy : new BarkGenerationOptions();
        return options with
        {
            Seed = result.GetValue(seed) ?? (ulong)RandomNumberGenerator.GetInt32(int.MaxValue),
            MinEosP = eos,
            Semantic = options.Semantic with { Temperature = text, DoSample = text is null ? options.Semantic.DoSample : true, MaxNewTokens = max },
            Coarse = options.Coarse with { Temperature = waveform, DoSample = waveform is null ? options.Coarse.DoSample : true },
            Fine = options.Fine with { Temperature = fine },
        };
    }

    /// <summary>OUT for one sample; OUT_0.ext, OUT_1.ext, … for a batch.</summary>
    private static string[] OutputPaths(string path, int count, bool batch)
    {
        if (!batch) return [path];
        string extension = Path.GetExtension(path);
        string stem = path[..^extension.Length];
        return [.. Enumerable.Range(0, count).Select(i => $"{stem}_{i}{extension}")];
    }
}
