using System.CommandLine;
using BarkSharp.Generation;
using BarkSharp.IO;

namespace BarkSharp.Cli.Commands;

/// <summary><c>bark decode</c>: render a voice prompt's fine codes with the codec, to hear a voice before using it.</summary>
internal static class DecodeCommand
{
    public static Command Create(CliContext context)
    {
        var voice = new Argument<string>("VOICE") { Description = "A voice preset name (see 'bark voices') or a suno-format .npz voice prompt." };
        var output = new Option<string>("--output", "-o") { Description = "The WAV file to write.", DefaultValueFactory = _ => "voice.wav", HelpName = "OUT" };
        var format = SayCommand.FormatOption();
        var model = new ModelSelection();
        var command = new Command("decode", "Render the audio of a voice prompt (its fine_prompt codes) with the codec.\nExample: bark decode v2/en_speaker_6 -o speaker6.wav")
        {
            voice, output, format,
        };
        model.AddTo(command);

        command.SetAction(async (result, cancellationToken) =>
        {
            string name = result.GetValue(voice)!;
            string outPath = result.GetValue(output)!;
            OutputFiles.CheckWritable([outPath]);
            VoicePreset preset = File.Exists(name) ? VoicePreset.FromNpz(name) : model.LoadProcessor(result, context).LoadVoicePreset(name);

            ProgressView view = ProgressView.Create(context);
            float[] audio;
            int sampleRate;
            using (BarkModel bark = await view.RunAsync(() => model.LoadModelAsync(result, context, view, threads: null, cancellationToken)))
            {
                int[][] codes = [.. preset.FinePrompt.Select(row => row.Select(c => (int)c).ToArray())];
                audio = bark.DecodeCodec(new AudioCodes([codes], [codes[0].Length]), cancellationToken)[0];
                sampleRate = bark.SampleRate;
            }
            cancellationToken.ThrowIfCancellationRequested();
            WavFormat wavFormat = result.GetValue(format);
            OutputFiles.Write(outPath, path => WavWriter.Write(path, audio, sampleRate, wavFormat));
            await context.Out.WriteLineAsync($"wrote {outPath} ({audio.Length / (double)sampleRate:F2} s, {sampleRate} Hz, {SayCommand.FormatName(wavFormat)}) " +
                                             $"from {preset.FinePrompt[0].Length} frames of '{name}'");
            return ExitCodes.Success;
        });
        return command;
    }
}
