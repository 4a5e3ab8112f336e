namespace BarkSharp.Tests.Infrastructure;

/// <summary>The tiny fixture model and its processor, loaded once per test class (xunit class fixture).</summary>
public sealed class TinyModelFixture : IDisposable
{
    /// <summary>The model (random weights, real formats).</summary>
    public BarkModel Model { get; } = BarkModel.FromPretrained(Fixtures.TinyBark);

    /// <summary>Its processor (the real vocabulary and a few voice presets).</summary>
    public BarkProcessor Processor { get; } = BarkProcessor.FromPretrained(Fixtures.TinyBark);

    /// <inheritdoc />
    public void Dispose() => Model.Dispose();
}
