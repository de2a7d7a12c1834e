using McuFormer.Model.Lowering;

namespace McuFormer.MemoryPlanner;

/// <summary>
/// Greedy placement: buffers in a chosen order each go to the lowest aligned offset where no
/// already-placed buffer with an overlapping lifetime is in the way (a buffer an overlap rule
/// pairs it with may share bytes at an allowed shift). Two orders are tried (largest first, the
/// classic first-fit by size; and most bytes in conflict first) and the smaller plan kept.
/// </summary>
public static class GreedyPlanner
{
    public static MemoryPlan Plan(PlanningProblem problem, int alignment = 8)
    {
        var lifetimes = problem.Lifetimes;
        var bySize = BySize(problem, alignment);
        var byConflicts = Place(problem, lifetimes.OrderByDescending(l => lifetimes.Where(o => o.OverlapsInTime(l)).Sum(o => (long)o.Bytes))
            .ThenByDescending(l => l.Bytes).ThenBy(l => l.First), alignment, "greedy-by-conflicts");
        return byConflicts.PeakBytes < bySize.PeakBytes ? byConflicts : bySize;
    }

    /// <summary>First fit, largest buffer first (what TFLite Micro's arena planner does).</summary>
    public static MemoryPlan BySize(PlanningProblem problem, int alignment = 8) =>
        Place(problem, problem.Lifetimes.OrderByDescending(l => l.Bytes).ThenBy(l => l.First), alignment, "greedy-by-size");

    private static MemoryPlan Place(PlanningProblem problem, IEnumerable<BufferLifetime> order, int alignment, string method)
    {
        var placed = new List<PlacedBuffer>();
        foreach (var lifetime in order) placed.Add(new PlacedBuffer(lifetime, FirstFit(problem, placed, lifetime, alignment)));
        var plan = new MemoryPlan(problem, placed.OrderBy(p => p.Lifetime.First).ToList(), method);
        plan.Verify();
        return plan;
    }

    /// <summary>
    /// The lowest aligned offset where no placed buffer with an overlapping lifetime is in the way,
    /// except at a shift an overlap rule of the problem allows.
    /// </summary>
    public static int FirstFit(PlanningProblem problem, IEnumerable<PlacedBuffer> placed, BufferLifetime lifetime, int alignment)
    {
        var conflicts = placed.Where(p => p.Lifetime.OverlapsInTime(lifetime)).ToList();
        // The lowest valid offset is 0, the end of a conflicting buffer, or where an overlap
        // rule lets this buffer share the most bytes with its partner (or its lowest allowed shift).
        var candidates = conflicts.Select(c => AlignUp(c.End, alignment)).Prepend(0).ToList();
        foreach (var partner in conflicts)
            if (problem.RuleBetween(partner.Buffer, lifetime.Buffer) is { } rule)
                candidates.AddRange(RuleOffsets(rule, partner, lifetime, alignment));
        return candidates.Where(o => o >= 0).Distinct().Order()
            .First(o => conflicts.All(c => problem.MayShare(c.Lifetime, c.Offset, lifetime, o)));
    }

    /// <summary>Aligned offsets of the new buffer at its rule's best shifts and lowest allowed shift.</summary>
    private static IEnumerable<int> RuleOffsets(OverlapRule rule, PlacedBuffer partner, BufferLifetime placing, int alignment)
    {
        bool placingOutput = rule.Output == placing.Buffer;
        int inputBytes = placingOutput ? partner.Lifetime.Bytes : placing.Bytes;
        int outputBytes = placingOutput ? placing.Bytes : partner.Lifetime.Bytes;
        var shifts = new List<int> { 0, inputBytes - outputBytes };
        if (rule.MinShift is { } low) shifts.Add(AlignUp(low, alignment));
        if (rule.MaxShift is { } high) shifts.Add(AlignDown(high, alignment));
        foreach (var shift in shifts.Where(rule.Allows))
        {
            // Shifts are output offset minus input offset; only aligned ones keep both aligned.
            int aligned = AlignDown(shift, alignment);
            if (!rule.Allows(aligned)) aligned = AlignUp(shift, alignment);
            if (rule.Allows(aligned)) yield return placingOutput ? partner.Offset + aligned : partner.Offset - aligned;
        }
    }

    private static int AlignUp(int value, int alignment) => (int)Math.Ceiling(value / (double)alignment) * alignment;
    private static int AlignDown(int value, int alignment) => (int)Math.Floor(value / (double)alignment) * alignment;
}
