using System.Text.Json;

namespace McuFormer.Pipeline;

/// <summary>How the JSON files and --json outputs are written.</summary>
public static class OutputJson
{
    public static readonly JsonSerializerOptions Options = new() { WriteIndented = true };

    /// <summary>A path as a file written in folder holds it: relative to that folder, so the folder can move with what it points to.</summary>
    public static string RelativePath(string folder, string path) => Path.GetRelativePath(Path.GetFullPath(folder), Path.GetFullPath(path));
}
