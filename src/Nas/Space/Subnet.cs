using System.Globalization;
using System.Text.Json.Serialization;

namespace McuFormer.Nas.Space;

/// <summary>
/// One architecture of the search space: global patch size, embed dim and depth, and per block
/// the number of heads, MLP ratio and rank ratio (1 keeps full rank).
/// </summary>
public sealed record Subnet(
    int PatchSize,
    int EmbedDim,
    int Depth,
    [property: JsonPropertyName("num_heads")] int[] Heads,
    double[] MlpRatio,
    double[] RankRatio)
{
    /// <summary>A stable name such as p4-e64-d2-h4.4-m2.2-r1.0.5 (the same as training/supernet.py's subnet_key).</summary>
    [JsonIgnore]
    public string Key => $"p{PatchSize}-e{EmbedDim}-d{Depth}-h{Join(Heads.Select(h => (double)h))}-m{Join(MlpRatio)}-r{Join(RankRatio)}";

    [JsonIgnore]
    public bool HasUniformRank => RankRatio.All(r => r == RankRatio[0]);

    public bool Equals(Subnet? other) => other is not null && Key == other.Key;

    public override int GetHashCode() => Key.GetHashCode(StringComparison.Ordinal);

    public override string ToString() => Key;

    private static string Join(IEnumerable<double> values) => string.Join(".", values.Select(v => v.ToString("G", CultureInfo.InvariantCulture)));
}
