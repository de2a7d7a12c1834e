namespace McuFormer.CodeGen.Tools;

/// <summary>A new folder under the system's temporary folder, removed when disposed or when the process is interrupted.</summary>
public sealed class ScratchFolder : IDisposable
{
    private readonly IDisposable _removeOnInterrupt;

    /// <param name="prefix">the start of the folder's name, saying what it is for (`mcuformer-sim-`)</param>
    public ScratchFolder(string prefix)
    {
        Path = Directory.CreateTempSubdirectory(prefix).FullName;
        _removeOnInterrupt = Interruption.RemoveOnInterrupt(Path);
    }

    public string Path { get; }

    public void Dispose()
    {
        Interruption.Remove(Path);
        _removeOnInterrupt.Dispose();
    }
}
