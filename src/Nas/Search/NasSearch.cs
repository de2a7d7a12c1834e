using McuFormer.Nas.Space;

namespace McuFormer.Nas.Search;

public sealed record SearchOptions(
    EvolutionSettings Evolution,
    bool Baselines,
    bool EvolveSpace,
    int SamplesPerCell);

public sealed record SearchOutcome(MethodResult Main, MethodResult? Random, MethodResult? UniformRank, IReadOnlyList<CellScore>? Cells);

/// <summary>
/// The whole search: optionally MCUFormer's (rank ratio, patch size) space evolution, the
/// evolutionary search in the chosen subspace, and the baselines measured with the same number of
/// feasible subnets: random search over the whole space, and evolution restricted to one rank
/// ratio for every block (the best uniform-ρ configuration).
/// </summary>
public static class NasSearch
{
    public const string EvolutionMethod = "evolution";
    public const string RandomMethod = "random";
    public const string UniformRankMethod = "uniform-rank evolution";

    public static SearchOutcome Run(EvolutionarySearch search, SearchSpace space, SearchOptions options)
    {
        var subspace = Subspace.Whole;
        IReadOnlyList<CellScore>? cells = null;
        if (options.EvolveSpace) (subspace, cells) = SpaceEvolution.Choose(search, space, options.SamplesPerCell);
        var main = search.Evolve(EvolutionMethod, subspace, 0);
        if (!options.Baselines) return new SearchOutcome(main, null, null, cells);
        var random = search.RandomSearch(RandomMethod, Subspace.Whole, main.Measured.Count, 1);
        var uniform = search.Evolve(UniformRankMethod, Subspace.UniformRankOnly, 2);
        return new SearchOutcome(main, random, uniform, cells);
    }
}
