using BarkSharp.Generation;
using BarkSharp.IO;
using BarkSharp.Tests.Infrastructure;
using Xunit.Abstractions;

namespace BarkSharp.Tests.Generation;

/// <summary>BarkModel.Generate and the pipeline from text to waveform, against Transformers' greedy runs.</summary>
public class EndToEndTests(ITestOutputHelper output) : IClassFixture<TinyModelFixture>
{
    private readonly TinyModelFixture _tiny = new();

    public static TheoryData<string> GenerateCases() => new(Fixtures.CaseIds("generate"));

    [Theory]
    [MemberData(nameof(GenerateCases))]
    public void Text_to_waveform_matches_transformers(string caseId)
    {
        ReferenceCase c = Fixtures.Case(caseId);
        string[] texts = c.Json.GetProperty("text").ValueKind == System.Text.Json.JsonValueKind.Array
            ? c.Json.GetProperty("text").EnumerateArray().Select(e => e.GetString()!).ToArray()
            : [c.Json.GetProperty("text").GetString()!];
        string? voice = c.Json.GetProperty("voice_preset").GetString();
        BarkInputs inputs = _tiny.Processor.Process(texts, voice);
        Assert.Equal(TinyBark.Ints(c.Output("input_ids")), inputs.InputIds.SelectMany(r => r).Select(v => (int)v).ToArray());

        var clock = System.Diagnostics.Stopwatch.StartNew();
        BarkGeneration g = _tiny.Model.Generate(inputs, StageParityTests.Options(c.Json.GetProperty("generate_kwargs")));
        output.WriteLine($"{caseId}: {clock.ElapsedMilliseconds} ms for {g.Audio.Max(a => a.Length) / 24000.0:F2} s of audio");

        Assert.Equal(StageParityTests.Rows(c.Output("semantic_tokens")), g.SemanticTokens);
        // Transformers' coarse tokens as codes: (token − 10000) mod 1024 per interleaved codebook.
        Assert.Equal(new CoarseTokens(StageParityTests.Rows(c.Output("coarse_tokens")), []).ToCodes(10_000, 1024, 2).Codes, g.CoarseCodes.Codes);
        Assert.Equal(TinyBark.Ints(c.Output("fine_tokens")), g.FineCodes.Codes.SelectMany(s => s.SelectMany(cb => cb)).ToArray());

        NpyArray wave = c.Output("waveform");
        int width = (int)wave.Shape[1];
        float[] expected = wave.ToFloat32();
        int[] lengths = c.OutputNames.Contains("output_lengths") ? TinyBark.Ints(c.Output("output_lengths")) : [width];
        Assert.Equal(lengths, g.OutputLengths);
        (double atol, double rtol) = c.Tolerance("waveform");
        for (int b = 0; b < g.Audio.Length; b++)
        {
            double err = Compare.AssertClose(expected.AsSpan(b * width, lengths[b]), g.Audio[b], atol, rtol, $"{caseId} waveform {b}");
            Assert.All(expected.AsSpan(b * width + lengths[b], width - lengths[b]).ToArray(), v => Assert.Equal(0f, v));
            output.WriteLine($"{caseId} waveform[{b}]: {g.Audio[b].Length} samples, max abs err {err:e2} (atol {atol:e1})");
        }
    }

    [Fact]
    public void Pipeline_matches_transformers_text_to_audio()
    {
        ReferenceCase c = Fixtures.Case("pipeline/text_to_audio");
        using var pipeline = new TextToAudioPipeline(_tiny.Model, _tiny.Processor);
        var options = BarkGenerationOptions.Greedy with { Semantic = new StageOptions { MaxNewTokens = 16 } };
        TextToAudioOutput result = pipeline.Run(c.Json.GetProperty("text").GetString()!, options);
        Assert.Equal((int)c.Output("sampling_rate").ToInt64()[0], result.SampleRate);
        (double atol, double rtol) = c.Tolerance("audio");
        double err = Compare.AssertClose(c.Output("audio").ToFloat32(), result.Audio, atol, rtol, "pipeline audio");
        output.WriteLine($"pipeline audio: max abs err {err:e2}");
    }

    [Fact]
    public void A_generation_saved_as_npz_is_a_voice_for_the_next_one()
    {
        string dir = Fixtures.TempDir();
        try
        {
            var options = new BarkGenerationOptions { Seed = 3, Semantic = new StageOptions { MaxNewTokens = 40 } };
            BarkGeneration first = _tiny.Model.Generate(_tiny.Processor.Process("Hello, my dog is cute", "v2/en_speaker_6"), options);
            VoicePreset voice = first.ToVoicePreset(0);
            Assert.Equal(first.SemanticLengths[0], voice.SemanticPrompt.Length);
            Assert.All(voice.SemanticPrompt, t => Assert.InRange(t, 0, 9_999));
            Assert.Equal(2, voice.CoarsePrompt.Length);
            Assert.Equal(8, voice.FinePrompt.Length);
            Assert.Equal(first.Frames[0], voice.FinePrompt[0].Length);
            Assert.Equal(voice.FinePrompt[1], voice.CoarsePrompt[1]);

            string path = Path.Combine(dir, "my_voice.npz");
            voice.SaveNpz(path);
            BarkInputs next = _tiny.Processor.Process("Guten Tag!", path);
            Assert.NotNull(next.HistoryPrompt);
            Assert.Equal(voice.SemanticPrompt, next.HistoryPrompt!.SemanticPrompt);
            Assert.Equal(voice.FinePrompt, next.HistoryPrompt.FinePrompt);
            BarkGeneration second = _tiny.Model.Generate(next, options);
            Assert.True(second.Audio[0].Length > 0);

            // The voice changes the result: the same text without it differs.
            BarkGeneration plain = _tiny.Model.Generate(_tiny.Processor.Process("Guten Tag!"), options);
            Assert.NotEqual(plain.SemanticTokens[0], second.SemanticTokens[0]);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void Sampling_is_reproducible_per_seed()
    {
        BarkInputs inputs = _tiny.Processor.Process("Hello, my dog is cute");
        // The fixture's weights are scaled for wide greedy margins; a hot temperature makes draws actually vary.
        var options = new BarkGenerationOptions { Seed = 11, Temperature = 4.0, TopK = 0, Semantic = new StageOptions { MaxNewTokens = 30 } };
        BarkGeneration a = _tiny.Model.Generate(inputs, options);
        BarkGeneration b = _tiny.Model.Generate(inputs, options);
        BarkGeneration c = _tiny.Model.Generate(inputs, options with { Seed = 12 });
        Assert.Equal(a.SemanticTokens, b.SemanticTokens);
        Assert.Equal(a.FineCodes.Codes, b.FineCodes.Codes);
        Assert.Equal(a.Audio, b.Audio);
        Assert.NotEqual(a.SemanticTokens, c.SemanticTokens);
    }

    [Fact]
    public void Progress_is_reported_per_stage_and_cancellation_stops_within_a_step()
    {
        BarkInputs inputs = _tiny.Processor.Process("Hello, my dog is cute");
        var reports = new List<BarkProgress>();
        var progress = new SynchronousProgress(reports.Add);
        _tiny.Model.Generate(inputs, BarkGenerationOptions.Greedy with { Semantic = new StageOptions { MaxNewTokens = 20 } }, progress);
        Assert.Equal([BarkStage.Semantic, BarkStage.Coarse, BarkStage.Fine, BarkStage.Codec], reports.Select(r => r.Stage).Distinct().ToArray());
        Assert.Equal(20, reports.Where(r => r.Stage == BarkStage.Semantic).Max(r => r.Step));
        Assert.All(reports, r => Assert.InRange(r.Step, 1, r.Total));

        using var cts = new CancellationTokenSource();
        int semanticSteps = 0;
        var cancelling = new SynchronousProgress(p =>
        {
            if (p.Stage == BarkStage.Semantic && ++semanticSteps == 5) cts.Cancel();
        });
        Assert.ThrowsAny<OperationCanceledException>(() => _tiny.Model.Generate(inputs, BarkGenerationOptions.Greedy, cancelling, cts.Token));
        Assert.Equal(5, semanticSteps);
    }

    [Fact]
    public void Low_memory_mode_gives_the_same_audio_and_keeps_no_stage_resident()
    {
        using BarkModel lowMemory = BarkModel.FromPretrained(Fixtures.TinyBark, new BarkModelOptions { LowMemory = true, MaxThreads = 1 });
        Assert.True(lowMemory.LowMemory);
        Assert.Equal((false, false, false, false), lowMemory.Resident);
        BarkInputs inputs = _tiny.Processor.Process("Hello, my dog is cute", "v2/en_speaker_6");
        var options = BarkGenerationOptions.Greedy with { Semantic = new StageOptions { MaxNewTokens = 24 } };
        BarkGeneration a = lowMemory.Generate(inputs, options);
        Assert.Equal((false, false, false, false), lowMemory.Resident);
        Assert.Equal(1, lowMemory.MaxThreads);
        BarkGeneration b = _tiny.Model.Generate(inputs, options);
        Assert.Equal(b.FineCodes.Codes, a.FineCodes.Codes);
        Assert.Equal(b.Audio, a.Audio);
        Assert.Equal((true, true, true, true), _tiny.Model.Resident);
    }

    [Fact]
    public void Empty_text_is_a_clear_error()
    {
        var e = Assert.Throws<BarkInputException>(() => _tiny.Model.Generate(_tiny.Processor.Process("   ")));
        Assert.Contains("no tokens", e.Message);
    }

    private sealed class SynchronousProgress(Action<BarkProgress> report) : IProgress<BarkProgress>
    {
        public void Report(BarkProgress value) => report(value);
    }
}
