using McuFormer.Model.Boards;
using McuFormer.Model.Ir;

namespace McuFormer.MemoryPlanner;

/// <summary>
/// One RAM region the activations may use and the bytes of it they may take: the region's size
/// less what the firmware keeps there (the stack, and the reserve for .data and .bss).
/// </summary>
public sealed record MemoryPool(string Region, long CapacityBytes)
{
    /// <summary>The board's arena regions in its order of preference (fastest first).</summary>
    public static IReadOnlyList<MemoryPool> Of(BoardProfile board)
    {
        var layout = board.Layout;
        return layout.ArenaRegions.Select(name =>
        {
            var region = board.RamRegion(name);
            long kept = (name == layout.StackRegion ? layout.StackSize : 0) + (name == layout.DataRegion ? layout.DataReserve : 0);
            return new MemoryPool(name, Math.Max(0, region.Size - kept));
        }).ToList();
    }
}

/// <summary>A buffer's place: the region and the offset inside that region's arena.</summary>
public sealed record RegionPlacement(string Region, PlacedBuffer Placed)
{
    public int Offset => Placed.Offset;
}

/// <summary>
/// Static placement of every activation buffer over several RAM regions: one arena per region,
/// each planned on its own (a buffer never straddles two regions).
/// </summary>
public sealed class RegionPlan
{
    private readonly Dictionary<ActivationBuffer, RegionPlacement> byBuffer;

    /// <param name="problem">what was placed: every buffer and the overlap rules, over all regions</param>
    /// <param name="byRegion">each region's plan, of the part of the problem placed there</param>
    public RegionPlan(PlanningProblem problem, IReadOnlyList<MemoryPool> pools, IReadOnlyDictionary<string, MemoryPlan> byRegion)
    {
        Problem = problem;
        Pools = pools;
        ByRegion = byRegion;
        byBuffer = new Dictionary<ActivationBuffer, RegionPlacement>();
        foreach (var placement in byRegion.SelectMany(r => r.Value.Buffers.Select(b => new RegionPlacement(r.Key, b))))
            if (!byBuffer.TryAdd(placement.Placed.Buffer, placement))
                throw new InvalidOperationException($"{placement.Placed.Buffer.Name} is placed in more than one region");
        Buffers = byBuffer.Values.OrderBy(p => p.Placed.Lifetime.First).ThenBy(p => p.Region, StringComparer.Ordinal).ToList();
        LowerBoundBytes = problem.PeakStep().Bytes;
    }

    public PlanningProblem Problem { get; }

    /// <summary>The pools in the board's order of preference, used or not.</summary>
    public IReadOnlyList<MemoryPool> Pools { get; }
    /// <summary>The plan of each region that holds at least one buffer, in the order of <see cref="Pools"/>.</summary>
    public IReadOnlyDictionary<string, MemoryPlan> ByRegion { get; }
    public IReadOnlyList<RegionPlacement> Buffers { get; }

    /// <summary>The regions holding buffers, in the board's order of preference.</summary>
    public IEnumerable<string> UsedRegions => Pools.Select(p => p.Region).Where(ByRegion.ContainsKey);
    public int PeakBytes(string region) => ByRegion.TryGetValue(region, out var plan) ? plan.PeakBytes : 0;
    /// <summary>All arenas together.</summary>
    public int TotalPeakBytes => ByRegion.Values.Sum(p => p.PeakBytes);
    /// <summary>No placement of these lifetimes, in any number of regions, can use less in total (overlap rules counted).</summary>
    public int LowerBoundBytes { get; }
    public string Method => string.Join("; ", UsedRegions.Select(r => $"{r}: {ByRegion[r].Method}"));

    /// <summary>Regions whose arena exceeds the pool, and by how many bytes.</summary>
    public IReadOnlyList<(MemoryPool Pool, long OverBytes)> Overflows =>
        Pools.Where(p => PeakBytes(p.Region) > p.CapacityBytes).Select(p => (p, PeakBytes(p.Region) - p.CapacityBytes)).ToList();

    public bool Fits => Overflows.Count == 0;

    public RegionPlacement PlacementOf(ActivationBuffer storage) => byBuffer[storage];

    /// <summary>The step that sets the lower bound over all regions and the buffers live then, largest first.</summary>
    public (int Step, IReadOnlyList<RegionPlacement> Live) Peak()
    {
        var (step, _) = Problem.PeakStep();
        return (step, Buffers.Where(b => b.Placed.Lifetime.LiveAt(step))
            .OrderByDescending(b => b.Placed.Lifetime.Bytes).ToList());
    }

    /// <summary>
    /// Throws when a buffer of the problem has no region, or a region's plan lets two live buffers
    /// share a byte no overlap rule allows (the constructor rejects a buffer in two regions).
    /// </summary>
    public void Verify()
    {
        if (Problem.Lifetimes.FirstOrDefault(l => !byBuffer.ContainsKey(l.Buffer)) is { } missing)
            throw new InvalidOperationException($"{missing.Buffer.Name} is placed in no region");
        foreach (var plan in ByRegion.Values) plan.Verify();
    }
}
