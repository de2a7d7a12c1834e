using McuFormer.Nas.Space;

namespace McuFormer.Nas.Search;

/// <summary>
/// A region of the space a search may propose from: all of it, only uniform rank ratios (one ρ for
/// every block), or one (rank ratio, patch size) cell as MCUFormer's search-space evolution picks.
/// </summary>
public sealed record Subspace(bool UniformRank, double? RankRatio = null, int? PatchSize = null)
{
    public static readonly Subspace Whole = new(false);
    public static readonly Subspace UniformRankOnly = new(true);

    public bool Contains(Subnet subnet) =>
        (!UniformRank || subnet.HasUniformRank)
        && (RankRatio is not { } rho || subnet.RankRatio.All(r => r == rho))
        && (PatchSize is not { } patch || subnet.PatchSize == patch);

    public override string ToString() =>
        RankRatio is { } rho ? $"rank ratio {rho:G} × patch {PatchSize}" : UniformRank ? "uniform rank ratio" : "whole space";
}

/// <summary>Random sampling, mutation and crossover of subnets (AutoFormer's evolution operators), kept inside a subspace.</summary>
public sealed class SubnetSampler(SearchSpace space, Subspace subspace)
{
    private readonly SpaceChoices _c = space.Choices;

    public Subspace Subspace { get; } = subspace;

    public Subnet Sample(Random random)
    {
        int depth = Pick(random, _c.Depth);
        double uniformRank = Subspace.RankRatio ?? Pick(random, _c.RankRatio);
        return new Subnet(Subspace.PatchSize ?? Pick(random, _c.PatchSize), Pick(random, _c.EmbedDim), depth,
            [.. Enumerable.Range(0, depth).Select(_ => Pick(random, _c.NumHeads))],
            [.. Enumerable.Range(0, depth).Select(_ => Pick(random, _c.MlpRatio))],
            [.. Enumerable.Range(0, depth).Select(_ => Subspace.UniformRank ? uniformRank : Pick(random, _c.RankRatio))]);
    }

    /// <summary>
    /// Patch size, embed dim and depth are redrawn with probability <paramref name="structureProbability"/>
    /// and each block's genes with <paramref name="blockProbability"/> (AutoFormer's two rates); a deeper
    /// subnet draws its new blocks at random.
    /// </summary>
    public Subnet Mutate(Subnet parent, double blockProbability, double structureProbability, Random random)
    {
        bool Flip() => random.NextDouble() < blockProbability;
        bool FlipStructure() => random.NextDouble() < structureProbability;
        int depth = FlipStructure() ? Pick(random, _c.Depth) : parent.Depth;
        int[] heads = Resize(parent.Heads, depth, () => Pick(random, _c.NumHeads));
        double[] mlp = Resize(parent.MlpRatio, depth, () => Pick(random, _c.MlpRatio));
        double[] rank = Resize(parent.RankRatio, depth, () => Pick(random, _c.RankRatio));
        for (int b = 0; b < depth; b++)
        {
            if (Flip()) heads[b] = Pick(random, _c.NumHeads);
            if (Flip()) mlp[b] = Pick(random, _c.MlpRatio);
            if (Flip()) rank[b] = Pick(random, _c.RankRatio);
        }
        return Constrain(new Subnet(FlipStructure() ? Pick(random, _c.PatchSize) : parent.PatchSize,
            FlipStructure() ? Pick(random, _c.EmbedDim) : parent.EmbedDim, depth, heads, mlp, rank), random);
    }

    /// <summary>Every gene from either parent with equal chance; blocks past the shorter parent come from the one chosen for depth.</summary>
    public Subnet Crossover(Subnet a, Subnet b, Random random)
    {
        T Either<T>(T x, T y) => random.Next(2) == 0 ? x : y;
        var deep = Either(a, b);
        var other = ReferenceEquals(deep, a) ? b : a;
        T Gene<T>(T[] mine, T[] theirs, int block) => block < theirs.Length ? Either(mine[block], theirs[block]) : mine[block];
        return Constrain(new Subnet(Either(a.PatchSize, b.PatchSize), Either(a.EmbedDim, b.EmbedDim), deep.Depth,
            [.. Enumerable.Range(0, deep.Depth).Select(i => Gene(deep.Heads, other.Heads, i))],
            [.. Enumerable.Range(0, deep.Depth).Select(i => Gene(deep.MlpRatio, other.MlpRatio, i))],
            [.. Enumerable.Range(0, deep.Depth).Select(i => Gene(deep.RankRatio, other.RankRatio, i))]), random);
    }

    /// <summary>
    /// A cheaper neighbour: one block's rank ratio (every block's, when ranks are tied), MLP ratio or head
    /// count moved to the next lower choice; null when every block is already at the smallest choices.
    /// </summary>
    public Subnet? Shrink(Subnet subnet, Random random)
    {
        var moves = new List<Func<Subnet>>();
        for (int b = 0; b < subnet.Depth; b++)
        {
            int block = b;
            if (Lower(subnet.RankRatio[block], _c.RankRatio) is { } rank && Subspace.RankRatio is null)
                moves.Add(() => subnet with { RankRatio = [.. subnet.RankRatio.Select((r, i) => Subspace.UniformRank || i == block ? rank : r)] });
            if (Lower(subnet.MlpRatio[block], _c.MlpRatio) is { } mlp)
                moves.Add(() => subnet with { MlpRatio = [.. subnet.MlpRatio.Select((m, i) => i == block ? mlp : m)] });
            if (Lower(subnet.Heads[block], _c.NumHeads) is { } heads)
                moves.Add(() => subnet with { Heads = [.. subnet.Heads.Select((h, i) => i == block ? heads : h)] });
        }
        return moves.Count == 0 ? null : moves[random.Next(moves.Count)]();
    }

    private static T? Lower<T>(T value, T[] choices) where T : struct, IComparable<T> =>
        choices.Where(c => c.CompareTo(value) < 0).Select(c => (T?)c).Max();

    /// <summary>Brings a child back into the subspace (a tied rank ratio is re-tied to one of its blocks' values).</summary>
    private Subnet Constrain(Subnet subnet, Random random)
    {
        double[] rank = subnet.RankRatio;
        if (Subspace.RankRatio is { } rho) rank = [.. rank.Select(_ => rho)];
        else if (Subspace.UniformRank)
        {
            double tied = rank[random.Next(rank.Length)];
            rank = [.. rank.Select(_ => tied)];
        }
        return subnet with { PatchSize = Subspace.PatchSize ?? subnet.PatchSize, RankRatio = rank };
    }

    private static T[] Resize<T>(T[] values, int length, Func<T> draw) =>
        [.. Enumerable.Range(0, length).Select(i => i < values.Length ? values[i] : draw())];

    private static T Pick<T>(Random random, T[] choices) => choices[random.Next(choices.Length)];
}
