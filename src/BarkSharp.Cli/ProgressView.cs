using System.Diagnostics;
using BarkSharp.Generation;
using BarkSharp.Hub;
using Spectre.Console;

namespace BarkSharp.Cli;

/// <summary>
/// Shows download and generation progress on stderr: live bars (Spectre.Console) when a person watches a terminal,
/// plain lines, a few per stage, otherwise (pipes, logs, tests).
/// </summary>
internal abstract class ProgressView
{
    public abstract IProgress<DownloadProgress> Downloads { get; }

    public abstract IProgress<BarkProgress> Generation { get; }

    public static ProgressView Create(CliContext context) => context.IsTerminal ? new LiveView() : new PlainView(context.Error);

    /// <summary>A segment of a long text is ready.</summary>
    public abstract void Segment(Speech.AudioChunk chunk);

    /// <summary>A one-line remark (how a long text is cut).</summary>
    public abstract void Note(string message);

    /// <summary>Runs <paramref name="work"/> while the view is shown.</summary>
    public abstract Task<T> RunAsync<T>(Func<Task<T>> work);

    /// <summary>Bytes as people read them: 995.5 kB, 1.68 GB (decimal units, as the hub shows sizes).</summary>
    public static string Bytes(double bytes)
    {
        string[] units = ["B", "kB", "MB", "GB", "TB"];
        int unit = 0;
        while (bytes >= 1000 && unit < units.Length - 1)
        {
            bytes /= 1000;
            unit++;
        }
        return unit == 0 ? $"{bytes:F0} B" : $"{bytes:F2} {units[unit]}".Replace(".00 ", " ", StringComparison.Ordinal);
    }

    protected static string Describe(DownloadProgress p) =>
        p.TotalBytes is { } total ? $"{Bytes(p.BytesDone)} of {Bytes(total)}" : Bytes(p.BytesDone);

    protected static string StageName(BarkStage stage) => stage.ToString().ToLowerInvariant();

    /// <summary>Plain lines: one when a file or stage starts, then at most one every two seconds, and one when a file is done.</summary>
    private sealed class PlainView(TextWriter error) : ProgressView, IProgress<DownloadProgress>, IProgress<BarkProgress>
    {
        private static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);
        private readonly Lock _lock = new();
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private string? _current;
        private TimeSpan _last;

        public override IProgress<DownloadProgress> Downloads => this;

        public override IProgress<BarkProgress> Generation => this;

        public override Task<T> RunAsync<T>(Func<Task<T>> work) => work();

        public override void Segment(Speech.AudioChunk chunk)
        {
            lock (_lock)
            {
                error.WriteLine($"segment {chunk.SegmentIndex + 1}/{chunk.SegmentCount} ready after {chunk.Elapsed.TotalSeconds:F2} s: " +
                                $"{chunk.EndSeconds - chunk.StartSeconds:F2} s of audio");
                _current = null;
            }
        }

        public override void Note(string message)
        {
            lock (_lock) error.WriteLine(message);
        }

        public void Report(DownloadProgress p)
        {
            lock (_lock)
            {
                string key = p.RepoId + "/" + p.FileName;
                if (p.Completed)
                {
                    error.WriteLine($"downloaded {key} ({Bytes(p.BytesDone)})");
                    _current = null;
                }
                else if (key != _current || _clock.Elapsed - _last >= Interval)
                {
                    error.WriteLine(key != _current
                        ? $"downloading {key} ({(p.TotalBytes is { } t ? Bytes(t) : "size unknown")})"
                        : $"  {p.FileName}: {(p.Fraction is { } f ? $"{f:P0}, " : "")}{Describe(p)}, {Bytes(p.BytesPerSecond)}/s");
                    _current = key;
                    _last = _clock.Elapsed;
                }
            }
        }

        public void Report(BarkProgress p)
        {
            lock (_lock)
            {
                string key = p.Stage.ToString();
                if (key == _current && _clock.Elapsed - _last < Interval) return;
                error.WriteLine(key != _current
                    ? $"{StageName(p.Stage)}: generating"
                    : $"  {StageName(p.Stage)}: {p.Step}/{p.Total} ({p.TokensPerSecond:F0} tokens/s)");
                _current = key;
                _last = _clock.Elapsed;
            }
        }
    }

    /// <summary>Live bars on stderr, one per downloaded file and per generation stage.</summary>
    private sealed class LiveView : ProgressView, IProgress<DownloadProgress>, IProgress<BarkProgress>
    {
        private readonly IAnsiConsole _console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        private readonly Dictionary<string, ProgressTask> _tasks = [];
        private readonly Lock _lock = new();
        private ProgressContext? _context;

        public override IProgress<DownloadProgress> Downloads => this;

        public override IProgress<BarkProgress> Generation => this;

        public override Task<T> RunAsync<T>(Func<Task<T>> work) =>
            _console.Progress()
                .AutoClear(false)
                .HideCompleted(false)
                .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new SpinnerColumn())
                .StartAsync(async context =>
                {
                    _context = context;
                    try
                    {
                        return await work();
                    }
                    finally
                    {
                        lock (_lock)
                            foreach (ProgressTask task in _tasks.Values) task.StopTask();
                    }
                });

        public override void Segment(Speech.AudioChunk chunk)
        {
            ProgressTask? task = Task("segments", "segments", chunk.SegmentCount);
            if (task is null) return;
            task.MaxValue = chunk.SegmentCount;
            task.Value = chunk.SegmentIndex + 1;
            task.Description = $"segments  {chunk.SegmentIndex + 1}/{chunk.SegmentCount}  ({chunk.Elapsed.TotalSeconds:F1} s)";
        }

        public override void Note(string message) => Task("note", Markup.Escape(message), 1)?.StopTask();

        public void Report(DownloadProgress p)
        {
            ProgressTask? task = Task("download " + p.FileName, Markup.Escape(p.FileName), p.TotalBytes ?? 0);
            if (task is null) return;
            task.MaxValue = Math.Max(1, p.TotalBytes ?? p.BytesDone);
            task.Value = p.BytesDone;
            task.Description = Markup.Escape($"{p.FileName}  {Describe(p)}" + (p.Completed ? "" : $"  {Bytes(p.BytesPerSecond)}/s"));
            if (p.Completed) task.StopTask();
        }

        public void Report(BarkProgress p)
        {
            string name = StageName(p.Stage);
            ProgressTask? task = Task(name, name, p.Total);
            if (task is null) return;
            lock (_lock)
                foreach ((string key, ProgressTask other) in _tasks)
                    if (key != name && key is not ("segments" or "note") && !key.StartsWith("download ", StringComparison.Ordinal) && !other.IsFinished)
                        other.Value = other.MaxValue;
            task.MaxValue = Math.Max(1, p.Total);
            task.Value = p.Step;
            task.Description = $"{name}  {p.Step}/{p.Total}  {p.TokensPerSecond:F0} tokens/s";
        }

        private ProgressTask? Task(string key, string description, double max)
        {
            lock (_lock)
            {
                if (_context is null) return null;
                if (!_tasks.TryGetValue(key, out ProgressTask? task))
                    _tasks[key] = task = _context.AddTask(description, autoStart: true, maxValue: Math.Max(1, max));
                return task;
            }
        }
    }
}
