namespace McuFormer.MemoryPlanner;

/// <summary>
/// Places buffers over several RAM regions. The first pool is the fast one (DTCM on the F746): it
/// is filled first with the buffers that have the most kernel calls per byte, each at the lowest
/// offset free during its lifetime, as long as it fits. The rest go, largest first, each at its
/// lowest free offset in the pool where it leaves the least room above it (best fit, which keeps
/// the roomy pools for the buffers still to come). When that leaves a buffer without a place, the
/// fast pool takes fewer hot buffers (half as many each time) so that the large ones fit. Each
/// region's buffers are then planned on their own by the single-arena planners (greedy orders and
/// CP-SAT), seeded with this placement.
/// </summary>
public static class RegionPlanner
{
    /// <summary>The placement alone, without the exact solve: quick enough to try many schedules.</summary>
    public static RegionPlan Assign(IReadOnlyList<BufferLifetime> lifetimes, IReadOnlyList<MemoryPool> pools, int alignment = 8)
    {
        if (pools.Count == 0) throw new ArgumentException("no RAM region to place activations in", nameof(pools));
        Dictionary<string, List<PlacedBuffer>>? best = null;
        long bestOverflow = long.MaxValue;
        for (int hot = lifetimes.Count; ; hot /= 2)
        {
            var (placed, overflow) = Place(lifetimes, pools, hot, alignment);
            if (overflow < bestOverflow) (best, bestOverflow) = (placed, overflow);
            if (overflow == 0 || hot == 0) break;
        }
        return new RegionPlan(pools, pools.Where(p => best![p.Region].Count > 0)
            .ToDictionary(p => p.Region, p => new MemoryPlan(best![p.Region].OrderBy(b => b.Lifetime.First).ToList(), "first-fit by region")));
    }

    /// <summary>Placement, then each region planned by <see cref="ExactPlanner"/> within the time limit (shared by the regions).</summary>
    public static RegionPlan Plan(IReadOnlyList<BufferLifetime> lifetimes, IReadOnlyList<MemoryPool> pools, TimeSpan exactTimeLimit, int alignment = 8)
    {
        var assigned = Assign(lifetimes, pools, alignment);
        var perRegion = TimeSpan.FromTicks(exactTimeLimit.Ticks / Math.Max(1, assigned.ByRegion.Count));
        var plan = new RegionPlan(pools, assigned.ByRegion.ToDictionary(r => r.Key,
            r => ExactPlanner.Plan(r.Value.Buffers.Select(b => b.Lifetime).ToList(), perRegion, alignment, seed: r.Value)));
        plan.Verify();
        return plan;
    }

    /// <returns>the buffers of each pool at their offsets, and the bytes by which the pools overflow in all</returns>
    private static (Dictionary<string, List<PlacedBuffer>> Placed, long OverflowBytes) Place(
        IReadOnlyList<BufferLifetime> lifetimes, IReadOnlyList<MemoryPool> pools, int hotCandidates, int alignment)
    {
        var placed = pools.ToDictionary(p => p.Region, _ => new List<PlacedBuffer>());
        var fast = pools[0];
        if (pools.Count > 1)
            foreach (var lifetime in lifetimes.OrderByDescending(l => l.AccessesPerByte).ThenBy(l => l.Bytes).ThenBy(l => l.First).Take(hotCandidates))
            {
                int offset = GreedyPlanner.FirstFit(placed[fast.Region], lifetime, alignment);
                if (offset + lifetime.Bytes <= fast.CapacityBytes) placed[fast.Region].Add(new PlacedBuffer(lifetime, offset));
            }
        var inFast = placed[fast.Region].Select(p => p.Lifetime).ToHashSet();
        long overflow = 0;
        foreach (var lifetime in lifetimes.Where(l => !inFast.Contains(l)).OrderByDescending(l => l.Bytes).ThenBy(l => l.First))
        {
            // Room left above the buffer in each pool; negative where it does not fit. Nowhere
            // fitting, it goes where it overflows least, so the plan still says by how much.
            long Badness(MemoryPool pool, int offset)
            {
                long room = pool.CapacityBytes - offset - lifetime.Bytes;
                return room >= 0 ? room : long.MaxValue / 2 - room;
            }
            var (pool, offset) = pools.Select(p => (Pool: p, Offset: GreedyPlanner.FirstFit(placed[p.Region], lifetime, alignment)))
                .MinBy(c => Badness(c.Pool, c.Offset));
            long over = offset + lifetime.Bytes - pool.CapacityBytes;
            if (over > 0) overflow += over;
            placed[pool.Region].Add(new PlacedBuffer(lifetime, offset));
        }
        return (placed, overflow);
    }
}
