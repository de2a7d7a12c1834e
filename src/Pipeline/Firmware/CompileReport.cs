using System.Text.Json.Serialization;

namespace McuFormer.Pipeline.Firmware;

/// <summary>DIR/report.json: what the model costs and whether it fits the board.</summary>
public sealed record CompileReport
{
    [JsonPropertyName("board")] public required string Board { get; init; }
    [JsonPropertyName("model")] public required string Model { get; init; }
    [JsonPropertyName("params")] public required long Params { get; init; }
    [JsonPropertyName("macs")] public required long Macs { get; init; }
    /// <summary>From the ELF when built ("elf"), else the model's constants alone ("estimate").</summary>
    [JsonPropertyName("memory_source")] public required string MemorySource { get; init; }
    [JsonPropertyName("flash_bytes")] public required long FlashBytes { get; init; }
    /// <summary>All statically allocated RAM: activation arena, stack, data and bss.</summary>
    [JsonPropertyName("peak_ram_bytes")] public required long PeakRamBytes { get; init; }
    [JsonPropertyName("ram_budget_bytes")] public required long RamBudgetBytes { get; init; }
    [JsonPropertyName("flash_budget_bytes")] public required long FlashBudgetBytes { get; init; }
    [JsonPropertyName("fits")] public required bool Fits { get; init; }
    /// <summary>All activation arenas together.</summary>
    [JsonPropertyName("arena_bytes")] public required long ArenaBytes { get; init; }
    /// <summary>Each RAM region's activation arena (its .arena_&lt;region&gt; section).</summary>
    [JsonPropertyName("arena_by_region")] public required IReadOnlyDictionary<string, long> ArenaByRegion { get; init; }
    /// <summary>How the steps run: unfused, or fused with the attention row block and MLP chunk chosen under the budget.</summary>
    [JsonPropertyName("schedule")] public required string Schedule { get; init; }
    [JsonPropertyName("arena_lower_bound_bytes")] public required long ArenaLowerBoundBytes { get; init; }
    /// <summary>Arena of mcu_model_run_streamed (image read band by band); null when the model has no streamed entry point.</summary>
    [JsonPropertyName("streamed_arena_bytes")] public required long? StreamedArenaBytes { get; init; }
    /// <summary>Each RAM region's arena of mcu_model_run_streamed (kept by the linker only in images that call it); null without one.</summary>
    [JsonPropertyName("streamed_arena_by_region")] public required IReadOnlyDictionary<string, long>? StreamedArenaByRegion { get; init; }
    [JsonPropertyName("constant_bytes")] public required long ConstantBytes { get; init; }
    /// <summary>The flash region holding the model's constants: the internal flash, or an external one (e.g. QSPI).</summary>
    [JsonPropertyName("weights_region")] public required string WeightsRegion { get; init; }
    /// <summary>The linker section of constants in external flash (".qspi_weights"); null in internal flash.</summary>
    [JsonPropertyName("weights_section")] public required string? WeightsSection { get; init; }
    /// <summary>Bytes in each external flash (not counted in flash_bytes, which is internal flash only).</summary>
    [JsonPropertyName("external_flash_by_region")] public required IReadOnlyDictionary<string, long> ExternalFlashByRegion { get; init; }
    [JsonPropertyName("ram_by_region")] public required IReadOnlyDictionary<string, long> RamByRegion { get; init; }
    [JsonPropertyName("sections")] public required IReadOnlyList<SectionRow> Sections { get; init; }
    [JsonPropertyName("layers")] public required IReadOnlyList<LayerRow> Layers { get; init; }
}

public sealed record SectionRow(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("address")] string Address,
    [property: JsonPropertyName("bytes")] long Bytes,
    [property: JsonPropertyName("region")] string Region);

public sealed record LayerRow(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("op")] string Op,
    [property: JsonPropertyName("macs")] long Macs,
    [property: JsonPropertyName("weight_bytes")] long WeightBytes,
    [property: JsonPropertyName("arena_region")] string ArenaRegion,
    [property: JsonPropertyName("arena_offset")] int ArenaOffset,
    [property: JsonPropertyName("bytes")] int Bytes);

/// <summary>
/// DIR/mcuformer.json: what `simulate` needs to drive the firmware it finds in DIR. Paths are
/// relative to DIR, so the folder can move together with what it points to.
/// </summary>
public sealed record ProjectManifest
{
    [JsonPropertyName("model")] public required string Model { get; init; }
    [JsonPropertyName("board")] public required string Board { get; init; }
    /// <summary>The profile JSON when the board is not one of boards/profiles; null otherwise.</summary>
    [JsonPropertyName("board_profile"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? BoardProfile { get; init; }
    /// <summary>The data compile calibrated on; simulate's default samples.</summary>
    [JsonPropertyName("data")] public required string Data { get; init; }

    /// <summary>What <see cref="Model.Boards.BoardCatalog.Get"/> takes to find the board of the project in projectFolder again.</summary>
    public string BoardReference(string projectFolder) => BoardProfile is { } profile ? Path.Combine(projectFolder, profile) : Board;

    /// <summary>The calibration data of the project in projectFolder.</summary>
    public string DataPath(string projectFolder) => Path.Combine(projectFolder, Data);
    [JsonPropertyName("input_shape")] public required int[] InputShape { get; init; }
    [JsonPropertyName("input_scale")] public required double InputScale { get; init; }
    [JsonPropertyName("input_zero_point")] public required int InputZeroPoint { get; init; }
    [JsonPropertyName("output_size")] public required int OutputSize { get; init; }
    [JsonPropertyName("layers")] public required IReadOnlyList<LayerRow> Layers { get; init; }
}
