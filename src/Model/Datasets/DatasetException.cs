namespace McuFormer.Model.Datasets;

/// <summary>
/// A dataset file or folder cannot be loaded. The message is one line of the form
/// "<c>path: problem</c>" so a command-line tool can print it as is.
/// </summary>
public sealed class DatasetException : Exception
{
    public DatasetException(string path, string problem)
        : base(FormatMessage(path, problem))
    {
        Path = path;
    }

    public DatasetException(string path, string problem, Exception innerException)
        : base(FormatMessage(path, problem), innerException)
    {
        Path = path;
    }

    /// <summary>The file or folder the problem was found in.</summary>
    public string Path { get; }

    // Problems sometimes quote messages of IO or decoder exceptions, which may span lines.
    private static string FormatMessage(string path, string problem) =>
        $"{path}: {problem.ReplaceLineEndings(" ").Trim()}";
}
