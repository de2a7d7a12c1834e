using System.Text.RegularExpressions;

namespace McuFormer.Compiler.Board;

/// <summary>Turns a failed st-flash or OpenOCD run into one line that says what to do.</summary>
public static partial class FlashDiagnosis
{
    public const string NoProbeMessage =
        "no ST-LINK found: connect the board's ST-LINK USB port (the one marked ST-LINK or USB ST-LINK) and try again";

    public const string NoPermissionMessage =
        "the ST-LINK is there but this user may not open it: install the udev rules that come with stlink-tools or openocd, or run as root";

    public static bool FoundNoProbe(string output) => NoProbe().IsMatch(output);

    /// <summary>The one-line reason for a failed run, from everything the tool printed.</summary>
    public static string Explain(ToolCommand command, int exitCode, string output)
    {
        // A probe this user may not open also ends in "open failed", so permission is asked first.
        if (NoPermission().IsMatch(output)) return NoPermissionMessage;
        if (NoProbe().IsMatch(output)) return NoProbeMessage;
        var lastError = output.Split('\n').Select(l => l.Trim())
            .LastOrDefault(l => l.Contains("error", StringComparison.OrdinalIgnoreCase) || l.Contains("failed", StringComparison.OrdinalIgnoreCase));
        return $"{command.Program} failed (exit status {exitCode}){(lastError is null ? "" : ": " + lastError)}";
    }

    // st-flash 1.5–1.8 ("Couldn't find any ST-Link devices", "Found 0 stlink programmers"); OpenOCD
    // with an ST-LINK interface ("open failed") or a CMSIS-DAP one ("unable to find a matching ...").
    [GeneratedRegex(@"Couldn't find any ST-Link|Found 0 stlink programmers|Error: open failed|unable to find a matching CMSIS-DAP device",
        RegexOptions.IgnoreCase)]
    private static partial Regex NoProbe();

    [GeneratedRegex(@"LIBUSB_ERROR_ACCESS|access error|Permission denied", RegexOptions.IgnoreCase)]
    private static partial Regex NoPermission();
}
