namespace McuFormer.MemoryPlanner;

/// <summary>
/// Greedy placement, largest buffer first: each goes to the lowest aligned offset that no
/// already-placed buffer with an overlapping lifetime occupies.
/// </summary>
public static class GreedyPlanner
{
    public static MemoryPlan Plan(IReadOnlyList<BufferLifetime> lifetimes, int alignment = 8)
    {
        var placed = new List<PlacedBuffer>();
        foreach (var lifetime in lifetimes.OrderByDescending(l => l.Bytes).ThenBy(l => l.First))
        {
            var conflicts = placed.Where(p => p.Lifetime.OverlapsInTime(lifetime)).OrderBy(p => p.Offset).ToList();
            int offset = 0;
            foreach (var other in conflicts)
            {
                if (offset + lifetime.Bytes <= other.Offset) break;
                offset = Math.Max(offset, Align(other.End, alignment));
            }
            placed.Add(new PlacedBuffer(lifetime, offset));
        }
        var plan = new MemoryPlan(placed.OrderBy(p => p.Lifetime.First).ToList(), "greedy-by-size");
        plan.Verify();
        return plan;
    }

    private static int Align(int value, int alignment) => (value + alignment - 1) / alignment * alignment;
}
