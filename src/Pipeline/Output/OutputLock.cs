using System.Globalization;
using McuFormer.CodeGen.Tools;

namespace McuFormer.Pipeline.Output;

/// <summary>An output folder is being written by another mcuformer, or would lose files that mcuformer did not write.</summary>
public sealed class OutputFolderException(string message) : Exception(message);

/// <summary>
/// `&lt;folder&gt;.lock` beside an output folder, held while one mcuformer writes the folder so that a
/// second one cannot clobber it. The lock is a POSIX record lock, which the system drops when the
/// process ends however it ends; the file holds the holder's process id for the second one's message.
/// </summary>
public sealed class OutputLock : IDisposable
{
    // Record locks belong to the process, so two writers inside one process are told apart here.
    private static readonly HashSet<string> HeldInThisProcess = new(StringComparer.Ordinal);

    private readonly FileStream _file;
    private readonly IDisposable _removeOnInterrupt;
    private readonly IReadOnlyList<string> _createdFolders;

    private OutputLock(string path, FileStream file, IReadOnlyList<string> createdFolders)
    {
        Path = path;
        _file = file;
        _createdFolders = createdFolders;
        _removeOnInterrupt = Interruption.RemoveOnInterrupt(path);
    }

    public string Path { get; }

    /// <summary>Takes the lock of <paramref name="folder"/>, creating the folders above it.</summary>
    /// <exception cref="OutputFolderException">another mcuformer holds it</exception>
    public static OutputLock Acquire(string folder)
    {
        var full = System.IO.Path.GetFullPath(folder).TrimEnd(System.IO.Path.DirectorySeparatorChar);
        var path = full + ".lock";
        var createdFolders = CreateFolders(System.IO.Path.GetDirectoryName(full)!);
        lock (HeldInThisProcess)
            if (!HeldInThisProcess.Add(path)) throw Busy(full, Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        try
        {
            // A holder removes the file when it is done; whoever opened the old file before that must not
            // count its lock on the removed file, so it takes the lock again on the file now at the path.
            while (true)
            {
                var file = TryLock(path) ?? throw Busy(full, HolderOf(path));
                if (IsRemoved(file))
                {
                    file.Dispose();
                    continue;
                }
                file.SetLength(0);
                file.Write(System.Text.Encoding.ASCII.GetBytes(Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "\n"));
                file.Flush(flushToDisk: false);
                return new OutputLock(path, file, createdFolders);
            }
        }
        catch
        {
            lock (HeldInThisProcess) HeldInThisProcess.Remove(path);
            RemoveIfEmpty(createdFolders);
            throw;
        }
    }

    /// <summary>Removes the lock file, then releases the lock: in that order no other process can lock a file that is gone.</summary>
    public void Dispose()
    {
        File.Delete(Path);
        _file.Dispose();
        _removeOnInterrupt.Dispose();
        lock (HeldInThisProcess) HeldInThisProcess.Remove(Path);
        RemoveIfEmpty(_createdFolders);
    }

    /// <summary>Creates a folder and the missing ones above it; returns those it created, deepest first.</summary>
    private static List<string> CreateFolders(string folder)
    {
        var missing = new List<string>();
        for (var at = folder; !Directory.Exists(at); at = System.IO.Path.GetDirectoryName(at)!) missing.Add(at);
        Directory.CreateDirectory(folder);
        return missing;
    }

    /// <summary>Removes the folders the lock created for an output that never came (a failed first compile), while they are empty.</summary>
    private static void RemoveIfEmpty(IReadOnlyList<string> createdFolders)
    {
        foreach (var folder in createdFolders)
        {
            if (Directory.Exists(folder) && Directory.EnumerateFileSystemEntries(folder).Any()) return;
            try
            {
                Directory.Delete(folder);
            }
            catch (IOException)
            {
                // Something came into it meanwhile: it stays.
            }
        }
    }

    private static OutputFolderException Busy(string folder, string? holder) =>
        new($"{folder} is being written by another mcuformer{(holder is { Length: > 0 } ? $" (process {holder})" : "")}; wait for it to finish or choose another --out");

    /// <returns>the open, locked file; null when another process holds the lock</returns>
    private static FileStream? TryLock(string path)
    {
        if (OperatingSystem.IsLinux() || OperatingSystem.IsWindows())
        {
            // Shared, so that the second writer can read the holder's process id.
            var file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
            try
            {
                file.Lock(0, 1);
                return file;
            }
            catch (IOException)
            {
                file.Dispose();
                return null;
            }
        }
        // Where record locks are not offered, .NET locks a file opened unshared as a whole.
        try
        {
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static string? HolderOf(string path)
    {
        try
        {
            return File.ReadAllText(path).Trim();
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>Whether the locked file is no longer at its path (Linux names a removed file's descriptor "… (deleted)").</summary>
    private static bool IsRemoved(FileStream file)
    {
        var descriptor = $"/proc/self/fd/{file.SafeFileHandle.DangerousGetHandle()}";
        try
        {
            return new FileInfo(descriptor).LinkTarget is { } target && target.EndsWith(" (deleted)", StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
    }
}
