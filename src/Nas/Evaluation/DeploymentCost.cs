using System.Text.Json.Serialization;
using McuFormer.Model.Boards;
using McuFormer.Model.Ir;
using McuFormer.Model.Lowering;
using McuFormer.Pipeline;

namespace McuFormer.Nas.Evaluation;

/// <summary>What a model costs on a board, measured the way `compile` measures it.</summary>
public sealed record DeploymentCost(
    long ArenaBytes,
    bool ArenaFitsBoard,
    long RamBytes,
    long ConstantBytes,
    long FlashBytes,
    [property: JsonPropertyName("params")] long Parameters,
    long Macs,
    long Instructions,
    double LatencyMs);

/// <summary>
/// Costs a model as `compile` would deploy it: the fused schedule and the activation plan over the
/// board's RAM regions that the compiler picks (peak RAM = those arenas + the board's stack), the
/// constants the code generator lays out in flash for it (and for its streamed entry point) plus the
/// firmware's code size, and the latency model.
/// </summary>
public sealed class DeploymentCostModel(BoardProfile board, CodeSize code, LatencyModel latency)
{
    public BoardProfile Board { get; } = board;
    public CodeSize Code { get; } = code;
    public LatencyModel Latency { get; } = latency;

    public DeploymentCost Measure(ModelGraph graph)
    {
        var compiled = ModelCompiler.Compile(new CompileRequest(ImportedModel.Of(graph), Board, Calibration: null, ScheduleOptions.Fused));
        var (schedule, plan) = compiled.Primary;
        long constants = compiled.ConstantBytes;
        long instructions = Latency.Instructions(schedule);
        return new DeploymentCost(plan.TotalPeakBytes, plan.Fits, plan.TotalPeakBytes + Board.Layout.StackSize, constants, constants + Code.Bytes,
            graph.Ops.Sum(o => o.Parameters), graph.Macs, instructions, instructions * 1000.0 / Board.ClockHz);
    }
}
