using System.CommandLine;
using BarkSharp.Cloning;
using BarkSharp.IO;

namespace BarkSharp.Cli.Commands;

/// <summary><c>bark clone</c>: a voice prompt (.npz) from a WAV recording, for <c>bark say --voice</c>.</summary>
internal static class CloneCommand
{
    /// <summary>Below this the prompt holds too little of the voice.</summary>
    internal static readonly TimeSpan ShortWarning = TimeSpan.FromSeconds(2);

    /// <summary>Above this the prompt crowds out the text (the recipe advises 5–12 s).</summary>
    internal static readonly TimeSpan LongWarning = TimeSpan.FromSeconds(15);

    public static Command Create(CliContext context)
    {
        var input = new Argument<string>("INPUT") { Description = "The recording: a WAV file (PCM 8/16/24/32-bit or 32-bit float, any rate, mono or stereo)." };
        var output = new Option<string>("--output", "-o") { Description = "The .npz voice prompt to write.", DefaultValueFactory = _ => "voice.npz", HelpName = "NPZ" };
        var model = new ModelSelection();
        var hubert = new Option<string>("--hubert")
        {
            Description = $"HuBERT: hub repository id or local folder (config.json + weights). Default: {VoiceCloningOptions.DefaultHubert}.",
            DefaultValueFactory = _ => VoiceCloningOptions.DefaultHubert,
            HelpName = "REPO|FOLDER",
        };
        var quantizer = new Option<string>("--quantizer")
        {
            Description = $"The HuBERT quantizer: hub repository id (file {VoiceCloningOptions.DefaultQuantizerFileName}) or a local .pth file. Default: {VoiceCloningOptions.DefaultQuantizer}.",
            DefaultValueFactory = _ => VoiceCloningOptions.DefaultQuantizer,
            HelpName = "REPO|FILE",
        };
        var quantizerFile = new Option<string>("--quantizer-file")
        {
            Description = $"The quantizer's file name inside the repository or folder. Default: {VoiceCloningOptions.DefaultQuantizerFileName}.",
            DefaultValueFactory = _ => VoiceCloningOptions.DefaultQuantizerFileName,
            HelpName = "NAME",
        };
        var layer = new Option<int>("--hubert-layer")
        {
            Description = $"The HuBERT hidden state the quantizer was trained on. Default: {VoiceCloningOptions.DefaultHubertLayer}.",
            DefaultValueFactory = _ => VoiceCloningOptions.DefaultHubertLayer,
            HelpName = "N",
        };
        var command = new Command("clone", "Clone a voice from a WAV recording into a voice prompt for 'bark say --voice'. Use 5–12 s of clean speech by one speaker,\n" +
                                            "ending at the end of a sentence, and only voices you have the right to use.\n" +
                                            "Example: bark clone me.wav -o me.npz && bark say \"Hello\" --voice me.npz -o hello.wav")
        {
            input, output, hubert, quantizer, quantizerFile, layer,
        };
        command.Options.Add(model.Model);

        command.SetAction(async (result, cancellationToken) =>
        {
            string inPath = result.GetValue(input)!;
            string outPath = result.GetValue(output)!;
            int hubertLayer = result.GetValue(layer);
            if (hubertLayer < 0) throw new CliException(ExitCodes.Usage, $"--hubert-layer must be 0 or more, found {hubertLayer}.");
            OutputFiles.CheckWritable([outPath]);
            WavAudio audio;
            try
            {
                audio = WavReader.Read(inPath, new VoiceCloningOptions().MaxDuration);
            }
            catch (BarkFormatException e)
            {
                throw new CliException(ExitCodes.Usage, e.Message, e);                   // the recording is bad input, not a model problem
            }
            if (audio.Duration < ShortWarning || audio.Duration > LongWarning)
                await context.Error.WriteLineAsync($"warning: '{inPath}' lasts {audio.Duration.TotalSeconds:F1} s; cloning works best with 5–12 s of clean speech " +
                                                   $"({(audio.Duration < ShortWarning ? "a shorter one carries little of the voice" : "a longer one leaves little room for the text")}).");

            var options = new VoiceCloningOptions
            {
                BarkModel = model.CheckedModelId(result),
                Hubert = result.GetValue(hubert)!,
                HubertLayer = hubertLayer,
                Quantizer = result.GetValue(quantizer)!,
                QuantizerFileName = result.GetValue(quantizerFile)!,
                Hub = context.Hub(),
            };
            options.Hub!.Validate();
            ProgressView view = ProgressView.Create(context);
            VoiceCloner cloner = await view.RunAsync(() => VoiceCloner.FromPretrainedAsync(options, cancellationToken: cancellationToken));
            var clock = System.Diagnostics.Stopwatch.StartNew();
            VoicePreset preset = await Task.Run(() => cloner.Clone(audio, cancellationToken), cancellationToken);
            double seconds = clock.Elapsed.TotalSeconds;
            OutputFiles.Write(outPath, preset.SaveNpz);
            await context.Out.WriteLineAsync($"wrote {outPath}: semantic_prompt {preset.SemanticPrompt.Length} tokens, coarse_prompt 2×{preset.CoarsePrompt[0].Length}, " +
                                             $"fine_prompt 8×{preset.FinePrompt[0].Length} codes from {audio.Duration.TotalSeconds:F2} s of audio " +
                                             $"({audio.SampleRate} Hz, {(audio.Channels.Length == 1 ? "mono" : "stereo")}) in {seconds:F2} s");
            return ExitCodes.Success;
        });
        return command;
    }
}
