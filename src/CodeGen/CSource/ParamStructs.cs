using System.Text;
using McuFormer.Model.Lowering;

namespace McuFormer.CodeGen.CSource;

/// <summary>
/// The const parameter struct of every kernel call (KernelSignature.ParamsType): the call's
/// arguments that are not tensors. Calls with the same op and the same values share one struct,
/// named after the op: blocks_0_attn_qkv, then blocks_0_attn_qkv_2 for a second set of values
/// (a shorter last row block), and blocks_0_patch_embed_copy for a second kernel of one op.
/// </summary>
internal sealed class ParamStructs
{
    private readonly Dictionary<string, Entry> byKey = new(StringComparer.Ordinal);
    private readonly List<Entry> entries = new();
    private readonly Dictionary<string, string> firstKernelOf = new(StringComparer.Ordinal);
    private readonly CIdentifiers.Registry names;

    private sealed record Entry(string Name, KernelCall Call, IReadOnlyList<string> Values);

    /// <param name="names">identifiers already taken in the translation units the structs live in (the constants')</param>
    public ParamStructs(CIdentifiers.Registry names) => this.names = names;

    /// <summary>The struct a call passes (created on first use).</summary>
    public string NameOf(KernelCall call)
    {
        var values = call.Kernel.LayerFields.Select(p => Value(call[p.Name])).ToList();
        var key = $"{call.Owner}\n{call.Kernel.Name}\n{string.Join(",", values)}";
        if (byKey.TryGetValue(key, out var entry)) return entry.Name;
        firstKernelOf.TryAdd(call.Owner, call.Kernel.Name);
        var stem = CIdentifiers.Stem(call.Owner);
        if (firstKernelOf[call.Owner] != call.Kernel.Name) stem += "_" + ShortName(call.Kernel);
        entry = new Entry(names.Unique(stem), call, values);
        byKey[key] = entry;
        entries.Add(entry);
        return entry.Name;
    }

    /// <summary>"linear" for mcu_linear_s8.</summary>
    private static string ShortName(KernelSignature kernel) => kernel.Name.Replace("mcu_", "").Replace("_s8", "");

    private static string Value(KernelArg arg) => arg switch
    {
        IntArg { Value: var v } => CText.Literal(v),
        ConstArg c => c.Name,
        NullArg => "NULL",
        _ => throw new InvalidOperationException($"a parameter struct holds no {arg}"),
    };

    /// <summary>
    /// The declarations of the constants and the structs, each struct right after the arrays it
    /// points to that no earlier struct pointed to.
    /// </summary>
    public string Declarations(IReadOnlyList<ConstArg> constants)
    {
        var byName = constants.ToDictionary(c => c.Name);
        var declared = new HashSet<string>(StringComparer.Ordinal);
        var text = new StringBuilder();
        foreach (var entry in entries)
        {
            var call = entry.Call;
            text.Append($"\n/* {CText.Comment(call.Owner)} */\n");
            foreach (var constant in call.Kernel.LayerFields.Select(p => call[p.Name]).OfType<ConstArg>())
                if (declared.Add(constant.Name))
                    text.Append($"extern const {constant.CType} {constant.Name}[{byName[constant.Name].Data.Length}];\n");
            text.Append($"static const {call.Kernel.ParamsType} {entry.Name} = {{\n");
            var fields = call.Kernel.LayerFields.ToList();
            for (int i = 0; i < fields.Count; i++) text.Append($"    .{fields[i].Name} = {entry.Values[i]},\n");
            text.Append("};\n");
        }
        foreach (var constant in constants.Where(c => !declared.Contains(c.Name)))
            text.Append($"extern const {constant.CType} {constant.Name}[{constant.Data.Length}];\n");
        return text.ToString();
    }
}
