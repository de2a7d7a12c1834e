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

    public MemoryPlan(IReadOnlyList<PlacedBuffer> buffers, string method)
    {
        Buffers = buffers;
        Method = method;
        byBuffer = buffers.ToDictionary(b => b.Buffer);
        PeakBytes = buffers.Count == 0 ? 0 : buffers.Max(b => b.End);
        LowerBoundBytes = LowerBound(buffers.Select(b => b.Lifetime).ToList());
    }

    public IReadOnlyList<PlacedBuffer> Buffers { get; }
    public string Method { get; }
    /// <summary>Arena size: the highest byte any buffer reaches.</summary>
    public int PeakBytes { get; }
    /// <summary>No placement of these lifetimes can use less: the most bytes live at any one step.</summary>
    public int LowerBoundBytes { get; }

    /// <summary>Offset of a planned storage buffer (resolve aliases with Schedule.Storage first).</summary>
    public int OffsetOf(ActivationBuffer buffer) => byBuffer[buffer].Offset;

    public static int LowerBound(IReadOnlyList<BufferLifetime> lifetimes) => PeakStep(lifetimes).Bytes;

    /// <summary>The step with the most live bytes, and those bytes: what sets the lower bound.</summary>
    public static (int Step, int Bytes) PeakStep(IReadOnlyList<BufferLifetime> lifetimes)
    {
        if (lifetimes.Count == 0) return (0, 0);
        (int Step, int Bytes) best = (0, -1);
        for (int step = lifetimes.Min(l => l.First); step <= lifetimes.Max(l => l.Last); step++)
        {
            int live = lifetimes.Where(l => l.First <= step && step <= l.Last).Sum(l => l.Bytes);
            if (live > best.Bytes) best = (step, live);
        }
        return best;
    }

    /// <summary>Buffers live at the step that sets the lower bound, largest first.</summary>
    public IReadOnlyList<PlacedBuffer> LiveAtPeak()
    {
        var (step, _) = PeakStep(Buffers.Select(b => b.Lifetime).ToList());
        return Buffers.Where(b => b.Lifetime.First <= step && step <= b.Lifetime.Last).OrderByDescending(b => b.Lifetime.Bytes).ToList();
    }

    /// <summary>Throws when two buffers that are live at the same step share a byte.</summary>
    public void Verify()
    {
        for (int i = 0; i < Buffers.Count; i++)
            for (int j = i + 1; j < Buffers.Count; j++)
            {
                var a = Buffers[i];
                var b = Buffers[j];
                if (a.Lifetime.OverlapsInTime(b.Lifetime) && a.Offset < b.End && b.Offset < a.End)
                    throw new InvalidOperationException($"plan overlaps {a.Buffer.Name} and {b.Buffer.Name}");
            }
    }
}
