using System.Text.Json.Serialization;
using McuFormer.Nas.Evaluation;
using McuFormer.Nas.Search;
using McuFormer.Nas.Space;

namespace McuFormer.Compiler.Commands;

/// <summary>A method's best subnet with its validation and test top-1.</summary>
public sealed record MethodBest(
    string Method,
    Subnet Subnet,
    string Key,
    [property: JsonPropertyName("top1_validation")] double ValidationTop1,
    [property: JsonPropertyName("top1_test")] double TestTop1,
    DeploymentCost Cost)
{
    public static MethodBest From(string method, SubnetRecord best, IReadOnlyDictionary<string, double> testTop1) =>
        new(method, best.Subnet, best.Key, best.Top1!.Value, testTop1[best.Key], best.Cost);
}

/// <summary>The chosen subnet's firmware as `compile` built it during the search (ELF figures).</summary>
public sealed record BuiltFirmware(
    string Key,
    long FlashBytes,
    long PeakRamBytes,
    long ArenaBytes);

public sealed record MethodSummary(
    string Method,
    string Subspace,
    int Measured,
    MethodBest Best);

/// <summary>DIR/search.json. Every path it holds (supernet, space, data, a latency profile) is relative to DIR.</summary>
public sealed record SearchReport
{
    public required string Supernet { get; init; }
    public required string? Space { get; init; }
    /// <summary>True when SUPERNET was a plain ONNX model searched over ranks and patch sizes without training.</summary>
    public required bool TrainingFree { get; init; }
    /// <summary>The unmodified model (training-free path): its cost, and its validation top-1 when it meets the budgets.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public SubnetRecord? Original { get; init; }
    public required string Board { get; init; }
    public required string Data { get; init; }
    public required SearchBudget Budget { get; init; }
    /// <summary>The RAM regions the activation arenas may use, fastest first (from the board profile).</summary>
    public required IReadOnlyList<string> ArenaRegions { get; init; }
    public required SearchOptions Options { get; init; }
    public required ValidationSplit Validation { get; init; }
    public required int TestSamples { get; init; }
    /// <summary>How flash besides the constants was measured: bytes at a number of steps, and per extra step.</summary>
    public required CodeSize CodeSize { get; init; }
    public required string LatencyModel { get; init; }
    public required MethodBest Best { get; init; }
    /// <summary>Null when the ARM toolchain is missing and the chosen subnet could not be built.</summary>
    public required BuiltFirmware? BestBuilt { get; init; }
    public required IReadOnlyList<MethodSummary> Methods { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public IReadOnlyList<CellScore>? SpaceCells { get; init; }
    public required int SubnetsMeasured { get; init; }
    public required int SubnetsWithinBudget { get; init; }
    public required int AccuracyRuns { get; init; }
    public required double Seconds { get; init; }
    public required int Cores { get; init; }
    public required double? SubnetsPerMinute { get; init; }
    public required IReadOnlyList<string> ParetoFront { get; init; }
}
