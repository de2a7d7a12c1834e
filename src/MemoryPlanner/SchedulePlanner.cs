using McuFormer.Model.Ir;
using McuFormer.Model.Lowering;
using McuFormer.Model.Quantization;

namespace McuFormer.MemoryPlanner;

/// <summary>
/// Chooses how a model's steps run and plans their memory. Fused schedules trade RAM for calls:
/// bigger attention row blocks and MLP chunks mean fewer, longer kernel calls (faster) and more
/// scratch. This takes the biggest blocks whose buffers fit the board's RAM regions, down to the
/// requested (smallest-memory) blocks when nothing bigger fits. LayerNorms are fused into the
/// linear after them where LayerNormFusionPass finds that this does not raise the memory needed.
/// </summary>
public static class SchedulePlanner
{
    public static PlannedRun Plan(QuantizedModel model, ScheduleOptions requested, IReadOnlyList<MemoryPool> pools,
        TimeSpan exactTimeLimit)
    {
        int tokens = model.Graph.Ops.OfType<LinearOp>().Select(l => l.Rows).DefaultIfEmpty(1).Max();
        var larger = requested.Fuse
            ? new[] { tokens, 64, 32, 16 }.Where(b => b <= tokens && b > requested.AttentionRowBlock).Distinct()
                .Select(b => requested with { AttentionRowBlock = b, MlpRowChunk = b })
            : [];
        foreach (var candidate in larger)
        {
            var schedule = Lower(model, candidate);
            var problem = PlanningProblem.Of(schedule);
            if (RegionPlanner.Assign(problem, pools).Fits)
                return new PlannedRun(schedule, RegionPlanner.Plan(problem, pools, exactTimeLimit));
        }
        var smallest = Lower(model, requested);
        return new PlannedRun(smallest, RegionPlanner.Plan(PlanningProblem.Of(smallest), pools, exactTimeLimit));
    }

    /// <summary>The schedule with the given blocks, LayerNorms fused into the linear after them where that does not raise the memory needed.</summary>
    public static Schedule Lower(QuantizedModel model, ScheduleOptions options) => KernelLowering.Lower(model, LayerNormFusionPass.Choose(model, options));
}
