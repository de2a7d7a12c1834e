using System.Diagnostics;

namespace McuFormer.CodeGen.Tools;

/// <summary>Runs the external programs the back-end needs (make, the compilers, QEMU, dotnet).</summary>
public static class ExternalTool
{
    public sealed record Result(int ExitCode, string Output, bool TimedOut);

    public static bool OnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Any(dir => dir.Length > 0 && File.Exists(Path.Combine(dir, program)));

    /// <summary>Runs a program to completion; stdout and stderr together in Output.</summary>
    /// <param name="environment">variables to set for the program, on top of this process's</param>
    /// <exception cref="OperationCanceledException">a signal came (<see cref="Interruption"/>): the program and its children were killed</exception>
    public static Result Run(string program, IEnumerable<string> arguments, string workingDirectory, TimeSpan timeout, string missingHint,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(program)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var a in arguments) start.ArgumentList.Add(a);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;
        Interruption.ThrowIfRequested();
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            throw new HostToolException($"'{program}' is not installed: {missingHint}");
        }
        using (process)
        using (Interruption.KillOnInterrupt(process))
        {
            process.StandardInput.Close();
            var output = new System.Text.StringBuilder();
            process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
            process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            if (!process.WaitForExit(timeout))
            {
                Interruption.KillTree(process);
                process.WaitForExit();
                Interruption.ThrowIfRequested();
                return new Result(-1, output.ToString(), true);
            }
            process.WaitForExit();
            Interruption.ThrowIfRequested();
            return new Result(process.ExitCode, output.ToString(), false);
        }
    }
}

/// <summary>A tool the host needs (a compiler, make, QEMU) is missing or failed.</summary>
public sealed class HostToolException(string message) : Exception(message);
