namespace McuFormer.Pipeline;

/// <summary>Paths in the JSON files mcuformer writes.</summary>
public static class OutputJson
{
    /// <summary>A path as a file written in folder holds it: relative to that folder, so the folder can move with what it points to.</summary>
    public static string RelativePath(string folder, string path) => Path.GetRelativePath(Path.GetFullPath(folder), Path.GetFullPath(path));
}
