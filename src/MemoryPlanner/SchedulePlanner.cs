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
/// ones, then the same with the qkv head by head; when nothing fits, the schedule needing the least
/// memory; when asked to (ScheduleOptions.LeastMemory), the fastest schedule that needs no more memory
/// than the least (bigger blocks are free where the peak lies elsewhere, e.g. at a resident image). LayerNorms are fused
/// into the linear after them where LayerNormFusionPass finds that this does not raise the memory
/// needed.
/// </summary>
public static class SchedulePlanner
{
    public static PlannedRun Plan(QuantizedModel model, ScheduleOptions requested, IReadOnlyList<MemoryPool> pools,
        TimeSpan exactTimeLimit)
    {
        var blocks = Blocks(model, requested);
        if (requested.LeastMemory)
        {
            var least = Lower(model, requested);
            var leastProblem = PlanningProblem.Of(least);
            var leastPlan = RegionPlanner.PlanLeastTotal(leastProblem, pools, exactTimeLimit);
            // Bigger blocks cost nothing where the peak is elsewhere (a resident image): the fastest schedule whose
            // plan needs no more than the least. It keeps the least one's steps (the same fusions), which the
            // streamed entry point, lowered with the least one's options, shares.
            int leastPeak = leastProblem.PeakStep().Bytes;
            var leastSteps = least.Steps.Select(s => s.Name).ToList();
            foreach (var candidate in blocks.SkipLast(1))
            {
                var schedule = Lower(model, candidate);
                var problem = PlanningProblem.Of(schedule);
                if (problem.PeakStep().Bytes > leastPeak || !schedule.Steps.Select(s => s.Name).SequenceEqual(leastSteps)) continue;
                var plan = RegionPlanner.PlanLeastTotal(problem, pools, exactTimeLimit);
                if (plan.TotalPeakBytes <= leastPlan.TotalPeakBytes) return new PlannedRun(schedule, plan);
            }
            return new PlannedRun(least, leastPlan);
        }
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

    /// <summary>The requested options with bigger attention row blocks and MLP chunks, biggest (fastest) first, the requested ones last.</summary>
    private static IReadOnlyList<ScheduleOptions> Blocks(QuantizedModel model, ScheduleOptions requested)
    {
        if (!requested.Fuse) return [requested];
        int tokens = model.Graph.Ops.OfType<LinearOp>().Select(l => l.Rows).DefaultIfEmpty(1).Max();
        return new[] { tokens, 64, 32, 16 }.Where(b => b <= tokens && b > requested.AttentionRowBlock).Distinct()
            .Select(b => requested with { AttentionRowBlock = b, MlpRowChunk = b }).Append(requested).ToList();
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
