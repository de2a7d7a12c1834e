using System.Text.Json.Serialization;
using McuFormer.Nas.Evaluation;
using McuFormer.Nas.Search;
using McuFormer.Nas.Space;

namespace McuFormer.Compiler.Commands;

/// <summary>A method's best subnet with its validation and test top-1.</summary>
public sealed record MethodBest(
    [property: JsonPropertyName("method")] string Method,
    [property: JsonPropertyName("subnet")] Subnet Subnet,
    [property: JsonPropertyName("key")] string Key,
    [property: JsonPropertyName("top1_validation")] double ValidationTop1,
    [property: JsonPropertyName("top1_test")] double TestTop1,
    [property: JsonPropertyName("cost")] DeploymentCost Cost)
{
    public static MethodBest From(string method, SubnetRecord best, IReadOnlyDictionary<string, double> testTop1) =>
        new(method, best.Subnet, best.Key, best.Top1!.Value, testTop1[best.Key], best.Cost);
}

/// <summary>The chosen subnet's firmware as `compile` built it during the search (ELF figures).</summary>
public sealed record BuiltFirmware(
    [property: JsonPropertyName("key")] string Key,
    [property: JsonPropertyName("flash_bytes")] long FlashBytes,
    [property: JsonPropertyName("peak_ram_bytes")] long PeakRamBytes,
    [property: JsonPropertyName("arena_bytes")] long ArenaBytes);

public sealed record MethodSummary(
    [property: JsonPropertyName("method")] string Method,
    [property: JsonPropertyName("subspace")] string Subspace,
    [property: JsonPropertyName("measured")] int Measured,
    [property: JsonPropertyName("best")] MethodBest Best);

/// <summary>DIR/search.json. Every path it holds (supernet, space, data, a latency profile) is relative to DIR.</summary>
public sealed record SearchReport
{
    [JsonPropertyName("supernet")] public required string Supernet { get; init; }
    [JsonPropertyName("space")] public required string? Space { get; init; }
    /// <summary>True when SUPERNET was a plain ONNX model searched over ranks and patch sizes without training.</summary>
    [JsonPropertyName("training_free")] public required bool TrainingFree { get; init; }
    /// <summary>The unmodified model (training-free path): its cost, and its validation top-1 when it meets the budgets.</summary>
    [JsonPropertyName("original"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public SubnetRecord? Original { get; init; }
    [JsonPropertyName("board")] public required string Board { get; init; }
    [JsonPropertyName("data")] public required string Data { get; init; }
    [JsonPropertyName("budget")] public required SearchBudget Budget { get; init; }
    /// <summary>The RAM regions the activation arenas may use, fastest first (from the board profile).</summary>
    [JsonPropertyName("arena_regions")] public required IReadOnlyList<string> ArenaRegions { get; init; }
    [JsonPropertyName("options")] public required SearchOptions Options { get; init; }
    [JsonPropertyName("validation")] public required ValidationSplit Validation { get; init; }
    [JsonPropertyName("test_samples")] public required int TestSamples { get; init; }
    /// <summary>How flash besides the constants was measured: bytes at a number of steps, and per extra step.</summary>
    [JsonPropertyName("code_size")] public required CodeSize CodeSize { get; init; }
    [JsonPropertyName("latency_model")] public required string LatencyModel { get; init; }
    [JsonPropertyName("best")] public required MethodBest Best { get; init; }
    /// <summary>Null when the ARM toolchain is missing and the chosen subnet could not be built.</summary>
    [JsonPropertyName("best_built")] public required BuiltFirmware? BestBuilt { get; init; }
    [JsonPropertyName("methods")] public required IReadOnlyList<MethodSummary> Methods { get; init; }
    [JsonPropertyName("space_cells"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public IReadOnlyList<CellScore>? SpaceCells { get; init; }
    [JsonPropertyName("subnets_measured")] public required int SubnetsMeasured { get; init; }
    [JsonPropertyName("subnets_within_budget")] public required int SubnetsWithinBudget { get; init; }
    [JsonPropertyName("accuracy_runs")] public required int AccuracyRuns { get; init; }
    [JsonPropertyName("seconds")] public required double Seconds { get; init; }
    [JsonPropertyName("cores")] public required int Cores { get; init; }
    [JsonPropertyName("subnets_per_minute")] public required double? SubnetsPerMinute { get; init; }
    [JsonPropertyName("pareto_front")] public required IReadOnlyList<string> ParetoFront { get; init; }
}
