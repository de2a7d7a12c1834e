using System.Globalization;
using System.Text.RegularExpressions;
using McuFormer.Pipeline;

namespace McuFormer.Compiler.Commands;

/// <summary>Sizes as users write them on the command line: 98304, 96KB, 96K, 1MB, 1.5 MiB (binary units).</summary>
public static partial class ByteSize
{
    public static long Parse(string text, string option)
    {
        var match = SizePattern().Match(text.Trim());
        if (!match.Success)
            throw new SearchInputException(option, $"'{text}' is not a size; write e.g. 98304, 96KB or 1MB");
        double value = double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture);
        long unit = match.Groups["unit"].Value.ToUpperInvariant() switch
        {
            "" or "B" => 1,
            "K" or "KB" or "KIB" => 1024,
            "M" or "MB" or "MIB" => 1024 * 1024,
            var other => throw new SearchInputException(option, $"unknown unit '{other}' in '{text}'"),
        };
        return (long)Math.Round(value * unit);
    }

    [GeneratedRegex(@"^(?<value>\d+(\.\d+)?)\s*(?<unit>[A-Za-z]*)$")]
    private static partial Regex SizePattern();
}
