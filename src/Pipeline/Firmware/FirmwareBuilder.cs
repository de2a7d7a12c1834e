using System.Text.RegularExpressions;
using McuFormer.CodeGen.Tools;

namespace McuFormer.Pipeline.Firmware;

/// <summary>Builds a generated project with its Makefile: the firmware with arm-none-eabi-gcc, the host model with cc.</summary>
public static partial class FirmwareBuilder
{
    public const string ArmCompiler = "arm-none-eabi-gcc";
    public const string ArmInstallHint = "install the Debian packages gcc-arm-none-eabi and libnewlib-arm-none-eabi (apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi)";

    public static bool ArmToolchainInstalled => ExternalTool.OnPath(ArmCompiler);

    public static string BuildFirmware(string projectFolder) => Make(projectFolder, "firmware.elf");

    public static string BuildHostModel(string projectFolder) => Make(projectFolder, "host_model");

    private static string Make(string projectFolder, string target)
    {
        var result = ExternalTool.Run("make", ["--no-print-directory", target], projectFolder, TimeSpan.FromMinutes(10),
            "install the Debian package make");
        if (result.ExitCode != 0)
        {
            var overflow = RegionOverflow().Match(result.Output);
            if (overflow.Success)
                throw new FirmwareDoesNotFitException(
                    $"{projectFolder}: {target} does not fit: region {overflow.Groups[1].Value} overflowed by {overflow.Groups[2].Value} bytes");
            var errors = result.Output.Split('\n').Where(l => l.Contains("error:", StringComparison.OrdinalIgnoreCase) || l.Contains("undefined reference")).Take(5);
            throw new HostToolException($"{projectFolder}: building {target} failed: {string.Join(" | ", errors).Trim()}");
        }
        return Path.Combine(projectFolder, target);
    }

    [GeneratedRegex(@"region [`'](\w+)' overflowed by (\d+) bytes?")]
    private static partial Regex RegionOverflow();
}

/// <summary>The model or firmware exceeds a board budget; the message names what and by how many bytes.</summary>
public sealed class FirmwareDoesNotFitException(string message) : Exception(message);
