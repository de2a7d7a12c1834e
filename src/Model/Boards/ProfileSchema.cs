using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace McuFormer.Model.Boards;

/// <summary>
/// The rules a board profile meets (boards/README.md, "Profile schema"), checked when it is loaded.
/// A profile's names, addresses, pins and flags are written into the generated Makefile, CMake
/// project, linker script, -D flags and Renode files unquoted, so each is held to a syntax that
/// none of those files gives a meaning of its own: nothing in a profile can run a command, add a
/// line or name a file outside the project.
/// </summary>
public static partial class ProfileSchema
{
    /// <summary>Renode runs the core at whole MIPS (clock_hz / 10^6), which must not be 0.</summary>
    public const long MinClockHz = 1_000_000;

    /// <summary>The firmware reads BOARD_CLOCK_HZ as a uint32_t tick rate.</summary>
    public const long MaxClockHz = uint.MaxValue;

    /// <summary>Cortex-M addresses are 32 bits: every region ends at or below 2^32.</summary>
    public const long AddressSpaceBytes = 1L << 32;

    /// <summary>Pins of STM32 parts: port A to K, pin 0 to 15; alternate functions 0 to 15.</summary>
    public const int MaxAlternateFunction = 15;

    public static readonly IReadOnlyList<string> Cpus = ["cortex-m7", "cortex-m4"];
    public static readonly IReadOnlyList<string> ConsoleDrivers = ["cmsdk-apb-uart", "stm32f7-usart", "stm32f4-usart"];
    public static readonly IReadOnlyList<string> SimulatorKinds = ["qemu", "renode"];
    public static readonly IReadOnlyList<string> ExternalKinds = ["flash", "ram"];

    /// <summary>
    /// The rules of values; BoardProfile.Load has already refused unknown, repeated and missing keys,
    /// values of the wrong type and nulls where the schema has none (a null inside a list excepted).
    /// </summary>
    /// <exception cref="BoardException">"PATH: FIELD: what is wrong", for the first rule the profile breaks</exception>
    public static void Check(BoardProfile profile, string path)
    {
        void Require([DoesNotReturnIf(false)] bool holds, string field, string problem)
        {
            if (!holds) throw new BoardException($"{path}: {field}: {problem}");
        }
        void Matches(string? value, Regex syntax, string field, string what) =>
            Require(value is not null && syntax.IsMatch(value), field, $"{Quoted(value)} is not {what}");
        void Text(string? value, string field) =>
            Require(value is null || !value.Any(c => char.IsControl(c) || c is '\u2028' or '\u2029'), field, "must be one line without control characters");
        void OneOf(string? value, IReadOnlyList<string> allowed, string field) =>
            Require(value is not null && allowed.Contains(value), field, $"{Quoted(value)} is not one of {string.Join(", ", allowed.Select(a => $"\"{a}\""))}");
        void InRange(long value, long min, long max, string field) =>
            Require(value >= min && value <= max, field, $"{value} is not between {min} and {max}");

        Matches(profile.Name, BoardName(), "name", "a board name (a letter or digit, then letters, digits, '-' and '_', at most 64)");
        Text(profile.Description, "description");
        Text(profile.Mcu, "mcu");
        Text(profile.Notes, "notes");
        OneOf(profile.Cpu, Cpus, "cpu");
        Require(profile.CompileFlags is { Count: > 0 }, "compile_flags", "must list the core's flags (-mcpu=..., -mthumb, ...)");
        for (int i = 0; i < profile.CompileFlags.Count; i++)
        {
            var flag = profile.CompileFlags[i];
            Matches(flag, CompileFlag(), $"compile_flags[{i}]", "a flag of the form -mNAME[=VALUE], -fNAME[=VALUE] or -DNAME[=VALUE] (letters, digits, '_', '.', '+', '-')");
            Require(!flag.StartsWith("-fplugin", StringComparison.Ordinal), $"compile_flags[{i}]", $"{Quoted(flag)} loads code into the compiler");
        }
        InRange(profile.ClockHz, MinClockHz, MaxClockHz, "clock_hz");
        if (profile.Hse is { } hse) InRange(hse.Hz, 1, MaxClockHz, "hse.hz");

        var regions = new List<(string Field, MemoryRegion Region)>();
        void Region(MemoryRegion? region, string field)
        {
            Require(region is not null, field, "must be an object with name, origin and size");
            Matches(region.Name, RegionName(), field + ".name", "a linker region name (a letter or '_', then letters, digits and '_', at most 32)");
            Matches(region.OriginText, Address(), field + ".origin", "an address (\"0x\" and 1 to 8 hex digits)");
            InRange(region.Size, 1, AddressSpaceBytes - region.Origin, field + ".size");
            Text(region.Notes, field + ".notes");
            var clash = regions.FirstOrDefault(r => string.Equals(r.Region.Name, region.Name, StringComparison.OrdinalIgnoreCase));
            Require(clash.Region is null, field + ".name", $"\"{region.Name}\" is also the name of {clash.Field} (region names differ in more than case)");
            var overlap = regions.FirstOrDefault(r => r.Region.Origin < region.Origin + region.Size && region.Origin < r.Region.Origin + r.Region.Size);
            Require(overlap.Region is null, field, $"{region.Name} ({region.OriginText}, {region.Size} bytes) overlaps {overlap.Field} ({overlap.Region?.Name})");
            regions.Add((field, region));
        }
        Region(profile.Flash, "flash");
        Require(profile.Ram is { Count: > 0 }, "ram", "must list at least one RAM region");
        for (int i = 0; i < profile.Ram.Count; i++) Region(profile.Ram[i], $"ram[{i}]");
        var external = profile.External;
        for (int i = 0; i < external.Count; i++)
        {
            var field = $"external[{i}]";
            Region(external[i], field);
            OneOf(external[i].Kind, ExternalKinds, field + ".kind");
            if (external[i].Device is { } device) Matches(device, Word(), field + ".device", "a part name (letters, digits and '_')");
            foreach (var (signal, value) in external[i].Pins ?? new Dictionary<string, JsonElement>())
            {
                Matches(signal, Signal(), $"{field}.pins", "a signal name (a lower-case letter, then lower-case letters, digits and '_')");
                Require(value.ValueKind == JsonValueKind.String ? Pin().IsMatch(value.GetString()!)
                        : value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out int af) && af is >= 0 and <= MaxAlternateFunction,
                    $"{field}.pins.{signal}", $"{value.GetRawText()} is neither a pin like \"PB2\" nor an alternate function 0 to {MaxAlternateFunction}");
            }
        }

        var ramNames = profile.Ram.Select(r => r.Name).ToList();
        var layout = profile.Layout;
        OneOf(layout.DataRegion, ramNames, "layout.data_region");
        OneOf(layout.StackRegion, ramNames, "layout.stack_region");
        long stackRegionBytes = profile.RamRegion(layout.StackRegion).Size, dataRegionBytes = profile.RamRegion(layout.DataRegion).Size;
        InRange(layout.StackSize, 8, stackRegionBytes, "layout.stack_size");
        Require(layout.StackSize % 8 == 0, "layout.stack_size", $"{layout.StackSize} is not a multiple of 8 (the stack pointer's alignment)");
        long besideReserve = layout.DataRegion == layout.StackRegion ? layout.StackSize : 0;
        InRange(layout.DataReserve, 0, dataRegionBytes - besideReserve, "layout.data_reserve");
        InRange(layout.CodeReserve, 0, profile.Flash.Size, "layout.code_reserve");
        Require(layout.ArenaRegions is { Count: > 0 }, "layout.arena_regions", "must name at least one RAM region");
        for (int i = 0; i < layout.ArenaRegions.Count; i++)
        {
            OneOf(layout.ArenaRegions[i], ramNames, $"layout.arena_regions[{i}]");
            Require(!layout.ArenaRegions.Take(i).Contains(layout.ArenaRegions[i]), $"layout.arena_regions[{i}]", $"\"{layout.ArenaRegions[i]}\" is listed twice");
        }

        var console = profile.Console;
        OneOf(console.Driver, ConsoleDrivers, "console.driver");
        if (console.Instance is { } instance) Matches(instance, Word(), "console.instance", "a peripheral name (letters, digits and '_')");
        Matches(console.Base, Address(), "console.base", "an address (\"0x\" and 1 to 8 hex digits)");
        InRange(console.Baud, 1, profile.ClockHz, "console.baud");
        if (console.Tx is { } tx) Matches(tx, Pin(), "console.tx", "a pin like \"PA9\" (port A to K, pin 0 to 15)");
        if (console.Rx is { } rx) Matches(rx, Pin(), "console.rx", "a pin like \"PB7\" (port A to K, pin 0 to 15)");
        if (console.Af is { } consoleAf) InRange(consoleAf, 0, MaxAlternateFunction, "console.af");

        Matches(profile.Platform, Word(), "platform", "a platform name (letters, digits and '_'; boards/platforms/<platform>.c)");
        if (profile.Simulator is { } simulator)
        {
            OneOf(simulator.Kind, SimulatorKinds, "simulator.kind");
            Require(simulator.Kind != "qemu" || simulator.Machine is not null, "simulator.machine", "a QEMU simulator needs its machine (-M)");
            if (simulator.Machine is { } machine)
                Matches(machine, Machine(), "simulator.machine", "a machine name or a relative path (letters, digits, '_', '-', '.' and '/', no '..')");
        }
        if (profile.Simulates is { } simulates) Matches(simulates, BoardName(), "simulates", "a board name");
    }

    /// <summary>"FIELD: what is wrong (line N)" for a profile that is not JSON of the schema's shape.</summary>
    public static string Describe(JsonException e)
    {
        var field = (e.Path ?? "$").TrimStart('$').TrimStart('.');
        var message = e.Message;
        string problem;
        if (MissingKeys().Match(message) is { Success: true } missing)
        {
            field = field.Length == 0 ? missing.Groups["key"].Value : $"{field}.{missing.Groups["key"].Value}";
            problem = "is missing";
        }
        else if (message.Contains("doesn't allow setting null values", StringComparison.Ordinal)) problem = "must not be null";
        else if (message.Contains("could not be mapped to any .NET member", StringComparison.Ordinal)) problem = "is not a key of a board profile";
        else if (ConvertedTo().Match(message) is { Success: true } converted)
            problem = converted.Groups["type"].Value switch
            {
                "System.Int64" => "must be a whole number",
                "System.Int32" or "System.Nullable`1[System.Int32]" => $"must be a whole number up to {int.MaxValue}",
                "System.String" => "must be a string",
                "System.Boolean" => "must be true or false",
                var type when type.StartsWith("System.Collections.Generic.IReadOnlyList", StringComparison.Ordinal) => "must be a list",
                _ => "has the wrong type",
            };
        else
        {
            int details = message.IndexOf(" Path: ", StringComparison.Ordinal);
            problem = (details < 0 ? message : message[..details]).TrimEnd('.');
        }
        if (field.Length == 0) field = "(the file)";
        return e.LineNumber is { } line ? $"{field}: {problem} (line {line + 1})" : $"{field}: {problem}";
    }

    /// <summary>A profile address ("0x40011000") as a number.</summary>
    public static long ParseAddress(string text) =>
        long.Parse(text.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? text[2..] : text, NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    /// <summary>A value as the message shows it: quoted, and short, with control characters escaped.</summary>
    private static string Quoted(string? value) => value is null ? "null" : JsonSerializer.Serialize(value.Length <= 60 ? value : value[..57] + "...", ReadableStrings);

    private static readonly JsonSerializerOptions ReadableStrings = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    [GeneratedRegex(@"missing required properties including: '(?<key>[^']+)'")]
    private static partial Regex MissingKeys();

    [GeneratedRegex(@"could not be converted to (?<type>\S+?)\.? Path:")]
    private static partial Regex ConvertedTo();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]
    private static partial Regex BoardName();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,31}$")]
    private static partial Regex RegionName();

    [GeneratedRegex("^[A-Za-z0-9_]{1,32}$")]
    private static partial Regex Word();

    [GeneratedRegex("^[a-z][a-z0-9_]{0,31}$")]
    private static partial Regex Signal();

    [GeneratedRegex("^0x[0-9A-Fa-f]{1,8}$")]
    private static partial Regex Address();

    [GeneratedRegex("^P[A-K](1[0-5]|[0-9])$")]
    private static partial Regex Pin();

    [GeneratedRegex("^(-[mf][a-z0-9][a-z0-9_.+=-]*|-D[A-Za-z_][A-Za-z0-9_]*(=[A-Za-z0-9_.+-]*)?)$")]
    private static partial Regex CompileFlag();

    [GeneratedRegex(@"^(?!.*(^|/)\.\.(/|$))[A-Za-z0-9][A-Za-z0-9_./-]{0,127}$")]
    private static partial Regex Machine();
}
