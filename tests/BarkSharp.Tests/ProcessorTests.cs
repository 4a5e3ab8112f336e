using System.Text.Json;
using BarkSharp.IO;
using BarkSharp.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

namespace BarkSharp.Tests;

public class ProcessorTests
{
    private static readonly Lazy<BarkProcessor> Processor = new(() => BarkProcessor.FromPretrained(Fixtures.TinyBark));

    public static TheoryData<string> ProcessorCases() => [.. Fixtures.CaseIds("processor")];

    [Theory]
    [MemberData(nameof(ProcessorCases))]
    public void Matches_transformers_ids_masks_and_history(string id)
    {
        ReferenceCase c = Fixtures.Case(id);
        JsonElement json = c.Json;
        string[] texts = Texts(json);
        bool batch = json.GetProperty("text").ValueKind == JsonValueKind.Array;
        BarkProcessorOptions? options = Options(json);
        VoicePreset? voice = json.TryGetProperty("voice_preset", out JsonElement v) ? LoadVoice(v) : null;

        BarkInputs inputs = (batch, voice) switch
        {
            (true, null) => Processor.Value.Process(texts, (string?)null, options),
            (true, _) => Processor.Value.Process(texts, voice, options),
            (false, null) => Processor.Value.Process(texts[0], (string?)null, options),
            (false, _) => Processor.Value.Process(texts[0], voice, options),
        };

        if (json.TryGetProperty("expect_error", out JsonElement error) && error.GetBoolean())
        {
            // processor_preset_error/announcer_uint16: Transformers (torch 1.13) cannot make a tensor of the uint16
            // 'announcer' preset. BarkSharp deliberately accepts it (its values are valid codes), widened to int64.
            Assert.Equal("announcer", json.GetProperty("voice_preset").GetString());
            AssertPresetEqualsFiles(inputs.HistoryPrompt!, Path.Combine(Fixtures.TinyBark, "speaker_embeddings"), "announcer");
            AssertIds(Fixtures.Case("processor/en_basic"), inputs);
            return;
        }

        AssertIds(c, inputs);
        if (c.OutputNames.Contains("history_semantic_prompt"))
        {
            Assert.NotNull(inputs.HistoryPrompt);
            Assert.Equal(c.Output("history_semantic_prompt").ToInt64(), inputs.HistoryPrompt.SemanticPrompt);
            AssertRows(c.Output("history_coarse_prompt"), inputs.HistoryPrompt.CoarsePrompt);
            AssertRows(c.Output("history_fine_prompt"), inputs.HistoryPrompt.FinePrompt);
        }
        else
        {
            Assert.Null(inputs.HistoryPrompt);
        }

        // The tokens Transformers produced (diagnostics) are also what Tokenize returns.
        JsonElement[] expectedTokens = [.. json.GetProperty("diagnostics").GetProperty("tokens").EnumerateArray()];
        for (int i = 0; i < texts.Length; i++)
            Assert.Equal(expectedTokens[i].EnumerateArray().Select(t => t.GetString()!), Processor.Value.Tokenizer.Tokenize(texts[i]));
    }

    [Fact]
    public void Long_text_keeps_every_id_like_transformers_and_is_reported_cut()
    {
        ReferenceCase c = Fixtures.Case("processor/long");
        using var logs = new ListLoggerFactory();
        BarkProcessor processor = BarkProcessor.FromPretrained(Fixtures.TinyBark, loggerFactory: logs);

        BarkInputs inputs = processor.Process(c.Json.GetProperty("text").GetString()!);

        Assert.Equal(272, inputs.SequenceLength);
        Assert.Equal([272], inputs.TokenCounts);
        Assert.Equal([true], inputs.Truncated);
        Assert.True(inputs.AnyTruncated);
        string warning = Assert.Single(logs.Messages);
        Assert.Contains("272 tokens", warning);
        Assert.Contains("first 256", warning);
    }

    [Fact]
    public void Truncation_option_cuts_to_max_length_and_reports_it()
    {
        ReferenceCase c = Fixtures.Case("processor_kwargs/max_length_16_truncation");
        BarkInputs inputs = Processor.Value.Process(c.Json.GetProperty("text").GetString()!, (string?)null, new BarkProcessorOptions { MaxLength = 16, Truncation = true });
        Assert.Equal(16, inputs.SequenceLength);
        Assert.Equal([21], inputs.TokenCounts);
        Assert.Equal([true], inputs.Truncated);
        Assert.All(inputs.AttentionMask[0], m => Assert.Equal(1, m));
    }

    [Fact]
    public void Short_text_is_not_reported_cut()
    {
        BarkInputs inputs = Processor.Value.Process("Hello, my dog is cute");
        Assert.Equal([7], inputs.TokenCounts);
        Assert.Equal([false], inputs.Truncated);
        Assert.Equal(256, inputs.SequenceLength);
    }

    [Fact]
    public void Lone_empty_text_is_unpadded_but_empty_text_in_a_batch_is_padded()
    {
        foreach (string text in new[] { "", "   \t\n ", "\u200b\u00ad" })
        {
            BarkInputs single = Processor.Value.Process(text);
            Assert.Equal(1, single.BatchSize);
            Assert.Equal(0, single.SequenceLength);
            Assert.Equal([0], single.TokenCounts);
            Assert.Equal([false], single.Truncated);
        }

        BarkInputs batch = Processor.Value.Process([""]);
        Assert.Equal(256, batch.SequenceLength);
        Assert.All(batch.InputIds[0], id => Assert.Equal(0, id));
        Assert.All(batch.AttentionMask[0], m => Assert.Equal(0, m));
    }

    [Fact]
    public void Batch_with_a_long_text_pads_every_row_to_the_longest()
    {
        string longText = Fixtures.Case("processor/long").Json.GetProperty("text").GetString()!;
        BarkInputs inputs = Processor.Value.Process(["Hello, my dog is cute", longText]);
        Assert.Equal(272, inputs.SequenceLength);
        Assert.Equal([7, 272], inputs.TokenCounts);
        Assert.Equal([false, true], inputs.Truncated);
        Assert.Equal(7, inputs.AttentionMask[0].Sum());
        Assert.Equal(Fixtures.Case("processor/long").Output("input_ids").ToInt64(), inputs.InputIds[1]);
    }

    [Fact]
    public void Special_tokens_option_wraps_the_text_in_cls_and_sep()
    {
        BarkInputs inputs = Processor.Value.Process("Hello", (string?)null, new BarkProcessorOptions { AddSpecialTokens = true, MaxLength = 8 });
        Assert.Equal([101L, 31178, 102, 0, 0, 0, 0, 0], inputs.InputIds[0]);
        Assert.Equal([1L, 1, 1, 0, 0, 0, 0, 0], inputs.AttentionMask[0]);

        // Truncation keeps [CLS] and [SEP] and cuts the text in between.
        inputs = Processor.Value.Process("Hello, my dog is cute", (string?)null, new BarkProcessorOptions { AddSpecialTokens = true, MaxLength = 4, Truncation = true });
        Assert.Equal([101L, 31178, 117, 102], inputs.InputIds[0]);
        Assert.Equal([9], inputs.TokenCounts);
        Assert.Equal([true], inputs.Truncated);
    }

    [Fact]
    public void Voice_presets_load_by_name_and_by_npz_path()
    {
        Assert.Equal(
            ["announcer", "en_speaker_6", "v2/de_speaker_0", "v2/en_speaker_0", "v2/en_speaker_6", "v2/ja_speaker_0", "v2/zh_speaker_0"],
            Processor.Value.AvailablePresets.Order(StringComparer.Ordinal));
        BarkInputs byName = Processor.Value.Process("Hi", "v2/en_speaker_6");
        string npz = Path.Combine(Fixtures.Assets, "prompts_npz", "v2", "en_speaker_6");
        BarkInputs byPath = Processor.Value.Process("Hi", npz); // ".npz" appended, as in Transformers
        Assert.Equal(byName.HistoryPrompt!.SemanticPrompt, byPath.HistoryPrompt!.SemanticPrompt);
        Assert.Equal(byName.HistoryPrompt.FinePrompt, byPath.HistoryPrompt.FinePrompt);
        Assert.Equal(npz + ".npz", byPath.HistoryPrompt.Source);
    }

    [Fact]
    public void Unknown_voice_lists_the_available_presets()
    {
        var e = Assert.Throws<BarkVoiceException>(() => Processor.Value.Process("Hi", "v2/xx_speaker_9"));
        Assert.Equal("v2/xx_speaker_9", e.Preset);
        Assert.Contains("unknown voice preset 'v2/xx_speaker_9'", e.Message);
        Assert.Contains("v2/en_speaker_6", e.Message);
        Assert.Contains("Available presets (7)", e.Message);
    }

    [Fact]
    public void Invalid_options_are_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Processor.Value.Process("Hi", (string?)null, new BarkProcessorOptions { MaxLength = 0 }));
        Assert.Throws<ArgumentException>(() => Processor.Value.Process(Array.Empty<string>()));
        Assert.Throws<BarkConfigException>(() => BarkProcessor.FromPretrained(Path.Combine(Fixtures.Root, "no-such-model")));
    }

    private static void AssertIds(ReferenceCase c, BarkInputs inputs)
    {
        NpyArray ids = c.Output("input_ids"), mask = c.Output("attention_mask");
        Assert.Equal(ids.Shape, new long[] { inputs.BatchSize, inputs.SequenceLength });
        Assert.Equal(mask.Shape, new long[] { inputs.BatchSize, inputs.SequenceLength });
        if (ids.ElementCount == 0) return; // processor/empty: Transformers returns a float32 (1, 0) array
        AssertRows(ids, inputs.InputIds);
        AssertRows(mask, inputs.AttentionMask);
    }

    private static void AssertRows(NpyArray expected, long[][] actual)
    {
        Assert.Equal(2, expected.Shape.Length);
        Assert.Equal(expected.Shape[0], actual.Length);
        long[] flat = expected.ToInt64();
        int width = (int)expected.Shape[1];
        for (int r = 0; r < actual.Length; r++)
            Assert.Equal(flat.AsSpan(r * width, width).ToArray(), actual[r]);
    }

    internal static void AssertPresetEqualsFiles(VoicePreset preset, string folder, string stem)
    {
        Assert.Equal(NpyArray.Load(Path.Combine(folder, stem + "_semantic_prompt.npy")).ToInt64(), preset.SemanticPrompt);
        AssertRows(NpyArray.Load(Path.Combine(folder, stem + "_coarse_prompt.npy")), preset.CoarsePrompt);
        AssertRows(NpyArray.Load(Path.Combine(folder, stem + "_fine_prompt.npy")), preset.FinePrompt);
    }

    private static string[] Texts(JsonElement json)
    {
        JsonElement text = json.GetProperty("text");
        return text.ValueKind == JsonValueKind.Array ? [.. text.EnumerateArray().Select(t => t.GetString()!)] : [text.GetString()!];
    }

    private static BarkProcessorOptions? Options(JsonElement json)
    {
        if (!json.TryGetProperty("kwargs", out JsonElement kwargs)) return null;
        var options = BarkProcessorOptions.Default;
        foreach (JsonProperty p in kwargs.EnumerateObject())
        {
            options = p.Name switch
            {
                "max_length" => options with { MaxLength = p.Value.GetInt32() },
                "truncation" => options with { Truncation = p.Value.GetBoolean() },
                "add_special_tokens" => options with { AddSpecialTokens = p.Value.GetBoolean() },
                _ => throw new NotSupportedException($"kwarg {p.Name}"),
            };
        }
        return options;
    }

    private static VoicePreset LoadVoice(JsonElement v) => v.ValueKind == JsonValueKind.String
        ? Processor.Value.LoadVoicePreset(v.GetString()!)
        : Processor.Value.LoadVoicePreset(Path.Combine(Fixtures.Assets, v.GetProperty("npz").GetString()!));

    private sealed class ListLoggerFactory : ILoggerFactory
    {
        public List<string> Messages { get; } = [];

        public ILogger CreateLogger(string categoryName) => new ListLogger(this);

        public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException();

        public void Dispose() { }

        private sealed class ListLogger(ListLoggerFactory owner) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                lock (owner.Messages) owner.Messages.Add(formatter(state, exception));
            }
        }
    }
}
