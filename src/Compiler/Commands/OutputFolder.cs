namespace McuFormer.Compiler.Commands;

/// <summary>The folder a command writes (--out), checked before it calibrates, plans or builds anything.</summary>
public static class OutputFolder
{
    /// <exception cref="OptionException">path is not a path, is a file or lies under one, or the folder it would go in is not writable</exception>
    public static void Require(string path)
    {
        string full;
        try
        {
            full = Path.GetFullPath(path);
        }
        catch (ArgumentException)
        {
            throw new OptionException("--out", $"'{path}' is not a path");
        }
        // The deepest folder that exists already: the output folder itself, or where it will be created.
        var existing = full;
        while (!Directory.Exists(existing))
        {
            if (File.Exists(existing))
                throw new OptionException("--out", existing == full ? $"{path} is a file, not a folder" : $"{path} lies under {existing}, which is a file");
            existing = Path.GetDirectoryName(existing)!;
        }
        try
        {
            using var probe = new FileStream(Path.Combine(existing, $".mcuformer-write-check-{Environment.ProcessId}"), FileMode.CreateNew,
                FileAccess.Write, FileShare.None, bufferSize: 1, FileOptions.DeleteOnClose);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new OptionException("--out", $"cannot write in {existing}: {e.Message}");
        }
    }
}
