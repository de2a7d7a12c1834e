using McuFormer.Model.Ir;
using McuFormer.Model.Lowering;
using McuFormer.Model.Quantization;

namespace McuFormer.MemoryPlanner;

/// <summary>
/// Chooses how a model's steps run and plans their memory. Fused schedules trade RAM for calls:
/// bigger attention row blocks and MLP chunks mean fewer, longer kernel calls (faster) and more
/// scratch, and running the qkv linear head by head (ScheduleOptions.QkvPerHead) saves the qkv
/// tensor but normalises each row again per call. For a board, this takes the fastest schedule
/// whose buffers fit its RAM regions: the biggest blocks first, down to the requested (smallest)
/// ones, then the same with the qkv head by head; when nothing fits, or when asked to
/// (ScheduleOptions.LeastMemory), the schedule needing the least memory. LayerNorms are fused
/// into the linear after them where LayerNormFusionPass finds that this does not raise the memory
/// needed.
/// </summary>
public static class SchedulePlanner
{
    public static PlannedRun Plan(QuantizedModel model, ScheduleOptions requested, IReadOnlyList<MemoryPool> pools,
        TimeSpan exactTimeLimit)
    {
        if (requested.LeastMemory)
        {
            var least = Lower(model, requested);
            return new PlannedRun(least, RegionPlanner.PlanLeastTotal(PlanningProblem.Of(least), pools, exactTimeLimit));
        }
        int tokens = model.Graph.Ops.OfType<LinearOp>().Select(l => l.Rows).DefaultIfEmpty(1).Max();
        var blocks = requested.Fuse
            ? new[] { tokens, 64, 32, 16 }.Where(b => b <= tokens && b > requested.AttentionRowBlock).Distinct()
                .Select(b => requested with { AttentionRowBlock = b, MlpRowChunk = b }).Append(requested)
            : [requested];
        bool[] qkvPerHead = requested.Fuse && requested.InPlace && KernelLowering.CanRunQkvPerHead(model) ? [false, true] : [false];
        foreach (var candidate in qkvPerHead.SelectMany(perHead => blocks.Select(b => b with { QkvPerHead = perHead })))
        {
            var schedule = WithFusedLayerNorms(model, candidate);
            var problem = PlanningProblem.Of(schedule);
            if (RegionPlanner.Assign(problem, pools).Fits)
                return new PlannedRun(schedule, RegionPlanner.Plan(problem, pools, exactTimeLimit));
        }
        var smallest = Lower(model, requested);
        return new PlannedRun(smallest, RegionPlanner.Plan(PlanningProblem.Of(smallest), pools, exactTimeLimit));
    }

    /// <summary>
    /// The schedule with the given blocks that needs the least memory: LayerNorms fused into the linear after them
    /// where that does not raise the memory needed, and the qkv linear run head by head where that lowers it (the
    /// most bytes live at one step, overlap rules counted).
    /// </summary>
    public static Schedule Lower(QuantizedModel model, ScheduleOptions options)
    {
        var whole = WithFusedLayerNorms(model, options with { QkvPerHead = false });
        if (!(options.Fuse && options.InPlace && KernelLowering.CanRunQkvPerHead(model))) return whole;
        var perHead = WithFusedLayerNorms(model, options with { QkvPerHead = true });
        return PlanningProblem.Of(perHead).PeakStep().Bytes < PlanningProblem.Of(whole).PeakStep().Bytes ? perHead : whole;
    }

    /// <summary>The schedule of those options, LayerNorms fused into the linear after them where that does not raise the memory needed.</summary>
    public static Schedule WithFusedLayerNorms(QuantizedModel model, ScheduleOptions options) =>
        KernelLowering.Lower(model, LayerNormFusionPass.Choose(model, options));
}
