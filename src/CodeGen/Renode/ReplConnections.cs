using System.Text.RegularExpressions;

namespace McuFormer.CodeGen.Renode;

/// <summary>
/// The GPIO connections of a Renode platform description (.repl): lines "[Source] -> target@n"
/// under a peripheral. Without a source name Renode takes the peripheral's default interrupt; a
/// peripheral with more than one GPIO output has none, and Renode 1.15 refuses to load the
/// platform ("Ambiguous choice of default interrupt", error E15). Checked here, so the emitted
/// platform needs no Renode to be known to load.
/// </summary>
public static partial class ReplConnections
{
    /// <summary>
    /// The GPIO outputs of the Renode peripheral types mcuformer emits. A type not listed counts as
    /// having several, so that a new peripheral must name its source until it is added here.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, IReadOnlyList<string>> GpioOutputs = new Dictionary<string, IReadOnlyList<string>>
    {
        ["IRQControllers.NVIC"] = ["IRQ"],
        ["UART.STM32F7_USART"] = ["IRQ", "ReceiveDmaRequest"],
    };

    /// <param name="Peripheral">the peripheral the connection is written under</param>
    /// <param name="Source">the GPIO output's name, or null when the line names none</param>
    public sealed record Connection(int Line, string Peripheral, string Type, string? Source, string Target);

    public static IReadOnlyList<Connection> Parse(string repl)
    {
        var connections = new List<Connection>();
        string? peripheral = null, type = null;
        bool inScript = false;
        var lines = repl.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            var line = lines[i].TrimEnd('\r');
            if (inScript)
            {
                inScript = !line.TrimStart().StartsWith("'''", StringComparison.Ordinal);
                continue;
            }
            if (line.TrimEnd().EndsWith("'''", StringComparison.Ordinal)) inScript = true;
            if (Entry().Match(line) is { Success: true } entry)
                (peripheral, type) = (entry.Groups["name"].Value, entry.Groups["type"].Value);
            else if (Gpio().Match(line) is { Success: true } gpio && peripheral is not null)
                connections.Add(new Connection(i + 1, peripheral, type!, gpio.Groups["source"].Success ? gpio.Groups["source"].Value : null,
                    gpio.Groups["target"].Value));
        }
        return connections;
    }

    /// <summary>One message per connection that names no source on a peripheral with several (or unknown) GPIO outputs.</summary>
    public static IReadOnlyList<string> Ambiguous(string repl) =>
        Parse(repl).Where(c => c.Source is null && !(GpioOutputs.TryGetValue(c.Type, out var outputs) && outputs.Count == 1))
            .Select(c => $"line {c.Line}: '-> {c.Target}' under {c.Peripheral} ({c.Type}) names no GPIO output; Renode cannot choose among "
                + (GpioOutputs.TryGetValue(c.Type, out var outputs) ? string.Join(", ", outputs) : "the outputs of a type mcuformer does not know"))
            .ToList();

    [GeneratedRegex(@"^(?<name>\w+): (?<type>[\w.]+) @ ")]
    private static partial Regex Entry();

    [GeneratedRegex(@"^\s+(?:(?<source>\w+)\s+)?->\s*(?<target>\S+)\s*$")]
    private static partial Regex Gpio();
}
