using Google.OrTools.Sat;

namespace McuFormer.MemoryPlanner;

/// <summary>
/// Offset assignment solved exactly (or as well as the time limit allows) with CP-SAT: buffers
/// are rectangles (lifetime × bytes) that must not overlap; the arena size is minimised. The
/// better of the greedy plan and an optional seed (a placement made elsewhere, e.g. while choosing
/// regions) starts the search and bounds it, so the result is never worse than either.
/// An overlap rule pairs two buffers live together at one step only (the step that reads its
/// input for the last time and writes its output); there their rectangles are cut short, and the
/// buffers live at that step get pairwise constraints instead: apart, or at an allowed shift.
/// </summary>
public static class ExactPlanner
{
    /// <param name="seed">a plan of the same problem to start from</param>
    public static MemoryPlan Plan(PlanningProblem problem, TimeSpan timeLimit, int alignment = 8, MemoryPlan? seed = null)
    {
        var start = GreedyPlanner.Plan(problem, alignment);
        if (seed is not null && seed.PeakBytes < start.PeakBytes) start = seed;
        var lifetimes = problem.Lifetimes;
        if (lifetimes.Count == 0 || start.PeakBytes == start.LowerBoundBytes) return start;

        var model = new CpModel();
        long Units(long bytes) => (bytes + alignment - 1) / alignment;
        long capacity = Units(start.PeakBytes);
        var peak = model.NewIntVar(Units(start.LowerBoundBytes), capacity, "peak");
        var offsets = new List<IntVar>();
        var sizes = new List<long>();
        foreach (var (lifetime, i) in lifetimes.Select((l, i) => (l, i)))
        {
            long size = Units(lifetime.Bytes);
            var offset = model.NewIntVar(0, capacity - size, $"offset{i}");
            offsets.Add(offset);
            sizes.Add(size);
            model.Add(offset + size <= peak);
        }

        // Steps at which a rule's pair is live together; there, rectangles stop short.
        var index = lifetimes.Select((l, i) => (l.Buffer, i)).ToDictionary(p => p.Buffer, p => p.i);
        var cutAtStart = new Dictionary<int, int>(); // buffer → the first step, which its rectangle leaves out
        var cutAtEnd = new Dictionary<int, int>();   // buffer → the last step, which its rectangle leaves out
        var cutSteps = new SortedSet<int>();
        foreach (var rule in problem.Rules)
        {
            var (input, output) = (lifetimes[index[rule.Input]], lifetimes[index[rule.Output]]);
            if (!input.OverlapsInTime(output)) continue;
            cutAtEnd[index[rule.Input]] = input.Last;
            cutAtStart[index[rule.Output]] = output.First;
            cutSteps.Add(input.Last);
        }
        var noOverlap = model.AddNoOverlap2D();
        for (int i = 0; i < lifetimes.Count; i++)
        {
            int first = cutAtStart.ContainsKey(i) ? lifetimes[i].First + 1 : lifetimes[i].First;
            int last = cutAtEnd.ContainsKey(i) ? lifetimes[i].Last - 1 : lifetimes[i].Last;
            if (first > last) continue;
            noOverlap.AddRectangle(model.NewFixedSizeIntervalVar(first, last - first + 1, $"time{i}"),
                model.NewFixedSizeIntervalVar(offsets[i], sizes[i], $"space{i}"));
        }
        bool Covered(int i, int step) =>
            !(cutAtStart.TryGetValue(i, out var s) && s == step) && !(cutAtEnd.TryGetValue(i, out var e) && e == step);
        foreach (var step in cutSteps)
        {
            var live = Enumerable.Range(0, lifetimes.Count).Where(i => lifetimes[i].LiveAt(step)).ToList();
            for (int x = 0; x < live.Count; x++)
                for (int y = x + 1; y < live.Count; y++)
                {
                    int i = live[x], j = live[y];
                    if (Covered(i, step) && Covered(j, step)) continue; // the rectangles keep them apart
                    var below = model.NewBoolVar($"below{i}_{j}_{step}");
                    var above = model.NewBoolVar($"above{i}_{j}_{step}");
                    model.Add(offsets[i] + sizes[i] <= offsets[j]).OnlyEnforceIf(below);
                    model.Add(offsets[j] + sizes[j] <= offsets[i]).OnlyEnforceIf(above);
                    var options = new List<ILiteral> { below, above };
                    if (problem.RuleBetween(lifetimes[i].Buffer, lifetimes[j].Buffer) is { } rule)
                    {
                        var shifted = model.NewBoolVar($"shifted{i}_{j}_{step}");
                        var (input, output) = (offsets[index[rule.Input]], offsets[index[rule.Output]]);
                        if (rule.MinShift is { } low) model.Add(output - input >= CeilingUnits(low, alignment)).OnlyEnforceIf(shifted);
                        if (rule.MaxShift is { } high) model.Add(output - input <= FloorUnits(high, alignment)).OnlyEnforceIf(shifted);
                        options.Add(shifted);
                    }
                    model.AddBoolOr(options);
                }
        }
        model.Minimize(peak);
        var byBuffer = start.Buffers.ToDictionary(b => b.Buffer, b => b.Offset);
        for (int i = 0; i < lifetimes.Count; i++) model.AddHint(offsets[i], byBuffer[lifetimes[i].Buffer] / alignment);

        // CP-SAT would take SIGINT for itself during the solve and then reset it to the default, which
        // kills the process: the process's own handler must stay (it stops the build and cleans up).
        var solver = new CpSolver { StringParameters = $"max_time_in_seconds:{timeLimit.TotalSeconds:F1},num_workers:2,random_seed:1,catch_sigint_signal:false" };
        var status = solver.Solve(model);
        if (status is not (CpSolverStatus.Optimal or CpSolverStatus.Feasible) || solver.Value(peak) * alignment >= start.PeakBytes)
            return start;
        var placed = lifetimes.Select((l, i) => new PlacedBuffer(l, (int)solver.Value(offsets[i]) * alignment)).OrderBy(p => p.Lifetime.First).ToList();
        var plan = new MemoryPlan(problem, placed, status == CpSolverStatus.Optimal ? "cp-sat (optimal)" : "cp-sat (time limit)");
        plan.Verify();
        return plan;
    }

    private static long CeilingUnits(int bytes, int alignment) => (long)Math.Ceiling(bytes / (double)alignment);
    private static long FloorUnits(int bytes, int alignment) => (long)Math.Floor(bytes / (double)alignment);
}
