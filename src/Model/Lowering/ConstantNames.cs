namespace McuFormer.Model.Lowering;

/// <summary>C identifiers for constants: one per array, named after its op and role.</summary>
internal sealed class ConstantNames
{
    private readonly Dictionary<Array, ConstArg> seen = new(ReferenceEqualityComparer.Instance);
    private readonly CIdentifiers.Registry used = new();

    public ConstArg Get(string opName, string what, Array data)
    {
        if (seen.TryGetValue(data, out var arg)) return arg;
        return seen[data] = new ConstArg(used.Unique($"{CIdentifiers.Stem(opName)}_{what}"), data);
    }
}
