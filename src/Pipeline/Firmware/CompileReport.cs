using System.Text.Json.Serialization;

namespace McuFormer.Pipeline.Firmware;

/// <summary>DIR/report.json: what the model costs and whether it fits the board.</summary>
public sealed record CompileReport
{
    public required string Board { get; init; }
    public required string Model { get; init; }
    public required long Params { get; init; }
    public required long Macs { get; init; }
    /// <summary>From the ELF when built ("elf"), else the model's constants alone ("estimate").</summary>
    public required string MemorySource { get; init; }
    public required long FlashBytes { get; init; }
    /// <summary>All statically allocated RAM: activation arena, stack, data and bss.</summary>
    public required long PeakRamBytes { get; init; }
    public required long RamBudgetBytes { get; init; }
    public required long FlashBudgetBytes { get; init; }
    public required bool Fits { get; init; }
    /// <summary>All activation arenas together.</summary>
    public required long ArenaBytes { get; init; }
    /// <summary>Each RAM region's activation arena (its .arena_&lt;region&gt; section).</summary>
    public required IReadOnlyDictionary<string, long> ArenaByRegion { get; init; }
    /// <summary>How the steps run: unfused, or fused with the attention row block and MLP chunk chosen under the budget.</summary>
    public required string Schedule { get; init; }
    public required long ArenaLowerBoundBytes { get; init; }
    /// <summary>Arena of mcu_model_run_streamed (image read band by band); null when the model has no streamed entry point.</summary>
    public required long? StreamedArenaBytes { get; init; }
    /// <summary>Each RAM region's arena of mcu_model_run_streamed (kept by the linker only in images that call it); null without one.</summary>
    public required IReadOnlyDictionary<string, long>? StreamedArenaByRegion { get; init; }
    public required long ConstantBytes { get; init; }
    /// <summary>The flash region holding the model's constants: the internal flash, or an external one (e.g. QSPI).</summary>
    public required string WeightsRegion { get; init; }
    /// <summary>The linker section of constants in external flash (".qspi_weights"); null in internal flash.</summary>
    public required string? WeightsSection { get; init; }
    /// <summary>Bytes in each external flash (not counted in flash_bytes, which is internal flash only).</summary>
    public required IReadOnlyDictionary<string, long> ExternalFlashByRegion { get; init; }
    public required IReadOnlyDictionary<string, long> RamByRegion { get; init; }
    public required IReadOnlyList<SectionRow> Sections { get; init; }
    public required IReadOnlyList<LayerRow> Layers { get; init; }
}

public sealed record SectionRow(
    string Name,
    string Address,
    long Bytes,
    string Region);

public sealed record LayerRow(
    string Name,
    string Op,
    long Macs,
    long WeightBytes,
    string ArenaRegion,
    int ArenaOffset,
    int Bytes);

/// <summary>
/// DIR/mcuformer.json: what `simulate` needs to drive the firmware it finds in DIR. Paths are
/// relative to DIR, so the folder can move together with what it points to.
/// </summary>
public sealed record ProjectManifest
{
    public required string Model { get; init; }
    public required string Board { get; init; }
    /// <summary>The profile JSON when the board is not one of boards/profiles; null otherwise.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? BoardProfile { get; init; }
    /// <summary>The data compile calibrated on; simulate's default samples.</summary>
    public required string Data { get; init; }

    /// <summary>What <see cref="Model.Boards.BoardCatalog.Get"/> takes to find the board of the project in projectFolder again.</summary>
    public string BoardReference(string projectFolder) => BoardProfile is { } profile ? Path.Combine(projectFolder, profile) : Board;

    /// <summary>The calibration data of the project in projectFolder.</summary>
    public string DataPath(string projectFolder) => Path.Combine(projectFolder, Data);
    public required int[] InputShape { get; init; }
    public required double InputScale { get; init; }
    public required int InputZeroPoint { get; init; }
    public required int OutputSize { get; init; }
    public required IReadOnlyList<LayerRow> Layers { get; init; }
    /// <summary>Every file compile wrote (path relative to DIR, '/' between names) and its SHA-256: what a recompile may replace (ProjectOutput).</summary>
    public IReadOnlyDictionary<string, string>? Files { get; init; }
}
