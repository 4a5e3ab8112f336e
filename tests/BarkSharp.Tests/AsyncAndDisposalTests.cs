using BarkSharp.Generation;
using BarkSharp.Tests.Infrastructure;

namespace BarkSharp.Tests;

/// <summary>Async loading and running, cancellation of voice loads, every sample of a pipeline batch, and no use after Dispose.</summary>
public class AsyncAndDisposalTests
{
    private static readonly BarkGenerationOptions Short = BarkGenerationOptions.Greedy with { Semantic = new StageOptions { MaxNewTokens = 8 } };

    [Fact]
    public async Task A_disposed_model_throws_instead_of_reloading_its_weights()
    {
        BarkModel model = await BarkModel.FromPretrainedAsync(Fixtures.TinyBark);
        BarkProcessor processor = await BarkProcessor.FromPretrainedAsync(Fixtures.TinyBark);
        BarkInputs inputs = processor.Process("Hello");
        Assert.NotEmpty(model.Generate(inputs, Short).Audio[0]);
        model.Dispose();
        var e = Assert.Throws<ObjectDisposedException>(() => model.Generate(inputs, Short));
        Assert.Contains("disposed", e.Message);
        Assert.Throws<ObjectDisposedException>(() => model.DecodeCodec(new AudioCodes([[[1, 2], [3, 4], [5, 6], [7, 8], [9, 10], [11, 12], [13, 14], [15, 16]]], [2])));
        Assert.False(model.Resident.Semantic || model.Resident.Codec);
    }

    [Fact]
    public async Task The_pipeline_returns_every_sample_and_runs_async()
    {
        using TextToAudioPipeline pipeline = await TextToAudioPipeline.CreateAsync(Fixtures.TinyBark);
        IReadOnlyList<TextToAudioOutput> outputs = pipeline.Run(["Hello there.", "A second and longer text to speak."], Short);
        BarkGeneration direct = pipeline.Model.Generate(pipeline.Processor.Process(["Hello there.", "A second and longer text to speak."]), Short);
        Assert.Equal(2, outputs.Count);
        for (int i = 0; i < 2; i++)
        {
            Assert.Equal(direct.Audio[i], outputs[i].Audio);
            Assert.Equal(24000, outputs[i].SampleRate);
        }
        TextToAudioOutput single = await pipeline.RunAsync("Hello there.", Short);
        Assert.Equal(pipeline.Run("Hello there.", Short).Audio, single.Audio);
    }

    [Fact]
    public async Task Voice_presets_load_async_and_honour_cancellation()
    {
        BarkProcessor processor = await BarkProcessor.FromPretrainedAsync(Fixtures.TinyBark);
        VoicePreset voice = await processor.LoadVoicePresetAsync("v2/en_speaker_6");
        Assert.Equal(processor.LoadVoicePreset("v2/en_speaker_6").SemanticPrompt, voice.SemanticPrompt);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => processor.LoadVoicePresetAsync("v2/en_speaker_6", cancelled.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => BarkProcessor.FromPretrainedAsync(Fixtures.TinyBark, cancellationToken: cancelled.Token));
    }
}
