using System.ComponentModel;
using System.Diagnostics;
using System.Text;
using McuFormer.CodeGen.Tools;

namespace McuFormer.CodeGen.NanoFramework;

/// <summary>The built shim, or why it could not be built (one line).</summary>
public sealed record ShimBuildResult(InteropAssembly? Assembly, string? Failure);

/// <summary>
/// Builds the generated nanoFramework class library with `dotnet build` in a scratch folder and reads
/// the DLL's metadata: the native checksum can only come from the assembly the compiler produced.
/// </summary>
public static class ShimBuild
{
    /// <summary>A cold restore of nanoFramework.CoreLibrary plus the build stays well inside this.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromMinutes(5);

    /// <param name="projectFiles">the shim's files, relative path → text, the .csproj among them</param>
    public static ShimBuildResult Run(IReadOnlyList<(string Path, string Text)> projectFiles, string assemblyName)
    {
        using var scratch = new ScratchFolder("mcuformer-nanoframework-");
        foreach (var (path, text) in projectFiles)
        {
            var full = Path.Combine(scratch.Path, path);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllText(full, text);
        }
        var project = projectFiles.Single(f => f.Path.EndsWith(".csproj", StringComparison.Ordinal)).Path;
        var output = Path.Combine(scratch.Path, "out");
        // Build servers would outlive `mcuformer compile`; a one-off build does not need them.
        var (exitCode, log) = Dotnet(scratch.Path, ["build", project, "-c", "Release", "-o", output, "-nologo", "-v:q", "--disable-build-servers"]);
        if (exitCode != 0) return new ShimBuildResult(null, FirstError(log) ?? $"dotnet build exited with {exitCode}");
        return new ShimBuildResult(InteropAssembly.Read(Path.Combine(output, assemblyName + ".dll")), null);
    }

    private static (int ExitCode, string Log) Dotnet(string workingDirectory, IEnumerable<string> arguments)
    {
        ExternalTool.Result result;
        try
        {
            result = ExternalTool.Run("dotnet", arguments, workingDirectory, Timeout, "install the .NET SDK",
                new Dictionary<string, string> { ["DOTNET_NOLOGO"] = "1", ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1" });
        }
        catch (HostToolException)
        {
            return (-1, "error: the dotnet command is not on PATH");
        }
        return result.TimedOut ? (-1, $"error: dotnet build did not finish in {Timeout.TotalMinutes} minutes") : (result.ExitCode, result.Output);
    }

    /// <summary>The first error of a build log, without MSBuild's file prefix and project suffix.</summary>
    private static string? FirstError(string log)
    {
        var line = log.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.Contains("error", StringComparison.OrdinalIgnoreCase));
        if (line is null) return null;
        int code = line.IndexOf(": error ", StringComparison.Ordinal);
        if (code >= 0) line = line[(code + 2)..];
        int project = line.LastIndexOf(" [", StringComparison.Ordinal);
        return project > 0 && line.EndsWith(']') ? line[..project] : line;
    }
}
