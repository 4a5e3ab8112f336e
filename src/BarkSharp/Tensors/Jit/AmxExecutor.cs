namespace BarkSharp.Tensors.Jit;

/// <summary>
/// Runs one AMX kernel call (<see cref="AmxKernels.Generate"/>'s contract: <c>rowTiles</c> × 16 rows × one panel). The
/// product path (<see cref="MatMul"/>'s AMX side: packing, padding, tiling, threading, epilogue) only talks to this
/// seam, so tests on hosts without AMX run that whole path with an interpreter of the emitted instructions standing in
/// for the hardware; <see cref="HardwareAmxExecutor"/> calls the generated code.
/// </summary>
internal unsafe interface IAmxExecutor
{
    /// <summary>Runs the <paramref name="kind"/> kernel for <paramref name="rowTiles"/> (1 or 2) row tiles on <paramref name="args"/>.</summary>
    void Run(JitKernelKind kind, int rowTiles, AmxKernelArgs* args);
}

/// <summary>The generated AMX kernels in executable memory, called through function pointers.</summary>
internal sealed unsafe class HardwareAmxExecutor : IAmxExecutor
{
    /// <summary>The one instance.</summary>
    public static readonly HardwareAmxExecutor Instance = new();

    private HardwareAmxExecutor()
    {
    }

    /// <inheritdoc/>
    public void Run(JitKernelKind kind, int rowTiles, AmxKernelArgs* args) => JitKernels.Amx(kind, rowTiles)(args);
}
