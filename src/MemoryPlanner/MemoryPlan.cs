using McuFormer.Model.Ir;

namespace McuFormer.MemoryPlanner;

public sealed record PlacedBuffer(BufferLifetime Lifetime, int Offset)
{
    public ActivationBuffer Buffer => Lifetime.Buffer;
    public int End => Offset + Lifetime.Bytes;
}

/// <summary>Static offsets of every activation buffer inside one arena.</summary>
public sealed class MemoryPlan
{
    private readonly Dictionary<ActivationBuffer, PlacedBuffer> byBuffer;

    public MemoryPlan(PlanningProblem problem, IReadOnlyList<PlacedBuffer> buffers, string method)
    {
        Problem = problem;
        Buffers = buffers;
        Method = method;
        byBuffer = buffers.ToDictionary(b => b.Buffer);
        PeakBytes = buffers.Count == 0 ? 0 : buffers.Max(b => b.End);
        LowerBoundBytes = problem.PeakStep().Bytes;
    }

    public PlanningProblem Problem { get; }
    public IReadOnlyList<PlacedBuffer> Buffers { get; }
    public string Method { get; }
    /// <summary>Arena size: the highest byte any buffer reaches.</summary>
    public int PeakBytes { get; }
    /// <summary>No placement of these lifetimes can use less: the most bytes live at any one step, less what overlap rules let share.</summary>
    public int LowerBoundBytes { get; }

    /// <summary>Offset of a planned storage buffer (resolve aliases with Schedule.Storage first).</summary>
    public int OffsetOf(ActivationBuffer buffer) => byBuffer[buffer].Offset;

    /// <summary>Buffers live at the step that sets the lower bound, largest first.</summary>
    public IReadOnlyList<PlacedBuffer> LiveAtPeak()
    {
        var (step, _) = Problem.PeakStep();
        return Buffers.Where(b => b.Lifetime.LiveAt(step)).OrderByDescending(b => b.Lifetime.Bytes).ToList();
    }

    /// <summary>
    /// Throws when two buffers that are live at the same step share a byte, unless an overlap
    /// rule between them allows their shift; or when a buffer of the problem is not placed, or placed
    /// below the arena.
    /// </summary>
    public void Verify()
    {
        if (Buffers.Count != Problem.Lifetimes.Count || Problem.Lifetimes.Any(l => !byBuffer.ContainsKey(l.Buffer)))
            throw new InvalidOperationException("plan does not place every buffer of its problem exactly once");
        if (Buffers.FirstOrDefault(b => b.Offset < 0) is { } below)
            throw new InvalidOperationException($"plan puts {below.Buffer.Name} below the arena");
        for (int i = 0; i < Buffers.Count; i++)
            for (int j = i + 1; j < Buffers.Count; j++)
            {
                var (a, b) = (Buffers[i], Buffers[j]);
                if (!Problem.MayShare(a.Lifetime, a.Offset, b.Lifetime, b.Offset))
                    throw new InvalidOperationException($"plan overlaps {a.Buffer.Name} and {b.Buffer.Name}");
            }
    }
}
