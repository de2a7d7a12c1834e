using System.Globalization;
using McuFormer.CodeGen.Tools;

namespace McuFormer.Pipeline.Output;

/// <summary>Files replaced in one step: a reader, or a run that was killed, sees the old file or the new one, never half of one.</summary>
public static class AtomicFile
{
    /// <summary>Has <paramref name="write"/> write a temporary file beside <paramref name="path"/>, then renames it over the path.</summary>
    /// <param name="write">writes the whole file at the path it is given</param>
    public static void Write(string path, Action<string> write)
    {
        var temporary = path + ".partial-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        using var removeOnInterrupt = Interruption.RemoveOnInterrupt(temporary);
        try
        {
            write(temporary);
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    public static void WriteAllText(string path, string text) => Write(path, temporary => File.WriteAllText(temporary, text));
}
