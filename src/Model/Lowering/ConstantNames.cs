namespace McuFormer.Model.Lowering;

/// <summary>
/// C identifiers for constants: one per array, named after its op and role. The schedules of one
/// model.c (the whole-image run and the streamed one) share one instance, so that arrays of the same
/// role but different contents (a block's shape) get different names, and arrays of equal contents one.
/// </summary>
internal sealed class ConstantNames
{
    private readonly Dictionary<Array, ConstArg> seen = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<string, List<ConstArg>> byStem = new(StringComparer.Ordinal);
    private readonly CIdentifiers.Registry used = new();

    public ConstArg Get(string opName, string what, Array data)
    {
        if (seen.TryGetValue(data, out var arg)) return arg;
        string stem = $"{CIdentifiers.Stem(opName)}_{what}";
        if (!byStem.TryGetValue(stem, out var named)) byStem[stem] = named = [];
        if (named.FirstOrDefault(c => SameContents(c.Data, data)) is { } equal) return seen[data] = equal;
        arg = new ConstArg(used.Unique(stem), data);
        named.Add(arg);
        return seen[data] = arg;
    }

    private static bool SameContents(Array a, Array b) => (a, b) switch
    {
        (sbyte[] x, sbyte[] y) => x.AsSpan().SequenceEqual(y),
        (ushort[] x, ushort[] y) => x.AsSpan().SequenceEqual(y),
        (int[] x, int[] y) => x.AsSpan().SequenceEqual(y),
        _ => a.GetType() == b.GetType() && System.Collections.StructuralComparisons.StructuralEqualityComparer.Equals(a, b),
    };
}
