using McuFormer.Model.Ir;

namespace McuFormer.MemoryPlanner;

/// <summary>
/// A buffer's bytes and the op steps during which it must stay intact: from the op that writes it
/// (−1 for the model input) to the last op that reads it (the end for the model output).
/// </summary>
public sealed record BufferLifetime(ActivationBuffer Buffer, int First, int Last, int Bytes)
{
    public bool OverlapsInTime(BufferLifetime other) => First <= other.Last && other.First <= Last;

    public static IReadOnlyList<BufferLifetime> Of(ModelGraph graph)
    {
        var first = new Dictionary<ActivationBuffer, int> { [graph.Input.Buffer] = -1 };
        var last = new Dictionary<ActivationBuffer, int> { [graph.Input.Buffer] = -1 };
        for (int step = 0; step < graph.Ops.Count; step++)
        {
            var op = graph.Ops[step];
            foreach (var input in op.Inputs) last[input.Buffer] = step;
            first[op.Output] = step;
            last[op.Output] = Math.Max(last.GetValueOrDefault(op.Output, step), step);
        }
        last[graph.Output.Buffer] = graph.Ops.Count;
        return graph.Buffers.Select(b => new BufferLifetime(b, first[b], last[b], b.Bytes)).ToList();
    }
}
