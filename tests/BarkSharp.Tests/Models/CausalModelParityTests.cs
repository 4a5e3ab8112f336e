using BarkSharp.Generation;
using BarkSharp.IO;
using BarkSharp.Models;
using BarkSharp.Tensors;
using BarkSharp.Tests.Infrastructure;
using Xunit.Abstractions;

namespace BarkSharp.Tests.Models;

public class CausalModelParityTests(ITestOutputHelper output)
{
    private static BarkCausalModel LoadCausal(ITensorStore store, string submodel)
    {
        var config = TinyBark.Config;
        return submodel == "semantic"
            ? BarkCausalModel.Load(new WeightReader(store, "semantic."), config.SemanticConfig)
            : BarkCausalModel.Load(new WeightReader(store, "coarse_acoustics."), config.CoarseAcousticsConfig);
    }

    public static TheoryData<string, string> KvCases()
    {
        var data = new TheoryData<string, string>();
        foreach (string file in TinyBark.CheckpointFiles)
            foreach (string id in new[] { "forward/semantic_kv", "forward/coarse_acoustics_kv" })
                data.Add(file, id);
        return data;
    }

    [Theory]
    [MemberData(nameof(KvCases))]
    public void Prefill_cache_and_step_match_transformers(string file, string caseId)
    {
        ReferenceCase c = Fixtures.Case(caseId);
        using ITensorStore store = TinyBark.OpenStore(file);
        BarkCausalModel model = LoadCausal(store, c.Json.GetProperty("submodel").GetString()!);
        int vocab = model.Config.OutputVocabSize;
        int[] ids = TinyBark.Ints(c.Input("input_ids"));
        int[] step = TinyBark.Ints(c.Input("step_ids"));

        KvCache cache = model.CreateCache(1);
        ModelWorkspace ws = model.CreateWorkspace();
        var logits = new float[ids.Length * vocab];
        model.Forward(ids, 1, cache, ws, logits);
        Report(c, "logits", logits);
        for (int layer = 0; layer < model.Config.NumLayers; layer++)
        {
            Report(c, $"past_key_{layer}", cache.ExportKeys(0, layer));
            Report(c, $"past_value_{layer}", cache.ExportValues(0, layer));
        }

        var stepLogits = new float[vocab];
        model.Forward(step, 1, cache, ws, stepLogits);
        Report(c, "step_logits", stepLogits);

        var fullLast = new float[vocab];
        model.Forward([.. ids, .. step], 1, model.CreateCache(1), model.CreateWorkspace(), fullLast, lastPositionOnly: true);
        Report(c, "full_logits_last", fullLast);
    }

    [Theory]
    [MemberData(nameof(TinyBark.CheckpointFiles), MemberType = typeof(TinyBark))]
    public void Batch_with_attention_mask_matches_transformers(string file)
    {
        ReferenceCase c = Fixtures.Case("forward/semantic_batch_mask");
        using ITensorStore store = TinyBark.OpenStore(file);
        BarkCausalModel model = LoadCausal(store, "semantic");
        int[] ids = TinyBark.Ints(c.Input("input_ids"));
        int[] mask = TinyBark.Ints(c.Input("attention_mask"));
        Assert.Contains(0, mask);
        var logits = new float[ids.Length * model.Config.OutputVocabSize];
        model.Forward(ids, 2, model.CreateCache(2), model.CreateWorkspace(), logits, mask);
        Report(c, "logits", logits);
    }

    public static TheoryData<string, string, string?> PromptCases()
    {
        var data = new TheoryData<string, string, string?>();
        foreach (string file in TinyBark.CheckpointFiles)
        {
            data.Add(file, "forward/semantic_prompt_step0", "processor_preset/en_basic__v2_en_speaker_6");
            data.Add(file, "forward/semantic_prompt_step0_nopreset", null);
        }
        return data;
    }

    /// <summary>
    /// The semantic model's first step from a processed prompt: the merged text + history embeddings plus the infer
    /// token (layer-0 input), the raw logits at the infer position, the processed scores and the first greedy token.
    /// Text ids and history come from the processor reference case of the same text.
    /// </summary>
    [Theory]
    [MemberData(nameof(PromptCases))]
    public void Semantic_merged_prompt_first_step_matches_transformers(string file, string caseId, string? processorCase)
    {
        ReferenceCase c = Fixtures.Case(caseId);
        ReferenceCase p = Fixtures.Case(processorCase ?? "processor/de");
        Assert.Equal(c.Json.GetProperty("text").GetString(), p.Json.GetProperty("text").GetString());
        using ITensorStore store = TinyBark.OpenStore(file);
        BarkCausalModel model = LoadCausal(store, "semantic");
        int h = model.Config.HiddenSize;

        int[] text = TinyBark.Ints(p.Output("input_ids"));
        int[] mask = TinyBark.Ints(p.Output("attention_mask"));
        for (int i = 0; i < text.Length; i++) text[i] = mask[i] != 0 ? text[i] + 10_048 : 129_595;
        int[] history = Enumerable.Repeat(10_000, 256).ToArray();
        if (processorCase is not null)
        {
            int[] prompt = TinyBark.Ints(p.Output("history_semantic_prompt"));
            prompt.AsSpan(Math.Max(0, prompt.Length - 256)).CopyTo(history);
        }

        var embeds = new float[257 * h];
        model.EmbedMergedContext(text.AsSpan(0, 256), history, [129_599], 1, embeds);
        var layer0 = new float[257 * h];
        for (int i = 0; i < layer0.Length; i++) layer0[i] = embeds[i] + model.PositionEmbeddings[i];
        Report(c, "layer0_input", layer0);

        var logits = new float[model.Config.OutputVocabSize];
        model.ForwardEmbeddings(embeds, 1, 257, model.CreateCache(1), model.CreateWorkspace(), logits, lastPositionOnly: true);
        Report(c, "raw_logits", logits);

        for (int i = 10_001; i < logits.Length; i++) logits[i] = float.NegativeInfinity;
        Softmax.LogInPlace(logits);
        Report(c, "processed_scores", logits);
        int argmax = Array.IndexOf(logits, logits.Max());
        Assert.Equal(c.Output("first_token").ToInt64()[0], argmax);
    }

    private void Report(ReferenceCase c, string name, float[] actual)
    {
        (double atol, double rtol) = c.Tolerance(name);
        double err = Compare.AssertClose(c.Output(name).ToFloat32(), actual, atol, rtol, $"{c.Id}:{name}");
        output.WriteLine($"{c.Id} {name}: max abs err {err:e2} (atol {atol:e1})");
    }
}
