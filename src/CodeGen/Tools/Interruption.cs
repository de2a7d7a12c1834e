using System.Diagnostics;
using System.Runtime.InteropServices;

namespace McuFormer.CodeGen.Tools;

/// <summary>
/// SIGINT, SIGTERM and SIGHUP for the whole process, once <see cref="Install"/> is called. A signal
/// cancels <see cref="Token"/>: the external programs running kill their process trees, the work
/// unwinds with <see cref="OperationCanceledException"/> and removes what it had half written. Work
/// that cannot notice in time (a solver, ONNX Runtime) is cut short after a grace period: the paths
/// registered with <see cref="RemoveOnInterrupt"/> are removed and the process exits.
/// </summary>
public static partial class Interruption
{
    /// <summary>How long the work has to unwind by itself before the process removes its files and exits.</summary>
    public static readonly TimeSpan Grace = TimeSpan.FromSeconds(3);

    private static readonly CancellationTokenSource Source = new();
    // Guards Pending, _signal and _reported; a forced exit takes it, so it also fences off work that
    // must not be cut in the middle (see Uninterrupted).
    private static readonly Lock Gate = new();
    private static readonly HashSet<string> Pending = new(StringComparer.Ordinal);
    private static PosixSignal? _signal;
    private static bool _reported;

    public static CancellationToken Token => Source.Token;

    public static bool Requested => Source.IsCancellationRequested;

    /// <exception cref="OperationCanceledException">a signal came</exception>
    public static void ThrowIfRequested() => Source.Token.ThrowIfCancellationRequested();

    /// <summary>The one line that reports the interruption.</summary>
    public static string Message => $"interrupted by {_signal?.ToString() ?? "a signal"}; the output folders were left as they were";

    /// <summary>128 plus the signal's number, as a shell reports a process a signal ended.</summary>
    public static int ExitCode => 128 + _signal switch
    {
        PosixSignal.SIGHUP => 1,
        PosixSignal.SIGTERM => 15,
        _ => 2,
    };

    /// <summary>Handles the signals until disposed. Only an executable calls this: a library's host decides what a signal means.</summary>
    public static IDisposable Install()
    {
        var registrations = new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGHUP }
            .Select(s => PosixSignalRegistration.Create(s, OnSignal)).ToList();
        return new Registrations(registrations);
    }

    /// <summary>
    /// Called where the work has unwound after a signal: marks the interruption as reported, so a
    /// forced exit racing with the normal one does not print its line a second time.
    /// </summary>
    public static void Acknowledge()
    {
        lock (Gate) _reported = true;
    }

    /// <summary>Removes <paramref name="path"/> (a file or a folder) if the process is interrupted before the registration is disposed.</summary>
    public static IDisposable RemoveOnInterrupt(string path)
    {
        lock (Gate) Pending.Add(path);
        return new Release(() =>
        {
            lock (Gate) Pending.Remove(path);
        });
    }

    /// <summary>Kills <paramref name="process"/> and its children when a signal comes, until disposed.</summary>
    public static IDisposable KillOnInterrupt(Process process) => Source.Token.Register(() => KillTree(process));

    /// <summary>Runs <paramref name="action"/> without a forced exit in its middle (a folder swap, say).</summary>
    public static void Uninterrupted(Action action)
    {
        lock (Gate) action();
    }

    /// <summary>Removes a file or a folder tree; one already gone is fine.</summary>
    public static void Remove(string path)
    {
        if (Directory.Exists(path) && File.ResolveLinkTarget(path, returnFinalTarget: false) is null)
        {
            try
            {
                Directory.Delete(path, recursive: true);
            }
            catch (DirectoryNotFoundException)
            {
            }
        }
        else
        {
            File.Delete(path);
        }
    }

    public static void KillTree(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // It has exited already.
        }
    }

    private static void OnSignal(PosixSignalContext context)
    {
        // The process stays up to clean after itself; the work in progress sees the token.
        context.Cancel = true;
        lock (Gate)
        {
            if (_signal is not null) return;
            _signal = context.Signal;
        }
        Source.Cancel();
        _ = Task.Delay(Grace).ContinueWith(_ => ForceExit(), TaskScheduler.Default);
    }

    private static void ForceExit()
    {
        lock (Gate)
        {
            if (_reported) return;
            foreach (var path in Pending)
            {
                try
                {
                    Remove(path);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // The rest is still removed; the exit cannot wait.
                }
            }
            _reported = true;
            try
            {
                Console.Error.WriteLine($"error: {Message}");
            }
            catch (IOException)
            {
                // The terminal is gone (SIGHUP).
            }
            ExitNow(ExitCode);
        }
    }

    /// <summary>
    /// Ends the process at once. Environment.Exit would run the runtime's shutdown while the cut-short
    /// work still runs in native code (ONNX Runtime), which then prints errors after the line above.
    /// </summary>
    private static void ExitNow(int code)
    {
        if (OperatingSystem.IsWindows()) Environment.Exit(code);
        ExitProcess(code);
    }

    [LibraryImport("libc", EntryPoint = "_exit")]
    private static partial void ExitProcess(int code);

    private sealed class Registrations(List<PosixSignalRegistration> registrations) : IDisposable
    {
        public void Dispose() => registrations.ForEach(r => r.Dispose());
    }

    private sealed class Release(Action release) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0) release();
        }
    }
}
