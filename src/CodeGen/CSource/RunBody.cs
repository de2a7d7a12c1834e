using System.Text;
using McuFormer.MemoryPlanner;
using McuFormer.Model.Ir;
using McuFormer.Model.Lowering;

namespace McuFormer.CodeGen.CSource;

/// <summary>One planned run of the model as model.c runs it: its schedule, its plan, and whether its image is streamed.</summary>
internal sealed record CRun(Schedule Schedule, RegionPlan Plan)
{
    public bool Streamed => Schedule.Options.StreamedInput;
    public string LayoutName => Streamed ? "streamed_buffers" : "whole_image_buffers";

    /// <summary>The address of a buffer's storage in the arena of its region, in this run's own arenas.</summary>
    public string StorageAddress(ActivationBuffer buffer)
    {
        var placement = Plan.PlacementOf(Schedule.Storage(buffer));
        return $"{ModelSource.ArenaName(placement.Region, Streamed)} + {placement.Offset}";
    }
}

/// <summary>
/// The layers of model.c written once for every run: each call names its buffers through a layout
/// struct (`at->blocks_0_attn_qkv_out + 48`), and each run has a const layout holding its plan's
/// addresses. A step whose calls differ between the runs (the patch embedding of a streamed image)
/// branches on `at->streamed`; both entry points inline the body with their own constant layout,
/// so each compiles to the straight-line calls its plan gives.
/// </summary>
internal sealed class RunBody
{
    private readonly IReadOnlyList<CRun> runs;
    private readonly ParamStructs structs;
    private readonly Dictionary<string, string> fieldOf = new(StringComparer.Ordinal);
    private readonly CIdentifiers.Registry fieldNames = new();
    /// <summary>Per run, the buffer of each field name it uses.</summary>
    private readonly List<Dictionary<string, ActivationBuffer>> buffersOf;

    public RunBody(ModelGraph graph, IReadOnlyList<CRun> runs, ParamStructs structs)
    {
        if (runs.Count is < 1 or > 2 || runs[0].Streamed || runs.Skip(1).Any(r => !r.Streamed))
            throw new ArgumentException("the runs are the whole-image run and, optionally, the streamed run");
        this.runs = runs;
        this.structs = structs;
        fieldNames.Unique("streamed");
        buffersOf = runs.Select(_ => new Dictionary<string, ActivationBuffer>(StringComparer.Ordinal)).ToList();
        for (int r = 0; r < runs.Count; r++)
        {
            if (runs[r].Schedule.InputResident) Field(r, graph.Input.Buffer);
            Field(r, graph.Output.Buffer);
            foreach (var buffer in runs[r].Schedule.Calls.SelectMany(c => c.Args).OfType<BufferArg>().Select(b => b.Buffer)) Field(r, buffer);
        }
    }

    public bool HasStreamedRun => runs.Any(r => r.Streamed);

    /// <summary>The layout field of a buffer; buffers are the same across runs when their names are.</summary>
    private string Field(int run, ActivationBuffer buffer)
    {
        if (!fieldOf.TryGetValue(buffer.Name, out var field)) fieldOf[buffer.Name] = field = fieldNames.Unique(CIdentifiers.Stem(buffer.Name));
        if (buffersOf[run].TryGetValue(field, out var known) && known != buffer)
            throw new InvalidOperationException($"two activation buffers are named '{buffer.Name}'");
        buffersOf[run][field] = buffer;
        return field;
    }

    /// <summary>The layout struct type and each run's constant layout.</summary>
    public string Layouts()
    {
        var text = new StringBuilder("/* Where each buffer of a run starts in its arenas (the plan's offsets). */\ntypedef struct {\n");
        if (HasStreamedRun) text.Append("    int streamed;\n");
        foreach (var field in fieldOf.Values) text.Append($"    int8_t *{field};\n");
        text.Append("} mcu_model_layout;\n");
        for (int r = 0; r < runs.Count; r++)
        {
            text.Append($"\nstatic const mcu_model_layout {runs[r].LayoutName} = {{\n");
            if (HasStreamedRun) text.Append($"    .streamed = {(runs[r].Streamed ? 1 : 0)},\n");
            foreach (var (field, buffer) in buffersOf[r]) text.Append($"    .{field} = {runs[r].StorageAddress(buffer)},\n");
            text.Append("};\n");
        }
        return text.ToString();
    }

    /// <summary>An element of a buffer, through the layout `at`.</summary>
    private string At(int run, ActivationBuffer buffer, int offset) => offset == 0 ? $"at->{Field(run, buffer)}" : $"at->{Field(run, buffer)} + {offset}";

    /// <summary>A run's element of a buffer, through its named layout (for the input and output accessors).</summary>
    public string Address(int run, ActivationBuffer buffer, int offset) =>
        $"{runs[run].LayoutName}.{Field(run, buffer)}" + (offset == 0 ? "" : $" + {offset}");

    private IEnumerable<string> Statements(int run, ExecutionStep step, string indent)
    {
        string Arg(KernelArg arg) => arg switch
        {
            BufferArg b => At(run, b.Buffer, b.Offset),
            ConstArg c => c.Name,
            IntArg i => CText.Literal(i.Value),
            NullArg => "NULL",
            _ => throw new InvalidOperationException(arg.ToString()),
        };
        foreach (var call in step.Calls)
        {
            if (call.Kernel.IsCallback)
            {
                foreach (var line in CText.Call(indent, $"status = {call.Kernel.Name}", ["user", .. call.Args.Select(Arg)], ";"))
                    yield return line;
                yield return $"{indent}if (status != 0) return status;";
                continue;
            }
            var tensors = call.Kernel.Tensors.Select(p => Arg(call[p.Name]));
            foreach (var line in CText.Call(indent, call.Kernel.Name, ["&" + structs.NameOf(call), .. tensors], ";")) yield return line;
        }
    }

    /// <summary>The statements of every layer, in run order, shared by the runs.</summary>
    public IReadOnlyList<string> Lines()
    {
        var primary = runs[0].Schedule.Steps;
        foreach (var run in runs.Skip(1))
            if (!run.Schedule.Steps.Select(s => s.Name).SequenceEqual(primary.Select(s => s.Name)))
                throw new ArgumentException("every run must have the same steps (the layer tables are shared)");
        var lines = new List<string>();
        for (int k = 0; k < primary.Count; k++)
        {
            var step = primary[k];
            lines.Add($"    /* {k}: {CText.Comment(step.Name)} ({step.Kind}) */");
            var perRun = runs.Select((_, r) => Statements(r, runs[r].Schedule.Steps[k], "    ").ToList()).ToList();
            if (perRun.All(s => s.SequenceEqual(perRun[0])))
                lines.AddRange(perRun[0]);
            else
            {
                // Two runs differ only in whether the image is streamed: the whole-image run is first.
                lines.Add("    if (at->streamed) {");
                lines.AddRange(Statements(1, runs[1].Schedule.Steps[k], "        "));
                lines.Add("    } else {");
                lines.AddRange(Statements(0, runs[0].Schedule.Steps[k], "        "));
                lines.Add("    }");
            }
            lines.Add($"    if (hook) hook({k}, context);");
        }
        return lines;
    }
}
