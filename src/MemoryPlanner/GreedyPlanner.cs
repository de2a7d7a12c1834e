namespace McuFormer.MemoryPlanner;

/// <summary>
/// Greedy placement: buffers in a chosen order each go to the lowest aligned offset that no
/// already-placed buffer with an overlapping lifetime occupies. Two orders are tried (largest
/// first, the classic first-fit by size; and most bytes in conflict first) and the smaller plan kept.
/// </summary>
public static class GreedyPlanner
{
    public static MemoryPlan Plan(IReadOnlyList<BufferLifetime> lifetimes, int alignment = 8)
    {
        var bySize = BySize(lifetimes, alignment);
        var byConflicts = Place(lifetimes.OrderByDescending(l => lifetimes.Where(o => o.OverlapsInTime(l)).Sum(o => (long)o.Bytes))
            .ThenByDescending(l => l.Bytes).ThenBy(l => l.First), alignment, "greedy-by-conflicts");
        return byConflicts.PeakBytes < bySize.PeakBytes ? byConflicts : bySize;
    }

    /// <summary>First fit, largest buffer first (what TFLite Micro's arena planner does).</summary>
    public static MemoryPlan BySize(IReadOnlyList<BufferLifetime> lifetimes, int alignment = 8) =>
        Place(lifetimes.OrderByDescending(l => l.Bytes).ThenBy(l => l.First), alignment, "greedy-by-size");

    private static MemoryPlan Place(IEnumerable<BufferLifetime> order, int alignment, string method)
    {
        var placed = new List<PlacedBuffer>();
        foreach (var lifetime in order) placed.Add(new PlacedBuffer(lifetime, FirstFit(placed, lifetime, alignment)));
        var plan = new MemoryPlan(placed.OrderBy(p => p.Lifetime.First).ToList(), method);
        plan.Verify();
        return plan;
    }

    /// <summary>The lowest aligned offset that no placed buffer with an overlapping lifetime occupies.</summary>
    public static int FirstFit(IEnumerable<PlacedBuffer> placed, BufferLifetime lifetime, int alignment)
    {
        int offset = 0;
        foreach (var other in placed.Where(p => p.Lifetime.OverlapsInTime(lifetime)).OrderBy(p => p.Offset))
        {
            if (offset + lifetime.Bytes <= other.Offset) break;
            offset = Math.Max(offset, Align(other.End, alignment));
        }
        return offset;
    }

    private static int Align(int value, int alignment) => (value + alignment - 1) / alignment * alignment;
}
