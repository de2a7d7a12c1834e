using McuFormer.Model.Lowering;

namespace McuFormer.MemoryPlanner;

/// <summary>One way the model runs: its schedule, and where that schedule's buffers sit in the RAM regions.</summary>
public sealed record PlannedRun(Schedule Schedule, RegionPlan Plan);
