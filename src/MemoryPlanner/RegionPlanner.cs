namespace McuFormer.MemoryPlanner;

/// <summary>
/// Places buffers over several RAM regions. The first pool is the fast one (DTCM on the F746): it
/// is filled first with the buffers that have the most kernel calls per byte, each at the lowest
/// offset free during its lifetime, as long as it fits. The rest go, largest first, each at its
/// lowest free offset in the pool where it leaves the least room above it (best fit, which keeps
/// the roomy pools for the buffers still to come). When that leaves a buffer without a place, the
/// fast pool takes fewer hot buffers (half as many each time) so that the large ones fit. Buffers
/// that overlap rules link (PlanningProblem.RuleGroups) move as one: a rule saves bytes only
/// inside one arena. Each region's buffers are then planned on their own by the single-arena
/// planners (greedy orders and CP-SAT) under the rules between them, seeded with this placement.
/// </summary>
public static class RegionPlanner
{
    /// <summary>The placement alone, without the exact solve: quick enough to try many schedules.</summary>
    public static RegionPlan Assign(PlanningProblem problem, IReadOnlyList<MemoryPool> pools, int alignment = 8)
    {
        if (pools.Count == 0) throw new ArgumentException("no RAM region to place activations in", nameof(pools));
        var groups = problem.RuleGroups();
        Dictionary<string, List<PlacedBuffer>>? best = null;
        long bestOverflow = long.MaxValue;
        for (int hot = groups.Count; ; hot /= 2)
        {
            var (placed, overflow) = Place(problem, groups, pools, hot, alignment);
            if (overflow < bestOverflow) (best, bestOverflow) = (placed, overflow);
            if (overflow == 0 || hot == 0) break;
        }
        return new RegionPlan(problem, pools, pools.Where(p => best![p.Region].Count > 0).ToDictionary(p => p.Region, p =>
        {
            var buffers = best![p.Region].OrderBy(b => b.Lifetime.First).ToList();
            return new MemoryPlan(problem.Restrict(buffers.Select(b => b.Lifetime).ToList()), buffers, "first-fit by region");
        }));
    }

    /// <summary>Placement, then each region planned by <see cref="ExactPlanner"/> within the time limit (shared by the regions).</summary>
    public static RegionPlan Plan(PlanningProblem problem, IReadOnlyList<MemoryPool> pools, TimeSpan exactTimeLimit, int alignment = 8)
    {
        var assigned = Assign(problem, pools, alignment);
        var perRegion = TimeSpan.FromTicks(exactTimeLimit.Ticks / Math.Max(1, assigned.ByRegion.Count));
        var plan = new RegionPlan(problem, pools, assigned.ByRegion.ToDictionary(r => r.Key,
            r => ExactPlanner.Plan(r.Value.Problem, perRegion, alignment, seed: r.Value)));
        plan.Verify();
        return plan;
    }

    /// <summary>
    /// The plan that takes the least RAM in all: Plan's placement over the regions, or every buffer in the first
    /// region that holds them all, whichever needs fewer bytes. One arena lets any two buffers that are never live
    /// together share bytes, which buffers in different regions cannot, so it often needs less than the regions'
    /// peaks added up, at the price of the fast region's speed. What ScheduleOptions.LeastMemory asks for.
    /// </summary>
    public static RegionPlan PlanLeastTotal(PlanningProblem problem, IReadOnlyList<MemoryPool> pools, TimeSpan exactTimeLimit, int alignment = 8)
    {
        var spread = Plan(problem, pools, exactTimeLimit, alignment);
        var single = ExactPlanner.Plan(problem, exactTimeLimit, alignment);
        if (pools.FirstOrDefault(p => p.CapacityBytes >= single.PeakBytes) is not { } pool || single.PeakBytes >= spread.TotalPeakBytes)
            return spread;
        var plan = new RegionPlan(problem, pools, new Dictionary<string, MemoryPlan> { [pool.Region] = single });
        plan.Verify();
        return plan;
    }

    /// <returns>the buffers of each pool at their offsets, and the bytes by which the pools overflow in all</returns>
    private static (Dictionary<string, List<PlacedBuffer>> Placed, long OverflowBytes) Place(PlanningProblem problem,
        IReadOnlyList<IReadOnlyList<BufferLifetime>> groups, IReadOnlyList<MemoryPool> pools, int hotCandidates, int alignment)
    {
        var placed = pools.ToDictionary(p => p.Region, _ => new List<PlacedBuffer>());
        // A group's buffers, each at its lowest free offset in the pool (the larger first, so a
        // rule's partner is there to share with), and the highest byte they reach.
        (List<PlacedBuffer> Buffers, long End) Fit(MemoryPool pool, IReadOnlyList<BufferLifetime> group)
        {
            var fitted = new List<PlacedBuffer>();
            foreach (var lifetime in group.OrderByDescending(l => l.Bytes).ThenBy(l => l.First))
                fitted.Add(new PlacedBuffer(lifetime, GreedyPlanner.FirstFit(problem, placed[pool.Region].Concat(fitted), lifetime, alignment)));
            return (fitted, fitted.Max(b => (long)b.End));
        }
        var fast = pools[0];
        var inFast = new HashSet<IReadOnlyList<BufferLifetime>>();
        if (pools.Count > 1)
            foreach (var group in groups.OrderByDescending(g => (double)g.Sum(l => l.Accesses) / Math.Max(1, g.Sum(l => l.Bytes)))
                         .ThenBy(g => g.Sum(l => l.Bytes)).ThenBy(g => g.Min(l => l.First)).Take(hotCandidates))
            {
                var (fitted, end) = Fit(fast, group);
                if (end > fast.CapacityBytes) continue;
                placed[fast.Region].AddRange(fitted);
                inFast.Add(group);
            }
        long overflow = 0;
        foreach (var group in groups.Where(g => !inFast.Contains(g)).OrderByDescending(g => g.Max(l => l.Bytes)).ThenBy(g => g.Min(l => l.First)))
        {
            // Room left above the group in each pool; negative where it does not fit. Nowhere
            // fitting, it goes where it overflows least, so the plan still says by how much.
            static long Badness(MemoryPool pool, long end)
            {
                long room = pool.CapacityBytes - end;
                return room >= 0 ? room : long.MaxValue / 2 - room;
            }
            var (pool, (fitted, _)) = pools.Select(p => (Pool: p, Fit: Fit(p, group))).MinBy(c => Badness(c.Pool, c.Fit.End));
            overflow += fitted.Sum(b => Math.Max(0L, b.End - pool.CapacityBytes));
            placed[pool.Region].AddRange(fitted);
        }
        return (placed, overflow);
    }
}
