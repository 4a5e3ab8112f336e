using BarkSharp;
using BarkSharp.Extensions.AI;
using BarkSharp.Speech;

namespace Microsoft.Extensions.AI;

/// <summary>Turns a Bark model or speech generator into an <see cref="ITextToSpeechClient"/>.</summary>
public static class BarkTextToSpeechClientExtensions
{
    /// <summary>An <see cref="ITextToSpeechClient"/> speaking with <paramref name="model"/>; disposing it leaves the model to its owner.</summary>
    /// <param name="model">The model.</param>
    /// <param name="processor">The model's processor (tokenizer and voice presets).</param>
    /// <param name="options">Request defaults.</param>
    public static ITextToSpeechClient AsITextToSpeechClient(this BarkModel model, BarkProcessor processor, BarkTextToSpeechClientOptions? options = null) =>
        new BarkTextToSpeechClient(model, processor, options);

    /// <summary>An <see cref="ITextToSpeechClient"/> over <paramref name="generator"/> (and its batcher); disposing it leaves the generator to its owner.</summary>
    /// <param name="generator">The generator.</param>
    /// <param name="options">Request defaults.</param>
    public static ITextToSpeechClient AsITextToSpeechClient(this SpeechGenerator generator, BarkTextToSpeechClientOptions? options = null) =>
        new BarkTextToSpeechClient(generator, options);
}
