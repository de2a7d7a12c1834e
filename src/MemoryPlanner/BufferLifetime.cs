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
    public bool LiveAt(int step) => First <= step && step <= Last;

    /// <summary>Kernel calls per byte: the buffers that deserve the fastest memory rank highest.</summary>
    public double AccessesPerByte => (double)Accesses / Math.Max(1, Bytes);
}

/// <summary>
/// What a planner places: the lifetimes of the memory a schedule needs, and the overlap rules
/// that let some pairs of them share bytes although both are live at one step.
/// </summary>
public sealed class PlanningProblem
{
    private readonly Dictionary<(ActivationBuffer, ActivationBuffer), OverlapRule> rules = new();

    public PlanningProblem(IReadOnlyList<BufferLifetime> lifetimes, IReadOnlyList<OverlapRule>? rules = null)
    {
        Lifetimes = lifetimes;
        Rules = rules ?? [];
        var byBuffer = lifetimes.ToDictionary(l => l.Buffer);
        foreach (var rule in Rules)
        {
            string name = $"overlap rule {rule.Input.Name} → {rule.Output.Name}";
            if (!byBuffer.TryGetValue(rule.Input, out var input) || !byBuffer.TryGetValue(rule.Output, out var output))
                throw new ArgumentException($"{name} names a buffer that is not planned");
            // The planners rely on this: the pair is live together at that one step only.
            if (input.OverlapsInTime(output) && input.Last != output.First)
                throw new ArgumentException($"{name}: the input must die at the step that writes the output");
            if (Rules.Count(r => r.Input == rule.Input) > 1 || Rules.Count(r => r.Output == rule.Output) > 1)
                throw new ArgumentException($"{name}: a buffer is the input of one rule at most, and the output of one at most");
            this.rules[(rule.Input, rule.Output)] = rule;
        }
    }

    public IReadOnlyList<BufferLifetime> Lifetimes { get; }
    public IReadOnlyList<OverlapRule> Rules { get; }

    /// <summary>The rule between two buffers, whichever of them is the input, if any.</summary>
    public OverlapRule? RuleBetween(ActivationBuffer a, ActivationBuffer b) =>
        rules.GetValueOrDefault((a, b)) ?? rules.GetValueOrDefault((b, a));

    /// <summary>The part of the problem made of these lifetimes: them, and the rules between two of them.</summary>
    public PlanningProblem Restrict(IReadOnlyList<BufferLifetime> lifetimes)
    {
        var kept = lifetimes.Select(l => l.Buffer).ToHashSet();
        return new PlanningProblem(lifetimes, Rules.Where(r => kept.Contains(r.Input) && kept.Contains(r.Output)).ToList());
    }

    /// <summary>
    /// The lifetimes in groups that overlap rules link (a chain such as image → tokens → tokens
    /// with the class token), each buffer without a rule a group of its own. A rule can only
    /// save bytes when its two buffers share an arena, so a region planner keeps a group together.
    /// </summary>
    public IReadOnlyList<IReadOnlyList<BufferLifetime>> RuleGroups()
    {
        var partners = Lifetimes.ToDictionary(l => l.Buffer, _ => new List<ActivationBuffer>());
        foreach (var rule in Rules)
        {
            partners[rule.Input].Add(rule.Output);
            partners[rule.Output].Add(rule.Input);
        }
        var byBuffer = Lifetimes.ToDictionary(l => l.Buffer);
        var grouped = new HashSet<ActivationBuffer>();
        var groups = new List<IReadOnlyList<BufferLifetime>>();
        foreach (var start in Lifetimes)
        {
            if (!grouped.Add(start.Buffer)) continue;
            var group = new List<BufferLifetime>();
            var pending = new Stack<ActivationBuffer>([start.Buffer]);
            while (pending.TryPop(out var buffer))
            {
                group.Add(byBuffer[buffer]);
                foreach (var partner in partners[buffer].Where(grouped.Add)) pending.Push(partner);
            }
            groups.Add(group);
        }
        return groups;
    }

    /// <summary>
    /// Whether a and b may sit at these offsets: they are not live at one step, they share no
    /// byte, or a rule between them allows the shift.
    /// </summary>
    public bool MayShare(BufferLifetime a, int aOffset, BufferLifetime b, int bOffset)
    {
        if (!a.OverlapsInTime(b) || aOffset + a.Bytes <= bOffset || bOffset + b.Bytes <= aOffset) return true;
        var rule = RuleBetween(a.Buffer, b.Buffer);
        if (rule is null) return false;
        return rule.Input == a.Buffer ? rule.Allows(bOffset - aOffset) : rule.Allows(aOffset - bOffset);
    }

    /// <summary>
    /// The step with the fewest bytes no placement can go below, and those bytes: the bytes live
    /// at the step, less what the rules active there let their pairs share at best.
    /// </summary>
    public (int Step, int Bytes) PeakStep()
    {
        if (Lifetimes.Count == 0) return (0, 0);
        var bytes = Lifetimes.ToDictionary(l => l.Buffer);
        (int Step, int Bytes) best = (0, -1);
        for (int step = Lifetimes.Min(l => l.First); step <= Lifetimes.Max(l => l.Last); step++)
        {
            int live = Lifetimes.Where(l => l.LiveAt(step)).Sum(l => l.Bytes);
            foreach (var rule in Rules)
            {
                var (input, output) = (bytes[rule.Input], bytes[rule.Output]);
                if (input.LiveAt(step) && output.LiveAt(step)) live -= rule.MostSharedBytes(input.Bytes, output.Bytes);
            }
            if (live > best.Bytes) best = (step, live);
        }
        return best;
    }

    /// <summary>
    /// The memory a schedule needs: one lifetime per storage (a buffer and the buffers that
    /// overwrite it in place share one), scratch buffers living for their step only, and the
    /// schedule's overlap rules between storages.
    /// </summary>
    public static PlanningProblem Of(Schedule schedule)
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
        var input = schedule.Graph.Input.Buffer;
        if (schedule.InputResident) Touch(input, -1);
        foreach (var step in schedule.Steps)
        {
            // A streamed image is read band by band into the step's scratch, never whole.
            foreach (var read in step.Reads.Where(r => schedule.InputResident || r != input)) Touch(read, step.Index);
            foreach (var scratch in step.Scratch) Touch(scratch, step.Index);
            Touch(step.Output, step.Index);
        }
        Touch(schedule.Graph.Output.Buffer, schedule.Steps.Count);
        var accesses = schedule.Calls.SelectMany(c => c.Args.OfType<BufferArg>().Select(a => schedule.Storage(a.Buffer)).Distinct())
            .CountBy(storage => storage).ToDictionary();
        var lifetimes = first.Keys.Select(b => new BufferLifetime(b, first[b], last[b], bytes[b], accesses.GetValueOrDefault(b))).ToList();
        var rules = schedule.OverlapRules.Select(r => r with { Input = schedule.Storage(r.Input), Output = schedule.Storage(r.Output) }).ToList();
        return new PlanningProblem(lifetimes, rules);
    }
}
