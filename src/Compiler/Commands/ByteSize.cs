using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.RegularExpressions;

namespace McuFormer.Compiler.Commands;

/// <summary>Sizes as users write them on the command line: 98304, 96KB, 96K, 1MB, 1.5 MiB (binary units).</summary>
public static partial class ByteSize
{
    /// <param name="problem">why text is not a size, when it is not</param>
    public static bool TryParse(string text, out long bytes, [NotNullWhen(false)] out string? problem)
    {
        bytes = 0;
        var match = SizePattern().Match(text.Trim());
        if (!match.Success)
        {
            problem = $"'{text}' is not a size; write e.g. 98304, 96KB or 1MB";
            return false;
        }
        long? unit = match.Groups["unit"].Value.ToUpperInvariant() switch
        {
            "" or "B" => 1,
            "K" or "KB" or "KIB" => 1024,
            "M" or "MB" or "MIB" => 1024 * 1024,
            _ => null,
        };
        if (unit is null)
        {
            problem = $"unknown unit '{match.Groups["unit"].Value}' in '{text}'";
            return false;
        }
        double value = Math.Round(double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture) * unit.Value);
        // Below 2^53 every whole double converts to long exactly; no budget comes near it.
        if (value is < 1 or > 1L << 53)
        {
            problem = $"'{text}' is not a size from 1 byte to {1L << 53} bytes";
            return false;
        }
        bytes = (long)value;
        problem = null;
        return true;
    }

    [GeneratedRegex(@"^(?<value>\d+(\.\d+)?)\s*(?<unit>[A-Za-z]*)$")]
    private static partial Regex SizePattern();
}
