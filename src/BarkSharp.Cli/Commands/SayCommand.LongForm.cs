using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using BarkSharp.Audio;
using BarkSharp.Generation;
using BarkSharp.IO;
using BarkSharp.Speech;

namespace BarkSharp.Cli.Commands;

/// <summary><c>bark say</c> for one text of any length: segments in one voice, audio written as each segment is ready.</summary>
internal static partial class SayCommand
{
    /// <summary>What one <c>bark say</c> run (not <c>--batch</c>) asks for.</summary>
    private sealed record LongFormRequest(string Text, string Output, AudioFormat Format, bool Stream, string? Json, string? SaveVoice, string? Voice,
        SpeechOptions Options);

    /// <summary>An explicit <c>--format</c> (already checked by its parser), else the output's extension, else 16-bit WAV.</summary>
    private static AudioFormat ChooseFormat(string? name, string output)
    {
        if (AudioEncoder.TryParse(name, out AudioFormat parsed)) return parsed;
        return Path.GetExtension(output).ToLowerInvariant() switch
        {
            ".opus" or ".ogg" => AudioFormat.Opus,
            ".flac" => AudioFormat.Flac,
            ".raw" or ".pcm" => AudioFormat.Pcm,
            _ => AudioFormat.Wav,
        };
    }

    private static async Task<int> LongFormAsync(CliContext context, ParseResult result, ModelSelection model, LongFormRequest request, int? threads,
        Tensors.WeightType weights, KvCacheType kvCache, bool lowMemory, CancellationToken cancellationToken)
    {
        bool audioToStdout = request.Output == "-";
        bool jsonToStdout = request.Json == "-";
        if (audioToStdout && jsonToStdout)
            throw new CliException(ExitCodes.Usage, "-o - writes the audio to standard output, so the JSON report needs a file: --json report.json.");
        OutputFiles.CheckWritable(new[] { audioToStdout ? null : request.Output, request.SaveVoice, jsonToStdout ? null : request.Json }.OfType<string>());

        BarkProcessor processor = model.LoadProcessor(result, context);
        VoicePreset? voice = request.Voice is null ? null : processor.LoadVoicePreset(request.Voice);
        SpeechOptions options = request.Options with { Voice = voice };
        // The human-readable report goes to stdout unless the audio or the JSON report does.
        TextWriter report = audioToStdout || jsonToStdout ? context.Error : context.Out;

        ProgressView view = ProgressView.Create(context);
        var chunks = new List<AudioChunk>();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        int semanticLimit = int.MaxValue;
        await view.RunAsync(async () =>
        {
            using BarkModel bark = await model.LoadModelAsync(result, context, view, threads, cancellationToken, weights, kvCache, lowMemory);
            semanticLimit = bark.MaxSemanticTokens;
            using var speech = new SpeechGenerator(bark, processor);
            IReadOnlyList<TextSegment> segments = speech.Segment(request.Text, options);
            if (segments.Count == 0) throw new CliException(ExitCodes.Usage, "the text is empty; Bark needs something to say.");
            if (segments.Count > 1)
                view.Note($"{segments.Count} segments of at most {options.Segmentation.MaxTokens} tokens, {(options.VoiceMode == VoiceMode.Chained ? "chained" : "one voice")}");

            using OutputFile? file = audioToStdout ? null : OutputFile.Create(request.Output);
            Stream target = file?.Stream ?? context.OpenStandardOutput();
            using AudioEncoder encoder = AudioEncoder.Create(request.Format, target, bark.SampleRate, streaming: request.Stream);
            clock.Restart();
            var progress = new SegmentProgress(view.Generation);
            await foreach (AudioChunk chunk in speech.StreamAsync(request.Text, options, progress, cancellationToken))
            {
                encoder.Write(chunk.Samples);
                if (request.Stream || audioToStdout) encoder.Flush();
                chunks.Add(chunk);
                view.Segment(chunk);
            }
            encoder.Complete();
            file?.Commit();
            return 0;
        });

        double audioSeconds = chunks.Sum(c => c.Samples.Length) / (double)chunks[0].SampleRate;
        TimeSpan total = clock.Elapsed;
        if (options.Generation.Semantic.MaxNewTokens is int asked && asked > semanticLimit)
            await context.Error.WriteLineAsync($"warning: --max-semantic-tokens {asked} was capped to {semanticLimit}: this model's semantic stage holds " +
                                               $"{semanticLimit} generated tokens after the text (its block size less the {BarkProcessor.SemanticTextLength} text positions).");
        if (request.SaveVoice is { } npz)
        {
            VoicePreset? generated = chunks[0].Output.ToVoicePreset()
                ?? throw new CliException(ExitCodes.OutputError, $"cannot write '{npz}': the first segment produced no audio, so there is no voice to save.");
            OutputFiles.Write(npz, generated.SaveNpz);
            await report.WriteLineAsync($"wrote {npz} (voice prompt: {generated.SemanticPrompt.Length} semantic tokens, {generated.FinePrompt[0].Length} frames)");
        }

        string where = audioToStdout ? "standard output" : request.Output;
        await report.WriteLineAsync($"wrote {where} ({audioSeconds:F2} s, {chunks[0].SampleRate} Hz, {FormatLabel(request.Format)}; {chunks.Count} segment{(chunks.Count == 1 ? "" : "s")})");
        await Statistics.WriteLongFormAsync(report, chunks, total, options.Generation);
        if (request.Json is { } json)
        {
            byte[] bytes = JsonReport(chunks, total, audioSeconds);
            if (jsonToStdout)
            {
                await context.Out.WriteLineAsync(System.Text.Encoding.UTF8.GetString(bytes));
            }
            else
            {
                OutputFiles.Write(json, path => OutputFile.Write(path, s => s.Write(bytes)));
                await report.WriteLineAsync($"wrote {json} (JSON report)");
            }
        }
        return ExitCodes.Success;
    }

    private static string FormatLabel(AudioFormat format) => format switch
    {
        AudioFormat.Wav => "pcm16 WAV",
        AudioFormat.WavFloat32 => "float32 WAV",
        AudioFormat.Pcm => "raw s16le",
        AudioFormat.Opus => "Ogg Opus",
        AudioFormat.Flac => "FLAC",
        _ => format.ToString(),
    };

    /// <summary>
    /// The <c>--json</c> report: per segment its index, text, character span, place in the audio (after the gap), semantic
    /// tokens and <c>seconds</c> (the wall time of the batch that generated it); time to first audio, total wall time,
    /// audio duration and sample rate.
    /// </summary>
    private static byte[] JsonReport(IReadOnlyList<AudioChunk> chunks, TimeSpan total, double audioSeconds)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteStartArray("segments");
            foreach (AudioChunk c in chunks)
            {
                json.WriteStartObject();
                json.WriteNumber("index", c.SegmentIndex);
                json.WriteString("text", c.Text);
                json.WriteNumber("start_char", c.StartChar);
                json.WriteNumber("end_char", c.EndChar);
                json.WriteNumber("start_s", Math.Round(c.StartSeconds, 4));
                json.WriteNumber("end_s", Math.Round(c.EndSeconds, 4));
                json.WriteNumber("semantic_tokens", c.SemanticTokens);
                json.WriteNumber("seconds", Math.Round(c.Timings.Total.TotalSeconds, 4));
                json.WriteNumber("ready_s", Math.Round(c.Elapsed.TotalSeconds, 4));
                json.WriteNumber("batch_size", c.BatchSize);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteNumber("ttfa_seconds", Math.Round(chunks[0].Elapsed.TotalSeconds, 4));
            json.WriteNumber("total_seconds", Math.Round(total.TotalSeconds, 4));
            json.WriteNumber("audio_seconds", Math.Round(audioSeconds, 4));
            json.WriteNumber("sample_rate", chunks[0].SampleRate);
            json.WriteEndObject();
        }
        return buffer.ToArray();
    }

    /// <summary>Stage progress of the running segments, shown like a single generation's.</summary>
    private sealed class SegmentProgress(IProgress<BarkProgress> stages) : IProgress<SpeechProgress>
    {
        public void Report(SpeechProgress value) => stages.Report(value.Stage);
    }
}
