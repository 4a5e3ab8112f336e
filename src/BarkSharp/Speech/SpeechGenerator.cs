using System.Diagnostics;
using System.Runtime.CompilerServices;
using BarkSharp.Generation;

namespace BarkSharp.Speech;

/// <summary>
/// Speaks text of any length in one voice and hands out the audio while the rest is still being made: the text is
/// cut into segments (<see cref="TextSegmenter"/>), each segment is one Bark generation, and each finished segment is
/// yielded as an <see cref="AudioChunk"/> at once.
/// </summary>
/// <remarks>
/// <para>The first segment runs alone, so its audio arrives after one generation. In <see cref="VoiceMode.Fixed"/>
/// mode the other segments run in batches of <see cref="SpeechOptions.MaxBatchSize"/>; the next batch is generated
/// while the consumer takes the current one's chunks, and no further: a slow consumer holds generation back.</para>
/// <para>Segment <c>i</c> draws random stream <c>i</c> of the seed, so a seed gives the same audio whatever the
/// batching and the thread count. A chunk is a whole segment: the fine model looks at its whole window at once, so
/// audio of a segment cannot be final before the segment is.</para>
/// <para>Thread-safe: concurrent calls share the <see cref="SegmentBatcher"/>, whose batches then mix their segments.</para>
/// </remarks>
public sealed class SpeechGenerator : IDisposable
{
    private readonly bool _ownsBatcher;

    /// <summary>Creates a generator; without a <paramref name="batcher"/> it runs its own (batches of up to 4), disposed with it.</summary>
    /// <param name="model">The model.</param>
    /// <param name="processor">The processor whose tokenizer cuts and encodes the text.</param>
    /// <param name="batcher">A batcher over <paramref name="model"/> to share with other generators (a server's), or null.</param>
    public SpeechGenerator(BarkModel model, BarkProcessor processor, SegmentBatcher? batcher = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(processor);
        if (batcher is not null && batcher.Model != model) throw new ArgumentException("the batcher runs another model.", nameof(batcher));
        Model = model;
        Processor = processor;
        _ownsBatcher = batcher is null;
        Batcher = batcher ?? new SegmentBatcher(model);
    }

    /// <summary>The model.</summary>
    public BarkModel Model { get; }

    /// <summary>The processor.</summary>
    public BarkProcessor Processor { get; }

    /// <summary>The batcher segments run on.</summary>
    public SegmentBatcher Batcher { get; }

    /// <summary>The segments <paramref name="text"/> is spoken in, with <paramref name="options"/>' segmentation.</summary>
    public IReadOnlyList<TextSegment> Segment(string text, SpeechOptions? options = null) =>
        new TextSegmenter(Processor.Tokenizer, (options ?? new SpeechOptions()).Segmentation).Split(text);

    /// <summary>
    /// Speaks <paramref name="text"/> and yields each segment's audio, in order, as soon as it is ready.
    /// </summary>
    /// <param name="text">Any amount of text.</param>
    /// <param name="options">Voice, voice mode, gaps, batching and sampling.</param>
    /// <param name="progress">Stage progress of the running segments.</param>
    /// <param name="cancellationToken">Stops generation within one decode step.</param>
    /// <exception cref="BarkInputException">The text has nothing to speak, or an option is invalid.</exception>
    public async IAsyncEnumerable<AudioChunk> StreamAsync(string text, SpeechOptions? options = null, IProgress<SpeechProgress>? progress = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        options ??= new SpeechOptions();
        options.Validate();
        IReadOnlyList<TextSegment> segments = new TextSegmenter(Processor.Tokenizer, options.Segmentation).Split(text);
        if (segments.Count == 0) throw new BarkInputException("the text is empty; Bark needs something to say.");

        var clock = Stopwatch.StartNew();
        var run = new Run(this, segments, options, progress, clock, cancellationToken);
        SegmentOutput first = (await run.Submit(0, 1, options.Voice).ConfigureAwait(false))[0];
        // Without a voice, the first segment's own generation is the voice of the rest: one speaker throughout.
        VoicePreset? original = options.Voice ?? first.ToVoicePreset();

        if (options.VoiceMode == VoiceMode.Chained)
        {
            yield return run.Chunk(0, first);
            VoicePreset? previous = first.ToVoicePreset() ?? original;
            for (int i = 1; i < segments.Count; i++)
            {
                bool reset = options.ChainResetInterval > 0 && i % options.ChainResetInterval == 0;
                SegmentOutput output = (await run.Submit(i, 1, reset ? original : previous).ConfigureAwait(false))[0];
                previous = output.ToVoicePreset() ?? previous;
                yield return run.Chunk(i, output);
            }
            yield break;
        }

        // Fixed: one batch in flight while the consumer takes the chunks of the one before.
        int next = 1;
        Task<SegmentOutput[]>? pending = next < segments.Count ? run.Submit(next, options.MaxBatchSize, original) : null;
        yield return run.Chunk(0, first);
        while (pending is not null)
        {
            int from = next;
            SegmentOutput[] outputs = await pending.ConfigureAwait(false);
            next += outputs.Length;
            pending = next < segments.Count ? run.Submit(next, options.MaxBatchSize, original) : null;
            for (int i = 0; i < outputs.Length; i++) yield return run.Chunk(from + i, outputs[i]);
        }
    }

    /// <summary>Speaks <paramref name="text"/> and returns the joined audio with its segments.</summary>
    /// <inheritdoc cref="StreamAsync" path="/param"/>
    /// <exception cref="BarkInputException">The text has nothing to speak, or an option is invalid.</exception>
    public async Task<SpeechResult> GenerateAsync(string text, SpeechOptions? options = null, IProgress<SpeechProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        var chunks = new List<AudioChunk>();
        int sampleRate = Model.SampleRate;
        await foreach (AudioChunk chunk in StreamAsync(text, options, progress, cancellationToken).ConfigureAwait(false)) chunks.Add(chunk);
        var audio = new float[chunks.Sum(c => c.Samples.Length)];
        int at = 0;
        foreach (AudioChunk chunk in chunks)
        {
            chunk.Samples.CopyTo(audio, at);
            at += chunk.Samples.Length;
        }
        return new SpeechResult(audio, sampleRate, chunks, clock.Elapsed);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_ownsBatcher) Batcher.Dispose();
    }

    /// <summary>One call's state: its segments, where the audio has got to, and how to submit segments.</summary>
    private sealed class Run(SpeechGenerator owner, IReadOnlyList<TextSegment> segments, SpeechOptions options, IProgress<SpeechProgress>? progress,
        Stopwatch clock, CancellationToken cancellationToken)
    {
        private readonly BarkGenerationOptions _generation = segments.Count > 1 ? options.SegmentOptions : options.Generation;
        private long _samples;

        /// <summary>Queues segments <c>[from, from + count)</c> (clipped to the text) with <paramref name="voice"/>.</summary>
        public Task<SegmentOutput[]> Submit(int from, int count, VoicePreset? voice)
        {
            count = Math.Min(count, segments.Count - from);
            var requests = new SegmentRequest[count];
            for (int i = 0; i < count; i++)
                requests[i] = new SegmentRequest(owner.Processor.Tokenizer.EncodeToIds(segments[from + i].Text), voice, _generation.Seed, from + i);
            IProgress<(IReadOnlyList<int>, BarkProgress)>? report = progress is null ? null
                : new Progress(p => progress.Report(new SpeechProgress(p.Item1.Select(i => from + i).ToArray(), segments.Count, p.Item2)));
            return owner.Batcher.GenerateAsync(requests, _generation, report, cancellationToken);
        }

        /// <summary>Segment <paramref name="index"/>'s chunk: the gap before it, then its audio with faded edges.</summary>
        public AudioChunk Chunk(int index, SegmentOutput output)
        {
            int rate = output.SampleRate;
            int gap = index == 0 ? 0 : (int)Math.Round(options.GapSeconds * rate);
            var samples = new float[gap + output.Audio.Length];
            output.Audio.CopyTo(samples, gap);
            int fade = (int)Math.Round(options.FadeSeconds * rate);
            Fade(samples.AsSpan(gap), index > 0 ? fade : 0, index < segments.Count - 1 ? fade : 0);
            var chunk = new AudioChunk(segments[index], segments.Count, samples, gap, rate, _samples, output, clock.Elapsed);
            _samples += samples.Length;
            return chunk;
        }

        /// <summary>Raised-cosine fades over the first <paramref name="fadeIn"/> and the last <paramref name="fadeOut"/> samples (only at joins).</summary>
        private static void Fade(Span<float> audio, int fadeIn, int fadeOut)
        {
            fadeIn = Math.Min(fadeIn, audio.Length / 2);
            fadeOut = Math.Min(fadeOut, audio.Length / 2);
            for (int i = 0; i < fadeIn; i++) audio[i] *= Gain(i, fadeIn);
            for (int i = 0; i < fadeOut; i++) audio[^(i + 1)] *= Gain(i, fadeOut);
        }

        private static float Gain(int i, int length) => (float)(0.5 - 0.5 * Math.Cos(Math.PI * (i + 0.5) / length));

        private sealed class Progress(Action<(IReadOnlyList<int>, BarkProgress)> report) : IProgress<(IReadOnlyList<int>, BarkProgress)>
        {
            public void Report((IReadOnlyList<int>, BarkProgress) value) => report(value);
        }
    }
}
