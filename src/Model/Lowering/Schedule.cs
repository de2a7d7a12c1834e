using McuFormer.Model.Ir;
using McuFormer.Model.Quantization;

namespace McuFormer.Model.Lowering;

/// <summary>
/// One step of the compiled model: the kernel calls of one op, or of a fused group of ops, with
/// the buffers it reads, the buffer it writes and the scratch it needs while it runs.
/// </summary>
public sealed record ExecutionStep(int Index, string Name, string Kind, IReadOnlyList<QuantizedOp> Ops,
    IReadOnlyList<ActivationBuffer> Reads, ActivationBuffer Output, IReadOnlyList<ActivationBuffer> Scratch,
    IReadOnlyList<KernelCall> Calls)
{
    public long Macs => Ops.Sum(o => o.Op.Macs);
    public long ParameterBytes => Ops.Sum(o => o.Op.ParameterBytes);
}

/// <summary>
/// The steps of a model in run order. Aliases maps a buffer to the buffer whose memory it
/// overwrites in place; planners place both at one offset. Overlap rules say where a step's
/// output may partly overwrite the input it consumes; planners may, but need not, use them.
/// </summary>
public sealed class Schedule(ModelGraph graph, ScheduleOptions options, IReadOnlyList<ExecutionStep> steps,
    IReadOnlyDictionary<ActivationBuffer, ActivationBuffer> aliases, IReadOnlyList<OverlapRule> overlapRules)
{
    /// <summary>The names of its constants, which a streamed variant lowered beside it shares.</summary>
    internal ConstantNames ConstantNames { get; init; } = new();
    public IReadOnlyList<OverlapRule> OverlapRules { get; } = overlapRules;
    public ScheduleOptions Options { get; } = options;
    public ModelGraph Graph { get; } = graph;
    public IReadOnlyList<ExecutionStep> Steps { get; } = steps;
    public IReadOnlyDictionary<ActivationBuffer, ActivationBuffer> Aliases { get; } = aliases;

    /// <summary>The buffer that owns the memory this buffer lives in.</summary>
    public ActivationBuffer Storage(ActivationBuffer buffer)
    {
        while (Aliases.TryGetValue(buffer, out var target)) buffer = target;
        return buffer;
    }

    /// <summary>Whether the whole input image lives in memory (it does unless it is streamed band by band).</summary>
    public bool InputResident => !Options.StreamedInput;

    public IEnumerable<ActivationBuffer> Buffers =>
        Steps.SelectMany(s => s.Scratch.Append(s.Output)).Concat(InputResident ? [Graph.Input.Buffer] : []).Distinct();

    public IEnumerable<KernelCall> Calls => Steps.SelectMany(s => s.Calls);

    /// <summary>A step index as people read it: −1 is the input, past the end the output.</summary>
    public string Describe(int step) =>
        step < 0 ? "input" : step < Steps.Count ? $"{step}: {Steps[step].Kind} {Steps[step].Name}" : "output";
}
