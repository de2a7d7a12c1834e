using System.Text.RegularExpressions;
using McuFormer.CodeGen.Tools;

namespace McuFormer.Pipeline.Firmware;

/// <summary>Builds a generated project with its Makefile: the firmware with arm-none-eabi-gcc, the host model with cc.</summary>
public static partial class FirmwareBuilder
{
    public const string ArmCompiler = "arm-none-eabi-gcc";
    public const string ArmInstallHint = "install the Debian packages gcc-arm-none-eabi and libnewlib-arm-none-eabi (apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi)";

    public static bool ArmToolchainInstalled => ExternalTool.OnPath(ArmCompiler);

    /// <summary>
    /// What the Makefile builds (its clean rule removes these) and `flash` converts firmware.elf to:
    /// mcuformer's whatever they hold, since any build of the project may change them.
    /// </summary>
    private static readonly string[] BuildOutputs = ["firmware.elf", "firmware.map", "host_model", "firmware.bin"];

    /// <summary>The Makefile's folder of object files.</summary>
    private const string ObjectFolder = "obj";

    /// <param name="relativePath">a path in the project folder, '/' between names</param>
    public static bool IsBuildOutput(string relativePath) =>
        BuildOutputs.Contains(relativePath) || relativePath == ObjectFolder || relativePath.StartsWith(ObjectFolder + "/", StringComparison.Ordinal);

    /// <param name="buildFolder">where the project's files are now (its staging folder)</param>
    /// <param name="project">the project folder, as errors name it</param>
    public static string BuildFirmware(string buildFolder, string project) => Make(buildFolder, project, "firmware.elf");

    public static string BuildHostModel(string projectFolder) => Make(projectFolder, projectFolder, "host_model");

    private static string Make(string buildFolder, string project, string target)
    {
        var result = ExternalTool.Run("make", ["--no-print-directory", $"-j{Environment.ProcessorCount}", target], buildFolder, TimeSpan.FromMinutes(10),
            "install the Debian package make");
        if (result.ExitCode != 0)
        {
            var overflow = RegionOverflow().Match(result.Output);
            if (overflow.Success)
                throw new FirmwareDoesNotFitException(
                    $"{project}: {target} does not fit: region {overflow.Groups[1].Value} overflowed by {overflow.Groups[2].Value} bytes");
            var errors = result.Output.Split('\n').Where(l => l.Contains("error:", StringComparison.OrdinalIgnoreCase) || l.Contains("undefined reference")).Take(5);
            throw new HostToolException($"{project}: building {target} failed: {string.Join(" | ", errors).Trim()}");
        }
        return Path.Combine(buildFolder, target);
    }

    [GeneratedRegex(@"region [`'](\w+)' overflowed by (\d+) bytes?")]
    private static partial Regex RegionOverflow();
}

/// <summary>The model or firmware exceeds a board budget; the message names what and by how many bytes.</summary>
public sealed class FirmwareDoesNotFitException(string message) : Exception(message);
