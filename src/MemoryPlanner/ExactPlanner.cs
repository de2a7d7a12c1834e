using Google.OrTools.Sat;

namespace McuFormer.MemoryPlanner;

/// <summary>
/// Offset assignment solved exactly (or as well as the time limit allows) with CP-SAT: buffers
/// are rectangles (lifetime × bytes) that must not overlap; the arena size is minimised. The
/// better of the greedy plan and an optional seed (a placement made elsewhere, e.g. while choosing
/// regions) starts the search and bounds it, so the result is never worse than either.
/// </summary>
public static class ExactPlanner
{
    public static MemoryPlan Plan(IReadOnlyList<BufferLifetime> lifetimes, TimeSpan timeLimit, int alignment = 8, MemoryPlan? seed = null)
    {
        var start = GreedyPlanner.Plan(lifetimes, alignment);
        if (seed is not null && seed.PeakBytes < start.PeakBytes) start = seed;
        if (lifetimes.Count == 0 || start.PeakBytes == start.LowerBoundBytes) return start;

        var model = new CpModel();
        long Units(long bytes) => (bytes + alignment - 1) / alignment;
        long capacity = Units(start.PeakBytes);
        var peak = model.NewIntVar(Units(start.LowerBoundBytes), capacity, "peak");
        var offsets = new List<IntVar>();
        var times = new List<IntervalVar>();
        var spaces = new List<IntervalVar>();
        foreach (var (lifetime, i) in lifetimes.Select((l, i) => (l, i)))
        {
            long size = Units(lifetime.Bytes);
            var offset = model.NewIntVar(0, capacity - size, $"offset{i}");
            offsets.Add(offset);
            times.Add(model.NewFixedSizeIntervalVar(lifetime.First, lifetime.Last - lifetime.First + 1, $"time{i}"));
            spaces.Add(model.NewFixedSizeIntervalVar(offset, size, $"space{i}"));
            model.Add(offset + size <= peak);
        }
        var noOverlap = model.AddNoOverlap2D();
        for (int i = 0; i < times.Count; i++) noOverlap.AddRectangle(times[i], spaces[i]);
        model.Minimize(peak);
        var byBuffer = start.Buffers.ToDictionary(b => b.Buffer, b => b.Offset);
        for (int i = 0; i < lifetimes.Count; i++) model.AddHint(offsets[i], byBuffer[lifetimes[i].Buffer] / alignment);

        var solver = new CpSolver { StringParameters = $"max_time_in_seconds:{timeLimit.TotalSeconds:F1},num_workers:2,random_seed:1" };
        var status = solver.Solve(model);
        if (status is not (CpSolverStatus.Optimal or CpSolverStatus.Feasible) || solver.Value(peak) * alignment >= start.PeakBytes)
            return start;
        var placed = lifetimes.Select((l, i) => new PlacedBuffer(l, (int)solver.Value(offsets[i]) * alignment)).OrderBy(p => p.Lifetime.First).ToList();
        var plan = new MemoryPlan(placed, status == CpSolverStatus.Optimal ? "cp-sat (optimal)" : "cp-sat (time limit)");
        plan.Verify();
        return plan;
    }
}
