using System.Globalization;
using System.Runtime.InteropServices;
using McuFormer.CodeGen.Tools;

namespace McuFormer.Pipeline.Output;

/// <summary>
/// A folder written beside its target, `&lt;target&gt;.partial-&lt;process id&gt;` (the same parent, so the
/// same file system), and put in the target's place in one step by <see cref="Commit"/>. Until then
/// the target is as it was; disposing without committing, or an interrupt, removes the staging folder.
/// Hold the target's <see cref="OutputLock"/> while staging.
/// </summary>
public sealed partial class StagedFolder : IDisposable
{
    private const string StagingSuffix = ".partial-";
    private const string PreviousSuffix = ".previous-";

    private readonly IDisposable _removeOnInterrupt;

    public StagedFolder(string target)
    {
        Target = System.IO.Path.GetFullPath(target).TrimEnd(System.IO.Path.DirectorySeparatorChar);
        Path = Target + StagingSuffix + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        _removeOnInterrupt = Interruption.RemoveOnInterrupt(Path);
        Interruption.Remove(Path);
        Directory.CreateDirectory(Path);
    }

    public string Target { get; }

    /// <summary>The staging folder, where everything is written.</summary>
    public string Path { get; }

    public bool Committed { get; private set; }

    /// <summary>
    /// Cleans up after an mcuformer that was killed (SIGKILL, power loss) while it wrote
    /// <paramref name="target"/>: removes its staging folders and, if it died between the two renames
    /// of <see cref="Commit"/>'s fallback, puts the previous target back. Call with the lock held.
    /// </summary>
    public static void RecoverAbandoned(string target)
    {
        var full = System.IO.Path.GetFullPath(target).TrimEnd(System.IO.Path.DirectorySeparatorChar);
        var parent = System.IO.Path.GetDirectoryName(full)!;
        if (!Directory.Exists(parent)) return;
        var name = System.IO.Path.GetFileName(full);
        foreach (var previous in Directory.GetDirectories(parent, name + PreviousSuffix + "*"))
        {
            if (!Directory.Exists(full)) Directory.Move(previous, full);
            else Interruption.Remove(previous);
        }
        foreach (var staging in Directory.GetDirectories(parent, name + StagingSuffix + "*")) Interruption.Remove(staging);
    }

    /// <summary>Puts the staging folder in the target's place: the target is the previous folder or the new one, never a mix.</summary>
    /// <exception cref="OperationCanceledException">a signal came before the swap</exception>
    public void Commit()
    {
        Interruption.Uninterrupted(() =>
        {
            Interruption.ThrowIfRequested();
            if (!Directory.Exists(Target))
            {
                Directory.Move(Path, Target);
            }
            else if (!Exchange(Path, Target))
            {
                // The file system cannot swap two folders in one step: two renames, which RecoverAbandoned
                // completes if the process dies between them.
                var previous = Target + PreviousSuffix + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
                Directory.Move(Target, previous);
                Directory.Move(Path, Target);
                Directory.Move(previous, Path);
            }
            Committed = true;
        });
        // The staging path now holds the previous target, if there was one.
        Interruption.Remove(Path);
        _removeOnInterrupt.Dispose();
    }

    public void Dispose()
    {
        if (!Committed) Interruption.Remove(Path);
        _removeOnInterrupt.Dispose();
    }

    /// <summary>Swaps two folders in one step (Linux's renameat2 with RENAME_EXCHANGE); false where the system or file system cannot.</summary>
    private static bool Exchange(string first, string second)
    {
        if (!OperatingSystem.IsLinux()) return false;
        const int CurrentDirectory = -100; // AT_FDCWD
        const uint RenameExchange = 2;
        try
        {
            return RenameAt2(CurrentDirectory, first, CurrentDirectory, second, RenameExchange) == 0;
        }
        catch (EntryPointNotFoundException)
        {
            // A C library older than glibc 2.28.
            return false;
        }
    }

    [LibraryImport("libc", EntryPoint = "renameat2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int RenameAt2(int oldDirectory, string oldPath, int newDirectory, string newPath, uint flags);
}
