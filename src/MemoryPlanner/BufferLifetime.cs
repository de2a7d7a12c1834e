using McuFormer.Model.Ir;
using McuFormer.Model.Lowering;

namespace McuFormer.MemoryPlanner;

/// <summary>
/// A buffer's bytes and the op steps during which it must stay intact: from the op that writes it
/// (−1 for the model input) to the last op that reads it (the end for the model output).
/// Accesses counts the kernel calls that take a pointer into it: how hot its bytes are.
/// </summary>
public sealed record BufferLifetime(ActivationBuffer Buffer, int First, int Last, int Bytes, int Accesses = 0)
{
    public bool OverlapsInTime(BufferLifetime other) => First <= other.Last && other.First <= Last;

    /// <summary>Kernel calls per byte: the buffers that deserve the fastest memory rank highest.</summary>
    public double AccessesPerByte => (double)Accesses / Math.Max(1, Bytes);

    /// <summary>
    /// Lifetimes of the memory the schedule needs: one per storage (a buffer and the buffers that
    /// overwrite it in place share one), scratch buffers living for their step only.
    /// </summary>
    public static IReadOnlyList<BufferLifetime> Of(Schedule schedule)
    {
        var first = new Dictionary<ActivationBuffer, int>();
        var last = new Dictionary<ActivationBuffer, int>();
        var bytes = new Dictionary<ActivationBuffer, int>();
        void Touch(ActivationBuffer buffer, int step)
        {
            var storage = schedule.Storage(buffer);
            first[storage] = Math.Min(first.GetValueOrDefault(storage, step), step);
            last[storage] = Math.Max(last.GetValueOrDefault(storage, step), step);
            bytes[storage] = Math.Max(bytes.GetValueOrDefault(storage), buffer.Bytes);
        }
        Touch(schedule.Graph.Input.Buffer, -1);
        foreach (var step in schedule.Steps)
        {
            foreach (var read in step.Reads) Touch(read, step.Index);
            foreach (var scratch in step.Scratch) Touch(scratch, step.Index);
            Touch(step.Output, step.Index);
        }
        Touch(schedule.Graph.Output.Buffer, schedule.Steps.Count);
        var accesses = schedule.Calls.SelectMany(c => c.Args.OfType<BufferArg>().Select(a => schedule.Storage(a.Buffer)).Distinct())
            .CountBy(storage => storage).ToDictionary();
        return first.Keys.Select(b => new BufferLifetime(b, first[b], last[b], bytes[b], accesses.GetValueOrDefault(b))).ToList();
    }
}
