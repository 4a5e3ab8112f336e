using BarkSharp.Configuration;
using BarkSharp.IO;

namespace BarkSharp.Tests.Infrastructure;

/// <summary>Opens the tiny fixture checkpoint in either file format.</summary>
internal static class TinyBark
{
    /// <summary>Both checkpoint files of the fixture, for [Theory] data.</summary>
    public static TheoryData<string> CheckpointFiles => new() { "model.safetensors", "pytorch_model.bin" };

    /// <summary>The fixture's config.json.</summary>
    public static BarkConfig Config => BarkConfig.Load(Path.Combine(Fixtures.TinyBark, "config.json"));

    /// <summary>Opens a checkpoint file of the fixture.</summary>
    public static ITensorStore OpenStore(string file) => Checkpoint.OpenCheckpoint(Path.Combine(Fixtures.TinyBark, file));

    /// <summary>An int64 reference array as int32.</summary>
    public static int[] Ints(NpyArray a) => a.ToInt64().Select(v => checked((int)v)).ToArray();
}
