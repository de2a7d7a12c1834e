using McuFormer.Model.Ir;
using McuFormer.Model.Lowering;

namespace McuFormer.MemoryPlanner;

/// <summary>One moment of a model's run and the bytes any schedule must keep live at it.</summary>
/// <param name="Phase">"input", "patch_embed", "attention" or "mlp"</param>
/// <param name="Op">the op of the model the moment belongs to</param>
public sealed record BoundPhase(string Phase, string Op, long Bytes);

/// <summary>
/// The activation bytes ANY schedule of a model must keep live at some moment: a lower bound over
/// every schedule, ours or another, unlike MemoryPlan.LowerBoundBytes, which bounds the placements
/// of one schedule's buffers. The gap between a plan and this bound is what a better schedule could
/// still save.
///
/// Assumptions: activations are int8 (a byte an element); every element is computed once and kept
/// until its last use (no recomputation); attention runs query row by query row: per head, one
/// query's full score row, its softmax, then its P·V, before that head's next query; the resident
/// entry point (mcu_model_run) is handed the whole image, the streamed one reads it piece by piece.
/// Each phase below names a moment and tensors that are all live at it, each counted once (they are
/// distinct tensors); the bound is the largest phase.
///
/// - input (resident image): the image, before anything reads it.
/// - patch_embed (streamed image): when the last patch's first output is written, all its pixels
///   (its other outputs need them) and every other patch token in some form (itself, or the
///   residual stream it became: the first attention's residual add needs each row after every
///   key exists, and the last patch's key does not yet).
/// - attention (H heads, M &gt; 1 queries, N keys, head dims dk and dv, output projection read
///   whole rows, residual add): let T be the moment the last head to start, h*, finishes its first
///   P·V. Then h*'s keys and values are all live (N·(dk + dv): its other queries need them); every
///   other head has either finished, and its whole output is live (M·dv: no projection row exists
///   before T, each needs h*'s output for that row), or is midway and still holds its keys and
///   values (N·(dk + dv)); the residual is whole (its rows feed every key before T and its adds
///   wait for the projection); and h*'s probability row (N).
///   Bytes = residual + N·(dk + dv) + (H − 1)·min(M·dv, N·(dk + dv)) + N; for DeiT-tiny-like
///   blocks (dk = dv = dh, M = N): N·E + (H + 1)·N·dh + N.
/// - mlp (fc2 whose output is added to an attention's residual sum): at fc2's first output, the
///   hidden row it reads is whole (its other outputs need it), and every token row of the residual
///   stream is live as the attention's sum or, not yet summed, as the attention's residual.
/// </summary>
public static class ScheduleIndependentBound
{
    /// <summary>The bound of the run a schedule makes: resident or streamed image as the schedule has it.</summary>
    public static IndependentBound Of(Schedule schedule) => Of(schedule.Graph, schedule.InputResident);

    /// <param name="inputResident">whether the whole image is in memory (mcu_model_run) or read band by band (mcu_model_run_streamed)</param>
    public static IndependentBound Of(ModelGraph graph, bool inputResident)
    {
        var producer = graph.Ops.ToDictionary(o => o.Output);
        var readers = graph.Ops.SelectMany(o => o.Inputs.Select(v => (v.Buffer, Op: o))).Distinct().ToLookup(r => r.Buffer, r => r.Op);
        Op? OnlyReader(ActivationBuffer buffer) => readers[buffer].Take(2).ToList() is [var only] ? only : null;
        var phases = new List<BoundPhase>();
        if (inputResident) phases.Add(new BoundPhase("input", graph.Input.Name, graph.Input.Buffer.Bytes));

        // The residual sums of attention blocks, by their output, with the residual each adds to.
        var attentionSums = new Dictionary<ActivationBuffer, ActivationBuffer>();
        foreach (var softmax in graph.Ops.OfType<SoftmaxOp>())
        {
            if (!producer.TryGetValue(softmax.Input.Buffer, out var first) || first is not MatMulOp qk
                || OnlyReader(softmax.Output) is not MatMulOp pv || pv.A.Buffer != softmax.Output || qk.M < 2)
                continue;
            long keys = (long)qk.N * qk.K, values = (long)qk.N * pv.N;
            var projection = OnlyReader(pv.Output) as LinearOp;
            bool wholeRows = projection is not null && projection.InFeatures == pv.Batch * pv.N;
            long otherHeads = wholeRows ? (pv.Batch - 1) * Math.Min((long)qk.M * pv.N, keys + values) : 0;
            var sum = projection is null ? null : OnlyReader(projection.Output) as AddOp;
            var residual = sum is null ? null : sum.A.Buffer == projection!.Output ? sum.B.Buffer : sum.A.Buffer;
            bool residualFeedsKeys = residual is not null && TokenWiseAncestor(residual, qk.B.Buffer, producer, TokenWiseIntoKeys);
            if (residualFeedsKeys) attentionSums[sum!.Output] = residual!;
            phases.Add(new BoundPhase("attention", qk.Name, (residualFeedsKeys ? residual!.Bytes : 0) + keys + values + otherHeads + qk.N));
        }

        foreach (var fc2 in graph.Ops.OfType<LinearOp>())
        {
            var sum = OnlyReader(fc2.Output) as AddOp;
            var residual = sum is null ? null : sum.A.Buffer == fc2.Output ? sum.B.Buffer : sum.A.Buffer;
            if (residual is not null && attentionSums.ContainsKey(residual) && TokenWiseAncestor(residual, fc2.Input.Buffer, producer, TokenWiseIntoKeys))
                phases.Add(new BoundPhase("mlp", fc2.Name, residual.Bytes + fc2.InFeatures));
        }

        if (!inputResident && graph.Ops.OfType<PatchEmbedOp>().Where(p => p.Image.Buffer == graph.Input.Buffer).Take(2).ToList() is [var patches]
            && attentionSums.Values.Any(r => TokenWiseAncestor(patches.Output, r, producer, RowPreserving)))
        {
            int height = patches.Image.Shape[1], width = patches.Image.Shape[2];
            int lastTop = (patches.GridH - 1) * patches.Patch - patches.PadTop, lastLeft = (patches.GridW - 1) * patches.Patch - patches.PadLeft;
            long pixels = (long)patches.Channels * Inside(lastTop, patches.Patch, height) * Inside(lastLeft, patches.Patch, width);
            phases.Add(new BoundPhase("patch_embed", patches.Name, ((long)patches.GridH * patches.GridW - 1) * patches.Embed + pixels));
        }
        return new IndependentBound(phases);
    }

    /// <summary>Pixels of a patch that starts at `start` and spans `patch` that lie inside [0, size).</summary>
    private static int Inside(int start, int patch, int size) => Math.Max(0, Math.Min(start + patch, size) - Math.Max(start, 0));

    /// <summary>Ops that compute each token row from the same row of their input: what lies between a residual and its keys.</summary>
    private static bool TokenWiseIntoKeys(Op op) => op is LayerNormOp or LinearOp or ElementwiseOp;

    /// <summary>Ops that carry every token row of the patch embedding into the residual stream (class token, positions).</summary>
    private static bool RowPreserving(Op op) => op is ConcatOp or AddConstantOp or CopyOp or ElementwiseOp;

    /// <summary>Whether `ancestor` reaches `buffer` through ops of that kind only (views cost nothing and count as the same rows).</summary>
    private static bool TokenWiseAncestor(ActivationBuffer ancestor, ActivationBuffer buffer, IReadOnlyDictionary<ActivationBuffer, Op> producer,
        Func<Op, bool> allowed)
    {
        var pending = new Stack<ActivationBuffer>([buffer]);
        var seen = new HashSet<ActivationBuffer>();
        while (pending.TryPop(out var current))
        {
            if (current == ancestor) return true;
            if (!seen.Add(current) || !producer.TryGetValue(current, out var op) || !allowed(op)) continue;
            foreach (var input in op.Inputs) pending.Push(input.Buffer);
        }
        return false;
    }
}

/// <summary>The schedule-independent bound of a run (ScheduleIndependentBound) and the phases it is the largest of.</summary>
public sealed record IndependentBound(IReadOnlyList<BoundPhase> Phases)
{
    /// <summary>The bytes no schedule can go below; 0 for a model without any phase the bound knows.</summary>
    public long Bytes => Phases.Count == 0 ? 0 : Phases.Max(p => p.Bytes);

    /// <summary>The phase that sets the bound, or null without phases.</summary>
    public BoundPhase? Peak => Phases.MaxBy(p => p.Bytes);
}
