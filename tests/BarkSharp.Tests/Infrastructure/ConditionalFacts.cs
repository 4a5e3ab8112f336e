namespace BarkSharp.Tests.Infrastructure;

/// <summary>A test that needs Linux (FIFOs, <c>/dev</c>, permission bits); reported as skipped elsewhere, never as passed.</summary>
public sealed class LinuxFactAttribute : FactAttribute
{
    /// <summary>Skips the test off Linux.</summary>
    public LinuxFactAttribute()
    {
        if (!OperatingSystem.IsLinux()) Skip = "needs Linux";
    }
}

/// <summary>A Linux-only <see cref="TheoryAttribute"/>.</summary>
public sealed class LinuxTheoryAttribute : TheoryAttribute
{
    /// <summary>Skips the test off Linux.</summary>
    public LinuxTheoryAttribute()
    {
        if (!OperatingSystem.IsLinux()) Skip = "needs Linux";
    }
}

/// <summary>
/// A test that needs command-line tools (e.g. <c>opusinfo</c>). Skipped where they are missing — except in CI
/// (<c>CI=true</c>), whose <c>.ci/run</c> installs them, so there a missing tool fails the test instead of hiding it.
/// </summary>
public sealed class ToolFactAttribute : FactAttribute
{
    /// <summary>Skips the test when one of <paramref name="tools"/> is not on the PATH outside CI.</summary>
    public ToolFactAttribute(params string[] tools)
    {
        string[] missing = tools.Where(t => Find(t) is null).ToArray();
        if (missing.Length > 0 && Environment.GetEnvironmentVariable("CI") != "true") Skip = $"needs {string.Join(", ", missing)} (.ci/run installs them)";
    }

    /// <summary>The full path of <paramref name="tool"/> on the PATH, or null.</summary>
    public static string? Find(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, tool)).FirstOrDefault(File.Exists);
}

/// <summary>A test that runs only when an environment variable is <c>1</c> (long timings); reported as skipped otherwise.</summary>
public sealed class EnvFactAttribute : FactAttribute
{
    /// <summary>Skips the test unless <paramref name="variable"/> is <c>1</c>.</summary>
    public EnvFactAttribute(string variable)
    {
        if (Environment.GetEnvironmentVariable(variable) != "1") Skip = $"set {variable}=1 to run";
    }
}
