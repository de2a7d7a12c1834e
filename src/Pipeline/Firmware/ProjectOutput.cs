using System.Security.Cryptography;
using System.Text.Json;
using McuFormer.CodeGen;
using McuFormer.Model.Json;
using McuFormer.Pipeline.Output;

namespace McuFormer.Pipeline.Firmware;

/// <summary>
/// The folder `compile` writes a project into. Everything is written and built in a staging folder
/// beside it under the folder's lock, and put in its place whole by <see cref="Commit"/>.
/// mcuformer.json lists every file compile wrote with its SHA-256. A recompile replaces those files
/// while they are unchanged, and the build's outputs whatever they hold; it keeps every other file
/// (notes, a CMake build folder) in place, and refuses to start when a file it wrote was edited or
/// when a kept file is where the new project puts one of its own, so that nothing of the user's is lost.
/// </summary>
public sealed class ProjectOutput : IDisposable
{
    private readonly OutputLock _lock;
    private readonly StagedFolder _staging;

    private ProjectOutput(OutputLock outputLock, StagedFolder staging)
    {
        _lock = outputLock;
        _staging = staging;
    }

    /// <summary>The project folder.</summary>
    public string Folder => _staging.Target;

    /// <summary>Where everything is written until <see cref="Commit"/>.</summary>
    public string Staging => _staging.Path;

    /// <summary>Takes the folder's lock and checks that the folder is new, empty, or a project whose files compile may replace.</summary>
    /// <exception cref="OutputFolderException">another mcuformer writes the folder, or it holds files of the user's that compile would lose</exception>
    public static ProjectOutput Open(string folder)
    {
        var outputLock = OutputLock.Acquire(folder);
        try
        {
            var full = Path.GetFullPath(folder).TrimEnd(Path.DirectorySeparatorChar);
            StagedFolder.RecoverAbandoned(full);
            // Refused before the work rather than after it; Commit checks again, the user may edit meanwhile.
            EntriesToKeep(full);
            return new ProjectOutput(outputLock, new StagedFolder(full));
        }
        catch
        {
            outputLock.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Writes mcuformer.json (the manifest and every staged file's hash) into the staging folder, copies
    /// the files of the user's that the folder holds into it, and puts it in the folder's place.
    /// </summary>
    /// <exception cref="OutputFolderException">a file compile wrote was edited meanwhile, or one of the user's is in the new project's way</exception>
    public void Commit(ProjectManifest manifest)
    {
        var kept = EntriesToKeep(Folder);
        var files = Entries(Staging).Where(e => e.Kind == EntryKind.File)
            .ToDictionary(e => e.Path, e => Hash(Path.Combine(Staging, e.Path)), StringComparer.Ordinal);
        var inTheWay = kept.Where(k => Occupied(Staging, k)).Select(k => k.Path).ToList();
        if (inTheWay.Count > 0)
            throw new OutputFolderException($"{Folder}: {Names(inTheWay)} {(inTheWay.Count == 1 ? "is" : "are")} not mcuformer's, but the new project writes "
                + "files of those names; move them out of the folder, or choose another --out");
        var sorted = new SortedDictionary<string, string>(files, StringComparer.Ordinal);
        File.WriteAllText(Path.Combine(Staging, ProjectWriter.ManifestName), JsonSerializer.Serialize(manifest with { Files = sorted }, JsonFiles.Options));
        foreach (var entry in kept) CopyInto(Staging, Folder, entry);
        _staging.Commit();
    }

    public void Dispose()
    {
        _staging.Dispose();
        _lock.Dispose();
    }

    private enum EntryKind { File, Folder, Link }

    /// <param name="Path">relative to the folder, with '/' between names</param>
    private sealed record Entry(string Path, EntryKind Kind);

    /// <summary>
    /// The entries of an existing project folder that are the user's, to keep; throws when the folder is
    /// not a project, or when files compile wrote there were edited.
    /// </summary>
    private static List<Entry> EntriesToKeep(string folder)
    {
        if (File.Exists(folder)) throw new OutputFolderException($"{folder} is a file; choose another --out");
        if (!Directory.Exists(folder) || !Directory.EnumerateFileSystemEntries(folder).Any()) return [];
        var manifestPath = Path.Combine(folder, ProjectWriter.ManifestName);
        if (!File.Exists(manifestPath))
            throw new OutputFolderException($"{folder} exists and is not an mcuformer project; choose another --out");
        var written = ReadWrittenFiles(manifestPath);
        var kept = new List<Entry>();
        var edited = new List<string>();
        foreach (var entry in Entries(folder))
        {
            if (entry.Path == ProjectWriter.ManifestName || FirmwareBuilder.IsBuildOutput(entry.Path)) continue;
            if (written.TryGetValue(entry.Path, out var hash))
            {
                if (entry.Kind != EntryKind.File || Hash(Path.Combine(folder, entry.Path)) != hash) edited.Add(entry.Path);
            }
            else if (entry.Kind != EntryKind.Folder || !HoldsAny(entry.Path, written.Keys))
            {
                kept.Add(entry);
            }
        }
        if (edited.Count > 0)
            throw new OutputFolderException($"{folder}: {Names(edited)} changed since mcuformer wrote {(edited.Count == 1 ? "it" : "them")}; "
                + "move your version out of the folder (compile writes the file again), or choose another --out");
        return kept;
    }

    private static IReadOnlyDictionary<string, string> ReadWrittenFiles(string manifestPath)
    {
        ProjectManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<ProjectManifest>(File.ReadAllText(manifestPath), JsonFiles.Options);
        }
        catch (JsonException e)
        {
            throw new OutputFolderException($"{manifestPath}: unreadable manifest ({e.Message}); move your files out and delete the folder, or choose another --out");
        }
        return manifest?.Files ?? throw new OutputFolderException(
            $"{manifestPath} does not list the files mcuformer wrote (an older mcuformer wrote it), so they cannot be told from yours; "
            + "move your files out and delete the folder, or choose another --out");
    }

    /// <summary>Every file, folder and link under folder, parents before their contents, in ordinal order; links are not followed.</summary>
    private static List<Entry> Entries(string folder)
    {
        var entries = new List<Entry>();
        void Walk(string relative)
        {
            var options = new EnumerationOptions { AttributesToSkip = 0, RecurseSubdirectories = false };
            foreach (var path in Directory.EnumerateFileSystemEntries(Path.Combine(folder, relative), "*", options).Order(StringComparer.Ordinal))
            {
                var name = relative.Length == 0 ? Path.GetFileName(path) : relative + "/" + Path.GetFileName(path);
                var info = new FileInfo(path);
                if (info.LinkTarget is not null) entries.Add(new Entry(name, EntryKind.Link));
                else if (Directory.Exists(path))
                {
                    entries.Add(new Entry(name, EntryKind.Folder));
                    Walk(name);
                }
                else entries.Add(new Entry(name, EntryKind.File));
            }
        }
        Walk("");
        return entries;
    }

    /// <summary>Whether a folder of the old project holds any file compile wrote (it is then no folder of the user's).</summary>
    private static bool HoldsAny(string folder, IEnumerable<string> written) => written.Any(w => w.StartsWith(folder + "/", StringComparison.Ordinal));

    /// <summary>Whether the new project has a file or link where a kept entry goes or on its way there, or a folder where a kept file goes.</summary>
    private static bool Occupied(string staging, Entry entry)
    {
        var parts = entry.Path.Split('/');
        for (int i = 1; i <= parts.Length; i++)
        {
            var path = Path.Combine([staging, .. parts[..i]]);
            if (File.Exists(path) || new FileInfo(path).LinkTarget is not null) return true;
            if (i == parts.Length && Directory.Exists(path)) return entry.Kind != EntryKind.Folder;
        }
        return false;
    }

    private static void CopyInto(string staging, string folder, Entry entry)
    {
        var from = Path.Combine(folder, entry.Path);
        var to = Path.Combine(staging, entry.Path);
        switch (entry.Kind)
        {
            case EntryKind.Folder:
                Directory.CreateDirectory(to);
                break;
            case EntryKind.Link:
                Directory.CreateDirectory(Path.GetDirectoryName(to)!);
                File.CreateSymbolicLink(to, new FileInfo(from).LinkTarget!);
                break;
            default:
                Directory.CreateDirectory(Path.GetDirectoryName(to)!);
                File.Copy(from, to);
                File.SetLastWriteTimeUtc(to, File.GetLastWriteTimeUtc(from));
                break;
        }
    }

    private static string Hash(string path)
    {
        using var file = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(file));
    }

    private static string Names(IReadOnlyList<string> paths) =>
        string.Join(", ", paths.Take(5)) + (paths.Count > 5 ? $" and {paths.Count - 5} more" : "");
}
