using McuFormer.Nas.Space;

namespace McuFormer.Nas.Search;

/// <summary>Evolution settings; the defaults are AutoFormer's.</summary>
public sealed record EvolutionSettings(
    int Population = 50,
    int Generations = 20,
    int Parents = 10,
    double MutationProbability = 0.2,
    double StructureMutationProbability = 0.4,
    int Seed = 0);

/// <summary>What one search method found: every subnet it measured that met the budgets, in order.</summary>
public sealed record MethodResult(string Method, Subspace Subspace, IReadOnlyList<SubnetRecord> Measured)
{
    public SubnetRecord? Best => Measured.OrderByDescending(r => r.Top1).ThenBy(r => r.Key, StringComparer.Ordinal).FirstOrDefault();
}

/// <summary>
/// AutoFormer-style evolution under budgets: a random feasible population, then each generation
/// half mutations and half crossovers of the best parents found so far. A child that breaks a budget
/// is measured for cost only, never becomes a parent, and is repaired: shrunk one block gene at a
/// time (a lower rank ratio, MLP ratio or head count) until it fits. Without the repair, a jump to a
/// wider embedding or a deeper net almost always breaks a tight budget and the search stays where it
/// started. Also the random-search baseline, which samples without repair.
/// </summary>
public sealed class EvolutionarySearch(SubnetEvaluator evaluator, SearchSpace space, EvolutionSettings settings, IProgress<string>? progress)
{
    // Proposals per feasible subnet wanted before a run gives up on a subspace the budgets exclude.
    private const int AttemptsPerSubnet = 40;
    // Shrinking steps tried on one infeasible child.
    private const int RepairsPerChild = 4;

    public MethodResult Evolve(string method, Subspace subspace, int seedOffset)
    {
        var random = new Random(settings.Seed * 7919 + seedOffset);
        var sampler = new SubnetSampler(space, subspace);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var measured = new List<SubnetRecord>();
        measured.AddRange(Collect(settings.Population, seen, () => sampler.Sample(random)));
        Report(method, 0, measured);
        for (int generation = 1; generation <= settings.Generations && measured.Count > 0; generation++)
        {
            var parents = measured.OrderByDescending(r => r.Top1).ThenBy(r => r.Key, StringComparer.Ordinal)
                .Take(settings.Parents).Select(r => r.Subnet).ToList();
            int proposal = 0;
            measured.AddRange(Collect(settings.Population, seen, () =>
                proposal++ % 2 == 0
                    ? sampler.Mutate(parents[random.Next(parents.Count)], settings.MutationProbability, settings.StructureMutationProbability, random)
                    : sampler.Crossover(parents[random.Next(parents.Count)], parents[random.Next(parents.Count)], random),
                child => sampler.Shrink(child, random)));
            Report(method, generation, measured);
        }
        return new MethodResult(method, subspace, measured);
    }

    /// <summary>The baseline: <paramref name="count"/> random subnets that meet the budgets.</summary>
    public MethodResult RandomSearch(string method, Subspace subspace, int count, int seedOffset)
    {
        var random = new Random(settings.Seed * 7919 + seedOffset);
        var sampler = new SubnetSampler(space, subspace);
        var measured = Collect(count, new HashSet<string>(StringComparer.Ordinal), () => sampler.Sample(random));
        Report(method, null, measured);
        return new MethodResult(method, subspace, measured);
    }

    /// <summary>
    /// Proposes new subnets until <paramref name="wanted"/> of them meet the budgets (or the attempts run
    /// out); with <paramref name="shrink"/>, an infeasible proposal is followed by shrunk versions of it.
    /// </summary>
    private List<SubnetRecord> Collect(int wanted, HashSet<string> seen, Func<Subnet> propose, Func<Subnet, Subnet?>? shrink = null)
    {
        var kept = new List<SubnetRecord>();
        var repaired = new Queue<(Subnet Subnet, int RepairsLeft)>();
        int attempts = 0;
        while (kept.Count < wanted && attempts < wanted * AttemptsPerSubnet)
        {
            var batch = new List<(Subnet Subnet, int RepairsLeft)>();
            while (batch.Count < wanted - kept.Count && attempts < wanted * AttemptsPerSubnet)
            {
                attempts++;
                (Subnet Subnet, int RepairsLeft) next = repaired.Count > 0 ? repaired.Dequeue() : (propose(), RepairsPerChild);
                if (seen.Add(next.Subnet.Key)) batch.Add(next);
            }
            var records = evaluator.Evaluate([.. batch.Select(b => b.Subnet)]);
            for (int i = 0; i < records.Count; i++)
            {
                if (records[i].Fits) kept.Add(records[i]);
                else if (shrink is not null && batch[i].RepairsLeft > 0 && shrink(batch[i].Subnet) is { } smaller)
                    repaired.Enqueue((smaller, batch[i].RepairsLeft - 1));
            }
        }
        return kept;
    }

    private void Report(string method, int? generation, List<SubnetRecord> measured)
    {
        var best = measured.MaxBy(r => r.Top1);
        string where = generation is { } g ? $"generation {g}/{settings.Generations}" : "done";
        progress?.Report(best is null
            ? $"{method}: {where}, no subnet meets the budgets yet"
            : $"{method}: {where}, {measured.Count} measured, best top-1 {100 * best.Top1:F2} % ({best.Key})");
    }
}
