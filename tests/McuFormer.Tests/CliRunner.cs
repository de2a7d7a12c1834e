using System.Diagnostics;

namespace McuFormer.Tests;

/// <summary>Runs the built `mcuformer` CLI as a separate process, as a user would.</summary>
public static class CliRunner
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    public static Result Run(params string[] args) => Start(args).Finish();

    /// <summary>Starts the CLI and returns at once, for tests that signal it or run another beside it.</summary>
    public static Running Start(params string[] args) => Start(new Dictionary<string, string>(), args);

    /// <param name="environment">variables set for the CLI on top of this process's</param>
    public static Running Start(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        // A test run started in the background inherits SIGINT ignored, and so would the CLI; env gives it the
        // default dispositions a user's shell gives, so that the signal tests see what a user sees.
        var start = new ProcessStartInfo("env") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var (name, value) in environment) start.Environment[name] = value;
        start.ArgumentList.Add("--default-signal=INT,TERM,HUP");
        start.ArgumentList.Add("dotnet");
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "mcuformer.dll"));
        foreach (var a in args) start.ArgumentList.Add(a);
        var process = Process.Start(start)!;
        return new Running(process, args, process.StandardOutput.ReadToEndAsync(), process.StandardError.ReadToEndAsync());
    }

    public sealed class Running(Process process, string[] args, Task<string> stdout, Task<string> stderr)
    {
        /// <summary>The CLI's process id (dotnet runs the CLI in its own process).</summary>
        public int Id => process.Id;

        public bool HasExited => process.HasExited;

        public Result Finish()
        {
            using (process)
            {
                if (!process.WaitForExit(TimeSpan.FromMinutes(10)))
                {
                    process.Kill(entireProcessTree: true);
                    throw new TimeoutException("mcuformer " + string.Join(' ', args) + " did not finish");
                }
                return new Result(process.ExitCode, stdout.Result, stderr.Result);
            }
        }
    }
}
