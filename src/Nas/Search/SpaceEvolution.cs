using McuFormer.Nas.Space;
using McuFormer.Pipeline;

namespace McuFormer.Nas.Search;

public sealed record CellScore(
    double RankRatio,
    int PatchSize,
    int FeasibleSamples,
    double? Score);

/// <summary>
/// MCUFormer's search-space evolution over (rank ratio, patch size): sample each cell (uniform
/// rank ratio, fixed patch size) under the budgets and keep the cell whose better half of feasible
/// samples scores highest on average, so the evolution then searches where good subnets are dense.
/// </summary>
public static class SpaceEvolution
{
    public static (Subspace Chosen, IReadOnlyList<CellScore> Scores) Choose(EvolutionarySearch search, SearchSpace space, int samplesPerCell)
    {
        var scores = new List<CellScore>();
        int cell = 0;
        foreach (double rho in space.Choices.RankRatio)
            foreach (int patch in space.Choices.PatchSize)
            {
                var measured = search.RandomSearch($"space cell ρ={rho:G} p={patch}", new Subspace(true, rho, patch), samplesPerCell, 1000 + cell++).Measured;
                var better = measured.Select(r => r.Top1!.Value).OrderDescending().Take(Math.Max(1, measured.Count / 2)).ToList();
                scores.Add(new CellScore(rho, patch, measured.Count, better.Count > 0 && measured.Count > 0 ? better.Average() : null));
            }
        var best = scores.Where(s => s.Score is not null).MaxBy(s => s.Score)
            ?? throw new SearchInputException(space.SourcePath, "no (rank ratio, patch size) cell has a subnet within the budgets");
        return (new Subspace(true, best.RankRatio, best.PatchSize), scores);
    }
}
