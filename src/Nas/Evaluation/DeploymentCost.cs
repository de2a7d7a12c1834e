using System.Text.Json.Serialization;
using McuFormer.CodeGen;
using McuFormer.MemoryPlanner;
using McuFormer.Model.Boards;
using McuFormer.Model.Ir;
using McuFormer.Model.Lowering;
using McuFormer.Model.Quantization;

namespace McuFormer.Nas.Evaluation;

/// <summary>What a model costs on a board, measured the way `compile` measures it.</summary>
public sealed record DeploymentCost(
    [property: JsonPropertyName("arena_bytes")] long ArenaBytes,
    [property: JsonPropertyName("ram_bytes")] long RamBytes,
    [property: JsonPropertyName("constant_bytes")] long ConstantBytes,
    [property: JsonPropertyName("flash_bytes")] long FlashBytes,
    [property: JsonPropertyName("params")] long Parameters,
    [property: JsonPropertyName("macs")] long Macs,
    [property: JsonPropertyName("instructions")] long Instructions,
    [property: JsonPropertyName("latency_ms")] double LatencyMs);

/// <summary>
/// Costs a model as `compile` would deploy it: the fused schedule and activation plan the compiler
/// picks for the board's arena region (peak RAM = that arena + the board's stack), the constants the
/// code generator lays out in flash plus the firmware's measured code bytes, and the latency model.
/// </summary>
public sealed class DeploymentCostModel(BoardProfile board, long codeBytes, LatencyModel latency)
{
    public BoardProfile Board { get; } = board;
    /// <summary>Flash the firmware uses besides the model's constants (startup, runtime kernels, op sequence).</summary>
    public long CodeBytes { get; } = codeBytes;
    public LatencyModel Latency { get; } = latency;

    public DeploymentCost Measure(ModelGraph graph)
    {
        var model = Quantizer.ForPlanning(graph);
        var region = Board.RamRegion(Board.Layout.ArenaRegion);
        var (schedule, plan) = SchedulePlanner.Plan(model, ScheduleOptions.Fused, region.Size, TimeSpan.FromSeconds(5));
        long constants = ModelSource.Generate(model, schedule, plan, Board.Name).ConstantBytes;
        long instructions = Latency.Instructions(schedule);
        return new DeploymentCost(plan.PeakBytes, plan.PeakBytes + Board.Layout.StackSize, constants, constants + CodeBytes,
            graph.Ops.Sum(o => o.Parameters), graph.Macs, instructions, instructions * 1000.0 / Board.ClockHz);
    }

    /// <summary>Whether the arena fits its region (a hard limit of the board, whatever the budgets).</summary>
    public bool ArenaFitsRegion(DeploymentCost cost) => cost.ArenaBytes <= Board.RamRegion(Board.Layout.ArenaRegion).Size;
}
