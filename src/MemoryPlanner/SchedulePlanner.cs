using McuFormer.Model.Ir;
using McuFormer.Model.Lowering;
using McuFormer.Model.Quantization;

namespace McuFormer.MemoryPlanner;

/// <summary>
/// Chooses how a model's steps run and plans their memory. Fused schedules trade RAM for calls:
/// bigger attention row blocks and MLP chunks mean fewer, longer kernel calls (faster) and more
/// scratch. This takes the biggest blocks whose buffers fit the board's RAM regions, down to the
/// requested (smallest-memory) blocks when nothing bigger fits.
/// </summary>
public static class SchedulePlanner
{
    public static (Schedule Schedule, RegionPlan Plan) Plan(QuantizedModel model, ScheduleOptions requested, IReadOnlyList<MemoryPool> pools,
        TimeSpan exactTimeLimit)
    {
        int tokens = model.Graph.Ops.OfType<LinearOp>().Select(l => l.Rows).DefaultIfEmpty(1).Max();
        var larger = requested.Fuse
            ? new[] { tokens, 64, 32, 16 }.Where(b => b <= tokens && b > requested.AttentionRowBlock).Distinct()
                .Select(b => requested with { AttentionRowBlock = b, MlpRowChunk = b })
            : [];
        foreach (var candidate in larger)
        {
            var schedule = KernelLowering.Lower(model, candidate);
            var lifetimes = BufferLifetime.Of(schedule);
            if (RegionPlanner.Assign(lifetimes, pools).Fits)
                return (schedule, RegionPlanner.Plan(lifetimes, pools, exactTimeLimit));
        }
        var smallest = KernelLowering.Lower(model, requested);
        return (smallest, RegionPlanner.Plan(BufferLifetime.Of(smallest), pools, exactTimeLimit));
    }
}
