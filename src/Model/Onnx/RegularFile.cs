namespace McuFormer.Model.Onnx;

/// <summary>
/// Reads the files a model consists of (the model and its external data) so that a hostile name cannot block or
/// exhaust the process: only non-empty regular files are opened (a pipe would block, a device never end), their
/// size is known before a byte is read, and links are resolved to the file they name.
/// </summary>
public static class RegularFile
{
    /// <summary>As many links as realpath(3) follows before it reports a loop.</summary>
    private const int MaxLinks = 40;

    /// <summary>
    /// The path with every symbolic link on it followed, as the operating system would when opening it, and
    /// "." and ".." applied after the link before them: the file that opening <paramref name="path"/> reaches.
    /// </summary>
    /// <exception cref="IOException">the links loop, or there are more than <see cref="MaxLinks"/> of them</exception>
    /// <exception cref="UnauthorizedAccessException">a folder on the path may not be read</exception>
    public static string RealPath(string path)
    {
        var absolute = Path.IsPathRooted(path) ? path : Path.Combine(Directory.GetCurrentDirectory(), path);
        var root = Path.GetPathRoot(absolute)!;
        var remaining = new Stack<string>(Components(absolute[root.Length..]).Reverse());
        var resolved = root;
        int links = 0;
        while (remaining.Count > 0)
        {
            var part = remaining.Pop();
            if (part == ".") continue;
            if (part == "..")
            {
                resolved = Path.GetDirectoryName(resolved) ?? root;
                continue;
            }
            var next = Path.Join(resolved, part);
            if (new FileInfo(next).LinkTarget is not { } target)
            {
                resolved = next;
                continue;
            }
            if (++links > MaxLinks) throw new IOException($"more than {MaxLinks} symbolic links (a loop?) on {path}");
            if (Path.IsPathRooted(target)) resolved = Path.GetPathRoot(target)!;
            foreach (var targetPart in Components(target).Reverse()) remaining.Push(targetPart);
        }
        return resolved;
    }

    /// <summary>True when <paramref name="path"/> (resolved) lies strictly inside <paramref name="folder"/> (resolved).</summary>
    public static bool IsInside(string path, string folder) =>
        path.StartsWith(folder.TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    /// <summary>
    /// The length of a non-empty regular file at a resolved path, or the reason there is none to read. A pipe, a
    /// device and a socket all report length 0, so "empty" is how they are told apart from a file without opening
    /// them (opening a pipe waits for a writer).
    /// </summary>
    public static (long Length, string? Problem) Length(string resolvedPath)
    {
        if (Directory.Exists(resolvedPath)) return (0, "is a folder");
        var info = new FileInfo(resolvedPath);
        if (!info.Exists) return (0, "not found");
        return info.Length == 0 ? (0, "is empty or not a regular file (a pipe, device or socket)") : (info.Length, null);
    }

    /// <summary>Reads <paramref name="length"/> bytes at <paramref name="offset"/>, which the caller has checked against the file's length.</summary>
    /// <exception cref="IOException">the file cannot be read, or is shorter than it was</exception>
    /// <exception cref="UnauthorizedAccessException">the file may not be read</exception>
    public static byte[] Read(string resolvedPath, long offset, int length)
    {
        using var stream = new FileStream(resolvedPath, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
        var bytes = new byte[length];
        stream.Position = offset;
        stream.ReadExactly(bytes);
        return bytes;
    }

    private static IEnumerable<string> Components(string path) =>
        path.Split([Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar], StringSplitOptions.RemoveEmptyEntries);
}
