namespace BarkSharp.Models;

/// <summary>A sub-model whose kernels can use several threads.</summary>
internal interface IThreadedModel
{
    /// <summary>Threads the kernels may use.</summary>
    int MaxThreads { get; set; }
}
