using System.Text.Json;
using System.Text.Json.Serialization;
using McuFormer.Model.Json;

namespace McuFormer.Model.Boards;

/// <summary>A memory region of a board: internal RAM bank, internal flash, or external memory.</summary>
/// <param name="Device">for external memory, the part on the board (its platform driver is chosen by this)</param>
/// <param name="Pins">for external memory, its controller's pins ("PB2") and alternate functions (9), by signal name</param>
public sealed record MemoryRegion(
    string Name,
    [property: JsonPropertyName("origin")] string OriginText,
    long Size,
    string? Kind = null,
    string? Notes = null,
    string? Device = null,
    IReadOnlyDictionary<string, JsonElement>? Pins = null)
{
    [JsonIgnore]
    public long Origin => ProfileSchema.ParseAddress(OriginText);
}

public sealed record ConsoleInfo(
    string Driver,
    string? Instance,
    string Base,
    int Baud,
    string? Tx,
    string? Rx,
    int? Af);

/// <summary>The board's external oscillator, for clock trees that start from it.</summary>
public sealed record OscillatorInfo(
    long Hz,
    bool Bypass);

/// <summary>Placement of the firmware's RAM sections, by RAM region name.</summary>
/// <param name="DataReserve">bytes kept free in the data region for .data and .bss (the runtime's and the harness's)</param>
/// <param name="ArenaRegions">the RAM regions activations may occupy, fastest first: the first takes the hottest buffers</param>
/// <param name="CodeReserve">bytes of internal flash kept for code and the runtime's own constants (vectors, kernels, harness; the embedded test samples are counted apart)</param>
public sealed record LayoutInfo(
    string DataRegion,
    string StackRegion,
    int StackSize,
    int DataReserve,
    int CodeReserve,
    IReadOnlyList<string> ArenaRegions)
{
    /// <summary>The linker output section of a region's arena (see boards/common/cortexm.ld.template).</summary>
    public static string ArenaSection(string region) => ".arena_" + region.ToLowerInvariant();

    /// <summary>
    /// The input section C objects name to land in a region's arena (plain .bss in any other build).
    /// The streamed run's arenas have one of their own, so that a firmware calling one entry point
    /// keeps only that run's arenas (the linker drops unreferenced sections).
    /// </summary>
    public static string ArenaInputSection(string region, bool streamed = false) => ".bss" + ArenaSection(region) + (streamed ? ".streamed" : "");
}

public sealed record SimulatorInfo(
    string Kind,
    string? Machine);

/// <summary>
/// Everything mcuformer knows about a board, read from boards/profiles/NAME.json: the only place
/// a board's facts live.
/// </summary>
public sealed record BoardProfile
{
    public required string Name { get; init; }
    public string Description { get; init; } = "";
    public string Mcu { get; init; } = "";
    public required string Cpu { get; init; }
    public required IReadOnlyList<string> CompileFlags { get; init; }
    public required long ClockHz { get; init; }
    public required MemoryRegion Flash { get; init; }
    public required IReadOnlyList<MemoryRegion> Ram { get; init; }
    public IReadOnlyList<MemoryRegion> External { get; init; } = [];
    public OscillatorInfo? Hse { get; init; }
    public required LayoutInfo Layout { get; init; }
    public required ConsoleInfo Console { get; init; }
    public required string Platform { get; init; }
    public SimulatorInfo? Simulator { get; init; }
    public string? Simulates { get; init; }
    public string? Notes { get; init; }

    [JsonIgnore] public long RamBytes => Ram.Sum(r => r.Size);
    [JsonIgnore] public bool RunsInQemu => Simulator?.Kind == "qemu";

    public MemoryRegion RamRegion(string name) =>
        Ram.FirstOrDefault(r => r.Name == name) ?? throw new BoardException($"{ProfilePath}: no RAM region '{name}'");

    /// <summary>The largest arena region: where a program with one big work buffer (the kernel benchmark) keeps it.</summary>
    public MemoryRegion LargestArenaRegion() => Layout.ArenaRegions.Select(RamRegion).MaxBy(r => r.Size)
        ?? throw new BoardException($"{ProfilePath}: layout.arena_regions is empty");

    /// <summary>Preprocessor defines the board layer (boards/common, boards/platforms) is compiled with.</summary>
    public IReadOnlyList<string> Defines()
    {
        var defines = new List<string> { $"BOARD_CLOCK_HZ={ClockHz}", $"CONSOLE_BASE={Console.Base}", $"CONSOLE_BAUD={Console.Baud}" };
        if (Console.Tx is { Length: >= 3 } tx) defines.AddRange([$"CONSOLE_TX_PORT={tx[1]}", $"CONSOLE_TX_PIN={tx[2..]}"]);
        if (Console.Rx is { Length: >= 3 } rx) defines.AddRange([$"CONSOLE_RX_PORT={rx[1]}", $"CONSOLE_RX_PIN={rx[2..]}"]);
        if (Console.Af is { } af) defines.Add($"CONSOLE_PIN_AF={af}");
        if (Hse is { } hse) defines.AddRange([$"HSE_HZ={hse.Hz}", $"HSE_BYPASS={(hse.Bypass ? 1 : 0)}"]);
        return defines;
    }
    /// <summary>
    /// Defines for an image whose model constants live in an external flash: NAME_WEIGHTS=1, its
    /// size, NAME_DEVICE_&lt;device&gt;=1 and its pins (NAME_CLK_PORT=B, NAME_CLK_PIN=2, NAME_CLK_AF=9, …).
    /// </summary>
    public static IReadOnlyList<string> ExternalFlashDefines(MemoryRegion external)
    {
        string prefix = external.Name.ToUpperInvariant();
        var defines = new List<string> { $"{prefix}_WEIGHTS=1", $"{prefix}_SIZE={external.Size}" };
        if (external.Device is { } device) defines.Add($"{prefix}_DEVICE_{device.ToUpperInvariant()}=1");
        foreach (var (signal, value) in external.Pins ?? new Dictionary<string, JsonElement>())
        {
            string name = $"{prefix}_{signal.ToUpperInvariant()}";
            if (value.ValueKind == JsonValueKind.Number) defines.Add($"{name}={value.GetInt32()}");
            else if (value.GetString() is { Length: >= 3 } pin) defines.AddRange([$"{name}_PORT={pin[1]}", $"{name}_PIN={pin[2..]}"]);
            else throw new BoardException($"external {external.Name}: pin {signal} must be like \"PB2\" or an alternate-function number");
        }
        return defines;
    }

    [JsonIgnore] public long FlashBytes => Flash.Size;
    [JsonIgnore] public string ProfilePath { get; private init; } = "";

    /// <summary>Reading a profile: every key known, none twice, no null where the schema wants a value.</summary>
    private static readonly JsonSerializerOptions ReadOptions = new(JsonFiles.Options)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        AllowDuplicateProperties = false,
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
    };

    /// <exception cref="BoardException">the file is not a profile that meets <see cref="ProfileSchema"/>; the message names the file and the field</exception>
    public static BoardProfile Load(string path)
    {
        BoardProfile profile;
        try
        {
            profile = JsonSerializer.Deserialize<BoardProfile>(File.ReadAllText(path), ReadOptions)
                ?? throw new BoardException($"{path}: empty board profile");
        }
        catch (JsonException e)
        {
            throw new BoardException($"{path}: {ProfileSchema.Describe(e)}");
        }
        profile = profile with { ProfilePath = path };
        ProfileSchema.Check(profile, path);
        return profile;
    }
}

public sealed class BoardException(string message) : Exception(message);

/// <summary>The board profiles shipped in the boards/ folder.</summary>
public sealed class BoardCatalog(string boardsFolder)
{
    public string Folder { get; } = boardsFolder;
    public string ProfilesFolder => Path.Combine(Folder, "profiles");

    public IReadOnlyList<BoardProfile> All() =>
        Directory.GetFiles(ProfilesFolder, "*.json").OrderBy(f => f, StringComparer.Ordinal).Select(BoardProfile.Load).ToList();

    /// <summary>A profile by name, or from a path to a JSON file (a board of the user's own).</summary>
    public BoardProfile Get(string name)
    {
        if (name.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
            return File.Exists(name) ? BoardProfile.Load(name) : throw new BoardException($"{name}: board profile not found");
        var path = Path.Combine(ProfilesFolder, name + ".json");
        if (!File.Exists(path))
        {
            var known = Directory.Exists(ProfilesFolder)
                ? string.Join(", ", Directory.GetFiles(ProfilesFolder, "*.json").Select(Path.GetFileNameWithoutExtension).Order())
                : "none";
            throw new BoardException($"unknown board '{name}' (known: {known})");
        }
        return BoardProfile.Load(path);
    }
}
