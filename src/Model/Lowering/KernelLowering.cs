using McuFormer.Model.Ir;
using McuFormer.Model.Quantization;

namespace McuFormer.Model.Lowering;

/// <summary>How aggressively the schedule saves RAM.</summary>
/// <param name="Fuse">run attention head by head in blocks of query rows, and the MLP in chunks of tokens,
/// so that the score matrix and the hidden activations never exist whole</param>
/// <param name="InPlace">let residual adds and element-wise tables overwrite an input that is read for the last time,
/// and let token-wise steps (linear, LayerNorm, patch embedding) write over the part of such an input they have consumed</param>
/// <param name="FusedLayerNorms">LayerNorms (of KernelLowering.FusableLayerNorms) to fuse into the linear or MLP after
/// them, so that their output never exists in full; with Fuse only</param>
/// <param name="StreamedInput">the image arrives one patch row's band of pixel rows at a time from the caller
/// (KernelLowering.ReadBand calls), so the whole image never exists; with Fuse, for models whose input only
/// the patch embedding reads (KernelLowering.CanStreamInput)</param>
public sealed record ScheduleOptions(bool Fuse, bool InPlace, int AttentionRowBlock = 8, int MlpRowChunk = 8,
    IReadOnlySet<LayerNormOp>? FusedLayerNorms = null, bool StreamedInput = false)
{
    /// <summary>One step per op, every buffer separate: what validation compares layer by layer.</summary>
    public static readonly ScheduleOptions Unfused = new(false, false);
    public static readonly ScheduleOptions Fused = new(true, true);

    /// <summary>How the steps run, for people.</summary>
    public string Describe() => Fuse
        ? $"fused: attention in blocks of {AttentionRowBlock} query rows, MLP in chunks of {MlpRowChunk} tokens, " +
          $"{FusedLayerNorms?.Count ?? 0} LayerNorms fused into the next linear{(InPlace ? ", in-place adds, token overwriting" : "")}" +
          (StreamedInput ? ", image streamed band by band" : "")
        : "unfused";
}

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

/// <summary>
/// The one place that decides how quantized ops become runtime-c kernel calls (pointers, strides,
/// loops over heads, row blocks and concatenation parts). The host executor runs these calls and
/// the code generator prints them, so the host and the firmware execute the same sequence.
/// </summary>
public static class KernelLowering
{
    /// <summary>Whether a buffer is read by that op alone (and is not the model's output).</summary>
    private static Func<ActivationBuffer, int, bool> SoleReaders(QuantizedModel model)
    {
        var readBy = ReadOnlyBy(model);
        return (b, reader) => readBy(b, [reader]);
    }

    /// <summary>Whether a buffer is read by those ops alone (and is not the model's output).</summary>
    private static Func<ActivationBuffer, int[], bool> ReadOnlyBy(QuantizedModel model)
    {
        var readers = new Dictionary<ActivationBuffer, List<int>>();
        for (int i = 0; i < model.Ops.Count; i++)
            foreach (var input in model.Ops[i].Op.Inputs)
            {
                if (!readers.TryGetValue(input.Buffer, out var list)) readers[input.Buffer] = list = new List<int>();
                list.Add(i);
            }
        var output = model.Graph.Output.Buffer;
        return (b, ops) => b != output && readers.TryGetValue(b, out var r) && r.All(ops.Contains);
    }

    /// <summary>
    /// Whether attention can write its output over its queries and the output projection read it
    /// from there (Emitter.AttentionOverQueries): each head's queries sit at columns head × dh of
    /// every query row, one after another (the layout of a fused qkv linear), the attention output
    /// has the same [tokens][heads × dh] shape, nothing but this attention reads the qkv buffer
    /// and nothing but the projection reads the attention output, and queries share no byte with
    /// keys or values.
    /// </summary>
    private static bool OutputOverQueries(QuantizedMatMul qk, QuantizedMatMul pv, QuantizedLinear proj, int at, Func<ActivationBuffer, int[], bool> readOnlyBy)
    {
        var (q, v, l) = (qk.MatMul, pv.MatMul, proj.Linear);
        var qkv = q.A.Buffer;
        if (q.B.Buffer != qkv || v.B.Buffer != qkv || q.AStrides.Col != 1 || q.ABatchStride != q.K || v.N != q.K || v.M != q.M
            || q.AStrides.Row < q.Batch * q.K || l.Input.Buffer != v.Output || l.Input.Offset != 0 || l.InputRowStride != v.Batch * v.N
            || l.InFeatures != v.Batch * v.N || l.Rows != v.M || !readOnlyBy(qkv, [at, at + 2]) || !readOnlyBy(v.Output, [at + 3]))
            return false;
        var query = new bool[qkv.ElementCount];
        Visit(q.A, q.Batch, q.M, q.K, q.ABatchStride, q.AStrides.Row, 1, at => query[at] = true);
        bool shared = false;
        Visit(q.B, q.Batch, q.K, q.N, q.BBatchStride, q.BStrides.Row, q.BStrides.Col, at => shared |= query[at]);
        Visit(v.B, v.Batch, v.K, v.N, v.BBatchStride, v.BStrides.Row, v.BStrides.Col, at => shared |= query[at]);
        return !shared;
    }

    /// <summary>Visits the element offsets of a batch of matrices in a view: batch × rows × columns with those strides.</summary>
    private static void Visit(View view, int batch, int rows, int columns, int batchStride, int rowStride, int columnStride, Action<int> visit)
    {
        for (int b = 0; b < batch; b++)
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < columns; c++)
                    visit(view.Offset + b * batchStride + r * rowStride + c * columnStride);
    }

    /// <summary>
    /// LayerNorms that can be fused into the linear right after them (mcu_layernorm_linear_s8):
    /// that linear alone reads the normalised tensor, whole, with its zero point. In model order.
    /// </summary>
    public static IReadOnlyList<LayerNormOp> FusableLayerNorms(QuantizedModel model)
    {
        var onlyReadBy = SoleReaders(model);
        return Enumerable.Range(0, model.Ops.Count - 1).Where(i => FusesIntoNext(model.Ops, i, onlyReadBy))
            .Select(i => ((QuantizedLayerNorm)model.Ops[i]).LayerNorm).ToList();
    }

    private static bool FusesIntoNext(IReadOnlyList<QuantizedOp> ops, int i, Func<ActivationBuffer, int, bool> onlyReadBy) =>
        i + 1 < ops.Count && ops[i] is QuantizedLayerNorm { LayerNorm: var n } norm && ops[i + 1] is QuantizedLinear { Linear: var l } linear
        && l.Input.Buffer == n.Output && l.Input.Offset == 0 && l.InputRowStride == n.Dim && l.InFeatures == n.Dim && l.Rows == n.Rows
        && n.Output.ElementCount == n.Rows * n.Dim && linear.Params.InputZeroPoint == norm.OutputZeroPoint && onlyReadBy(n.Output, i + 1);

    /// <summary>
    /// Not a runtime-c kernel: the caller's band reader, asked for image rows
    /// [first_row, first_row + rows) of every channel, CHW, into a band buffer
    /// (arguments: first row, rows, band). The generated mcu_model_run_streamed calls it.
    /// </summary>
    public const string ReadBand = "read_band";

    /// <summary>
    /// The schedule of the streamed entry point that goes with <paramref name="schedule"/> (the same steps,
    /// the image read band by band), or null when the model gets none: only fused schedules whose image
    /// only a patch embedding reads.
    /// </summary>
    public static Schedule? StreamedVariant(QuantizedModel model, Schedule schedule) =>
        schedule.Options.Fuse && CanStreamInput(model) ? Lower(model, schedule.Options with { StreamedInput = true }) : null;

    /// <summary>Whether the image can arrive band by band: only a patch embedding reads it, whole and dense.</summary>
    public static bool CanStreamInput(QuantizedModel model)
    {
        var input = model.Graph.Input.Buffer;
        var readers = model.Ops.Where(o => o.Op.Inputs.Any(v => v.Buffer == input)).ToList();
        return readers is [QuantizedPatchEmbed { PatchEmbed.Image.IsDenseRowMajor: true }] && input != model.Graph.Output.Buffer;
    }

    public static Schedule Lower(QuantizedModel model, ScheduleOptions options)
    {
        if (options.StreamedInput && !(options.Fuse && CanStreamInput(model)))
            throw new ArgumentException("a streamed input needs a fused schedule and a model whose input only the patch embedding reads");
        var ops = model.Ops;
        var OnlyReadBy = SoleReaders(model);
        var readOnlyBy = ReadOnlyBy(model);
        bool IsMlp(int i) =>
            options.Fuse && i + 2 < ops.Count && ops[i] is QuantizedLinear fc1 && ops[i + 1] is QuantizedElementwise act && ops[i + 2] is QuantizedLinear fc2
            && act.Elementwise.Input.Buffer == fc1.Op.Output && OnlyReadBy(fc1.Op.Output, i + 1)
            && fc2.Linear.Input.Buffer == act.Op.Output && fc2.Linear.Input.IsDenseRowMajor && OnlyReadBy(act.Op.Output, i + 2)
            && fc1.Linear.Rows == fc2.Linear.Rows;

        var steps = new List<ExecutionStep>();
        var aliases = new Dictionary<ActivationBuffer, ActivationBuffer>();
        var rules = new List<OverlapRule>();
        var names = new ConstantNames();
        for (int i = 0; i < ops.Count; i++)
        {
            var emitter = new Emitter(steps.Count, names);
            int next = i + 1 < ops.Count ? i + 1 : -1, after = i + 2 < ops.Count ? i + 2 : -1;
            if (options.Fuse && after >= 0 && ops[i] is QuantizedMatMul qk && ops[next] is QuantizedSoftmax softmax && ops[after] is QuantizedMatMul pv
                && softmax.Softmax.Input.Buffer == qk.Op.Output && OnlyReadBy(qk.Op.Output, next)
                && pv.MatMul.A.Buffer == softmax.Op.Output && OnlyReadBy(softmax.Op.Output, after) && qk.MatMul.N == pv.MatMul.K)
            {
                if (options.InPlace && after + 1 < ops.Count && ops[after + 1] is QuantizedLinear proj
                    && proj.Linear.InFeatures <= LinearOverlapMaxInFeatures && OutputOverQueries(qk, pv, proj, i, readOnlyBy))
                {
                    var overQueries = emitter.AttentionOverQueries(qk, softmax, pv, proj, options.AttentionRowBlock);
                    steps.Add(emitter.Step("attention", [qk, softmax, pv, proj], overQueries));
                    // The projection reads query rows (stride ≥ its output rows) for the last time.
                    rules.Add(new OverlapRule(qk.MatMul.A.Buffer, proj.Op.Output, null, qk.MatMul.A.Offset));
                    i += 3;
                    continue;
                }
                var scratch = emitter.Attention(qk, softmax, pv, options.AttentionRowBlock);
                steps.Add(emitter.Step("attention", [qk, softmax, pv], scratch));
                i += 2;
                continue;
            }
            if (options.Fuse && ops[i] is QuantizedLayerNorm norm && options.FusedLayerNorms?.Contains(norm.LayerNorm) == true
                && FusesIntoNext(ops, i, OnlyReadBy))
            {
                if (IsMlp(next))
                {
                    var (fc1, act, fc2) = ((QuantizedLinear)ops[next], (QuantizedElementwise)ops[next + 1], (QuantizedLinear)ops[next + 2]);
                    steps.Add(emitter.Step("mlp", [norm, fc1, act, fc2], emitter.Mlp(fc1, act, fc2, options.MlpRowChunk, norm)));
                    i += 3;
                    continue;
                }
                var linear = (QuantizedLinear)ops[next];
                steps.Add(emitter.Step("layernorm_linear", [norm, linear], emitter.LayerNormLinear(norm, linear)));
                var n = norm.LayerNorm;
                if (options.InPlace && WholeRows(n.Input, n.Rows, n.InputRowStride, n.Dim) && OnlyReadBy(n.Input.Buffer, i))
                    rules.Add(SegmentedTokenByToken(norm, OverlapRule.TokenByToken(n.Input.Buffer, n.Dim, linear.Op.Output, linear.Linear.OutFeatures)));
                i += 1;
                continue;
            }
            if (IsMlp(i))
            {
                var (fc1, act, fc2) = ((QuantizedLinear)ops[i], (QuantizedElementwise)ops[next], (QuantizedLinear)ops[after]);
                steps.Add(emitter.Step("mlp", [fc1, act, fc2], emitter.Mlp(fc1, act, fc2, options.MlpRowChunk)));
                i += 2;
                continue;
            }
            if (options.Fuse && ops[i] is QuantizedPatchEmbed patches)
            {
                var image = patches.PatchEmbed.Image;
                if (options.StreamedInput && image.Buffer == model.Graph.Input.Buffer)
                {
                    steps.Add(emitter.Step(patches.Op.Kind, [patches], emitter.PatchBands(patches)));
                    continue;
                }
                var scratch = emitter.PatchRows(patches);
                steps.Add(emitter.Step(patches.Op.Kind, [patches], scratch));
                if (options.InPlace && image.IsDenseRowMajor && OnlyReadBy(image.Buffer, i)) rules.Add(PatchRowsRule(patches.PatchEmbed));
                continue;
            }
            var overwritten = options.InPlace ? InPlaceTarget(ops[i], i, model.Graph, OnlyReadBy) : null;
            if (overwritten is not null) aliases[ops[i].Op.Output] = overwritten;
            else if (options.InPlace && (TokenByTokenRule(ops[i], i, OnlyReadBy) ?? ConcatRule(ops[i], i, OnlyReadBy)) is { } rule) rules.Add(rule);
            emitter.Single(ops[i], overwritten);
            steps.Add(emitter.Step(ops[i].Op.Kind, [ops[i]], []));
        }
        return new Schedule(model.Graph, options, steps, aliases, rules);
    }

    /// <summary>
    /// mcu_linear_s8 copies a token that its output row overlaps into a stack row of this many
    /// bytes (MCU_LINEAR_OVERLAP_MAX_IN_FEATURES in kernels.h) before writing over it.
    /// </summary>
    public const int LinearOverlapMaxInFeatures = 1536;

    /// <summary>Tokens mcu_layernorm_linear_s8 normalises at a time (MCU_LAYERNORM_LINEAR_BLOCK in kernels.h).</summary>
    public const int LayerNormLinearBlock = 4;

    /// <summary>The runtime-c kernels a call of this kernel needs linked: itself and those it is built from.</summary>
    public static IReadOnlyList<string> KernelsLinkedBy(string kernel) => kernel switch
    {
        "mcu_layernorm_linear_s8" => [kernel, "mcu_layernorm_s8", "mcu_linear_s8"],
        ReadBand => [],
        _ => [kernel],
    };

    /// <summary>
    /// The overlap a token-by-token kernel tolerates (OverlapRule.TokenByToken) when it reads a
    /// whole dense input for the last time.
    /// </summary>
    private static OverlapRule? TokenByTokenRule(QuantizedOp op, int index, Func<ActivationBuffer, int, bool> onlyReadBy) =>
        op switch
        {
            QuantizedLinear { Linear: var l } when WholeRows(l.Input, l.Rows, l.InputRowStride, l.InFeatures)
                && l.InFeatures <= LinearOverlapMaxInFeatures && onlyReadBy(l.Input.Buffer, index)
                => OverlapRule.TokenByToken(l.Input.Buffer, l.InFeatures, l.Output, l.OutFeatures),
            QuantizedLayerNorm { LayerNorm: var n } norm when WholeRows(n.Input, n.Rows, n.InputRowStride, n.Dim) && onlyReadBy(n.Input.Buffer, index)
                => SegmentedTokenByToken(norm, OverlapRule.TokenByToken(n.Input.Buffer, n.Dim, n.Output, n.Dim)),
            _ => null,
        };

    /// <summary>
    /// A concatenation of one activation and constants placed before it (a class token in front
    /// of the patch tokens) copies the activation forward, element by element, to D bytes past
    /// the output's start (mcu_copy_s8). At a shift ≤ −D every element lands at or before where
    /// it is read, and the constants land below the activation: the output may overwrite it.
    /// </summary>
    private static OverlapRule? ConcatRule(QuantizedOp op, int index, Func<ActivationBuffer, int, bool> onlyReadBy)
    {
        if (op is not QuantizedConcat concat || concat.Parts.Count(p => p.Source is not null) != 1) return null;
        static bool Contiguous(CopyPlan plan) =>
            plan.Shape[..3].All(n => n == 1) && plan.SourceStrides[3] == 1 && plan.DestinationStrides[3] == 1;
        var part = concat.Parts.Single(p => p.Source is not null);
        var source = part.Source!;
        int start = part.Copy.DestinationOffset;
        bool constantsBelow = concat.Parts.Where(p => p != part)
            .All(p => Contiguous(p.Copy) && p.Copy.DestinationOffset + p.Copy.Shape[3] <= start);
        return Contiguous(part.Copy) && constantsBelow && part.Copy.SourceOffset == 0 && source.IsDenseRowMajor
            && part.Copy.Shape[3] == source.Buffer.ElementCount && onlyReadBy(source.Buffer, index)
            ? new OverlapRule(source.Buffer, concat.Op.Output, null, -start)
            : null;
    }

    /// <summary>
    /// A LayerNorm over row groups runs one call per group (NormSegments), and each call picks its
    /// token direction alone. The calls go in the order the rule's direction takes tokens
    /// (Emitter.InTokenOrder), so tokens are taken as one call would take them; where both
    /// directions are allowed (equal rows), the calls go forward and the rule keeps the shifts
    /// at which forward is safe.
    /// </summary>
    private static OverlapRule SegmentedTokenByToken(QuantizedLayerNorm norm, OverlapRule rule) =>
        norm.Segments.Count > 1 && rule.MinShift is null && rule.MaxShift is null ? rule with { MaxShift = 0 } : rule;

    /// <summary>Whether a token-wise input view is its whole buffer, rows back to back: the dense layout overlap rules describe.</summary>
    private static bool WholeRows(View input, int rows, int rowStride, int features) =>
        input.Offset == 0 && rowStride == features && rows * features == input.Buffer.ElementCount;

    /// <summary>
    /// The patch embedding run one patch row at a time (Emitter.PatchRows) may write its tokens
    /// over the image rows it has consumed: the tokens of patch rows 0..gy, written after patch row
    /// gy is read whole, must end before the first image row a later patch row reads in channel 0
    /// (later channels lie above all of channel 0). Writing below the image is always safe.
    /// </summary>
    private static OverlapRule PatchRowsRule(PatchEmbedOp e)
    {
        int height = e.Image.Shape[1], width = e.Image.Shape[2], tokenRowBytes = e.GridW * e.Embed;
        int? maxShift = null;
        for (int gy = 0; gy + 1 < e.GridH; gy++)
        {
            int unreadRow = Math.Clamp((gy + 1) * e.Patch - e.PadTop, 0, height);
            int limit = unreadRow * width - (gy + 1) * tokenRowBytes;
            maxShift = Math.Min(maxShift ?? limit, limit);
        }
        return new OverlapRule(e.Image.Buffer, e.Output, null, maxShift);
    }

    /// <summary>
    /// The input an element-wise op may overwrite: one it reads whole, for the last time, with the
    /// same layout as its output (the kernels allow exactly this aliasing).
    /// </summary>
    private static ActivationBuffer? InPlaceTarget(QuantizedOp op, int index, ModelGraph graph, Func<ActivationBuffer, int, bool> onlyReadBy)
    {
        IEnumerable<View> candidates = op switch
        {
            QuantizedAdd { Add: var a } => [a.A, a.B],
            QuantizedAddConstant { AddConstant: var c } => [c.Input],
            QuantizedElementwise { Elementwise: var e } => [e.Input],
            _ => [],
        };
        return candidates.FirstOrDefault(v => v.Buffer != graph.Input.Buffer && v.CoversBuffer
            && v.Buffer.ElementCount == op.Op.Output.ElementCount && onlyReadBy(v.Buffer, index))?.Buffer;
    }

    /// <summary>Emits the calls of one step.</summary>
    private sealed class Emitter(int step, ConstantNames names)
    {
        private readonly List<KernelCall> calls = new();

        public ExecutionStep Step(string kind, IReadOnlyList<QuantizedOp> ops, IReadOnlyList<ActivationBuffer> scratch)
        {
            var internals = ops.Select(o => o.Op.Output).ToHashSet();
            var reads = ops.SelectMany(o => o.Op.Inputs).Select(v => v.Buffer).Where(b => !internals.Contains(b)).Distinct().ToList();
            return new ExecutionStep(step, ops[0].Op.Name, kind, ops, reads, ops[^1].Op.Output, scratch, calls);
        }

        private void Call(string kernel, params KernelArg[] args) => calls.Add(new KernelCall(kernel, args, step));
        private ConstArg Const(QuantizedOp owner, string what, Array data) => names.Get(owner.Op.Name, what, data);
        private KernelArg Optional(QuantizedOp owner, string what, Array? data) => data is null ? new NullArg() : Const(owner, what, data);
        private static IntArg I(long v) => new(v);
        private static BufferArg At(View v, int extra = 0) => new(v.Buffer, v.Offset + extra);
        private static BufferArg Whole(ActivationBuffer b) => new(b, 0);

        private void Linear(QuantizedLinear q, BufferArg input, int inputRowStride, BufferArg output, int rows)
        {
            var (l, p) = (q.Linear, q.Params);
            Call("mcu_linear_s8", input, I(inputRowStride), output, I(l.OutFeatures), I(rows), I(l.InFeatures), I(l.OutFeatures),
                Const(q, "weights", p.Weights), Optional(q, "bias", p.Bias), Const(q, "multipliers", p.Multipliers),
                Const(q, "shifts", p.Shifts), I(p.InputZeroPoint), I(p.OutputZeroPoint));
        }

        private void MatMul(QuantizedMatMul q, BufferArg a, int aRowStride, int aColStride, BufferArg b, BufferArg output, int outRowStride, int m)
        {
            var mm = q.MatMul;
            Call("mcu_matmul_s8", a, I(aRowStride), I(aColStride), b, I(mm.BStrides.Row), I(mm.BStrides.Col), output, I(outRowStride),
                I(m), I(mm.K), I(mm.N), I(q.AZeroPoint), I(q.BZeroPoint), I(q.Multiplier), I(q.Shift), I(q.OutputZeroPoint));
        }

        private void Lut(QuantizedElementwise q, BufferArg input, BufferArg output, int count) =>
            Call("mcu_lut_s8", input, output, I(count), Const(q, "table", q.Table));

        private void Softmax(QuantizedSoftmax q, BufferArg input, BufferArg output, int rows, int length) =>
            Call("mcu_softmax_s8", input, output, I(rows), I(length), Const(q, "exp_table", q.ExpTable));

        private void Add(AddParams p, KernelArg a, KernelArg b, BufferArg output, int count) =>
            Call("mcu_add_s8", a, b, output, I(count), I(p.AZeroPoint), I(p.AMultiplier), I(p.BZeroPoint), I(p.BMultiplier),
                I(p.Shift), I(p.OutputZeroPoint));

        /// <param name="overwritten">the input whose memory the output takes over, if any</param>
        public void Single(QuantizedOp op, ActivationBuffer? overwritten)
        {
            var output = Whole(overwritten ?? op.Op.Output);
            switch (op)
            {
                case QuantizedLinear q:
                    Linear(q, At(q.Linear.Input), q.Linear.InputRowStride, output, q.Linear.Rows);
                    break;
                case QuantizedPatchEmbed { PatchEmbed: var e, Params: var p } q:
                    Call("mcu_patch_embed_s8", At(e.Image), I(e.Channels), I(e.Image.Shape[1]), I(e.Image.Shape[2]), I(e.Patch),
                        I(e.PadTop), I(e.PadLeft), I(e.GridH), I(e.GridW), Const(q, "weights", p.Weights), Optional(q, "bias", p.Bias),
                        Const(q, "multipliers", p.Multipliers), Const(q, "shifts", p.Shifts), I(e.Embed), I(p.InputZeroPoint),
                        I(p.OutputZeroPoint), output);
                    break;
                case QuantizedLayerNorm { LayerNorm: var n } q:
                    foreach (var segment in InTokenOrder(q.Segments, n.Dim, n.Dim))
                        Call("mcu_layernorm_s8", At(n.Input, segment.FirstRow * n.InputRowStride), I(n.InputRowStride),
                            output with { Offset = output.Offset + segment.FirstRow * n.Dim }, I(n.Dim), I(segment.Rows), I(n.Dim),
                            I(segment.EpsilonTerm), Const(q, "gamma", q.Gamma), Const(q, "beta", q.Beta), I(q.OutputZeroPoint));
                    break;
                case QuantizedElementwise q:
                    Lut(q, Whole(q.Elementwise.Input.Buffer), output, q.Op.Output.ElementCount);
                    break;
                case QuantizedMatMul { MatMul: var m } q:
                    for (int b = 0; b < m.Batch; b++)
                        MatMul(q, At(m.A, b * m.ABatchStride), m.AStrides.Row, m.AStrides.Col, At(m.B, b * m.BBatchStride),
                            output with { Offset = b * m.N }, m.Batch * m.N, m.M);
                    break;
                case QuantizedSoftmax { Softmax: var s } q:
                    Softmax(q, Whole(s.Input.Buffer), output, s.Rows, s.Length);
                    break;
                case QuantizedAdd { Add: var a } q:
                    foreach (var s in q.Segments)
                        Add(s.Params, new BufferArg(a.A.Buffer, s.Start), new BufferArg(a.B.Buffer, s.Start), output with { Offset = s.Start }, s.Count);
                    break;
                case QuantizedAddConstant { AddConstant: var c } q:
                    for (int i = 0; i < q.Segments.Count; i++)
                    {
                        var s = q.Segments[i];
                        Add(s.Params, new BufferArg(c.Input.Buffer, s.Start), Const(q, i == 0 ? "constant" : $"constant{i}", s.Constant!),
                            output with { Offset = s.Start }, s.Count);
                    }
                    break;
                case QuantizedMeanTokens { MeanTokens: var t } q:
                    Call("mcu_mean_tokens_s8", At(t.Input), I(t.InputRowStride), I(t.Rows), I(t.Dim), I(q.InputZeroPoint),
                        I(q.Multiplier), I(q.Shift), I(q.OutputZeroPoint), output);
                    break;
                case QuantizedConcat c:
                    for (int i = 0; i < c.Parts.Count; i++)
                    {
                        var part = c.Parts[i];
                        KernelArg source = part.Source is { } view ? Whole(view.Buffer) : Const(c, $"part{i}", part.Constant!);
                        Copy(c, $"part{i}", part.Copy, source, output);
                    }
                    break;
                case QuantizedCopy c:
                    Copy(c, "copy", c.Plan, Whole(c.Copy.Input.Buffer), output);
                    break;
                default:
                    throw new NotSupportedException($"no kernel for {op.Op.Kind}");
            }
        }

        /// <summary>
        /// The patch embedding one patch row at a time: each row's tokens go to a row scratch and
        /// are copied out once the row is done, so no token is written while its pixels, or any
        /// pixel of its patch row, may still be read. Each token is computed as the single call
        /// computes it (a patch row is the same kernel with one grid row and the padding moved).
        /// </summary>
        public IReadOnlyList<ActivationBuffer> PatchRows(QuantizedPatchEmbed q)
        {
            var (e, p) = (q.PatchEmbed, q.Params);
            var row = new ActivationBuffer(e.Name + "/patch_row", [e.GridW, e.Embed]);
            int[] dense = [0, 0, 0, 1], shape = [1, 1, 1, e.GridW * e.Embed];
            for (int gy = 0; gy < e.GridH; gy++)
            {
                Call("mcu_patch_embed_s8", At(e.Image), I(e.Channels), I(e.Image.Shape[1]), I(e.Image.Shape[2]), I(e.Patch),
                    I(e.PadTop - gy * e.Patch), I(e.PadLeft), I(1), I(e.GridW), Const(q, "weights", p.Weights), Optional(q, "bias", p.Bias),
                    Const(q, "multipliers", p.Multipliers), Const(q, "shifts", p.Shifts), I(e.Embed), I(p.InputZeroPoint),
                    I(p.OutputZeroPoint), Whole(row));
                CopyPatchRow(q, row, gy, dense, shape);
            }
            return [row];
        }

        /// <summary>The tokens of patch row gy, from the row scratch to their place in the output.</summary>
        private void CopyPatchRow(QuantizedPatchEmbed q, ActivationBuffer row, int gy, int[] dense, int[] shape)
        {
            var e = q.PatchEmbed;
            Call("mcu_copy_s8", Whole(row), Const(q, "row_strides", dense), new BufferArg(e.Output, gy * e.GridW * e.Embed),
                Const(q, "row_strides", dense), Const(q, "row_shape", shape), I(0), I(0), I(0), I(0));
        }

        /// <summary>
        /// The patch embedding one patch row at a time on an image that arrives band by band:
        /// the caller writes the pixel rows of one patch row (all channels, CHW) into a band
        /// buffer, and the kernel runs on the band as on an image of that many rows, with the
        /// padding moved so that each patch's pixels are the same ones. Tokens go through a row
        /// scratch as in PatchRows, so the bytes are the same.
        /// </summary>
        public IReadOnlyList<ActivationBuffer> PatchBands(QuantizedPatchEmbed q)
        {
            var (e, p) = (q.PatchEmbed, q.Params);
            int height = e.Image.Shape[1], width = e.Image.Shape[2];
            var band = new ActivationBuffer(e.Name + "/image_band", [e.Channels, e.Patch, width]);
            var row = new ActivationBuffer(e.Name + "/patch_row", [e.GridW, e.Embed]);
            int[] dense = [0, 0, 0, 1], shape = [1, 1, 1, e.GridW * e.Embed];
            for (int gy = 0; gy < e.GridH; gy++)
            {
                int top = gy * e.Patch - e.PadTop;
                int first = Math.Clamp(top, 0, height), rows = Math.Clamp(top + e.Patch, 0, height) - first;
                if (rows > 0) Call(ReadBand, I(first), I(rows), Whole(band));
                Call("mcu_patch_embed_s8", Whole(band), I(e.Channels), I(rows), I(width), I(e.Patch),
                    I(first - top), I(e.PadLeft), I(1), I(e.GridW), Const(q, "weights", p.Weights), Optional(q, "bias", p.Bias),
                    Const(q, "multipliers", p.Multipliers), Const(q, "shifts", p.Shifts), I(e.Embed), I(p.InputZeroPoint),
                    I(p.OutputZeroPoint), Whole(row));
                CopyPatchRow(q, row, gy, dense, shape);
            }
            return [band, row];
        }

        /// <summary>
        /// Attention head by head, in blocks of query rows: scores and probabilities exist only for
        /// one block ([block, N] each), never as the whole [N, heads, N] tensor. Each row's result
        /// is computed exactly as the unfused kernels compute it.
        /// </summary>
        public IReadOnlyList<ActivationBuffer> Attention(QuantizedMatMul qk, QuantizedSoftmax softmax, QuantizedMatMul pv, int rowBlock)
        {
            var v = pv.MatMul;
            return Attention(qk, softmax, pv, rowBlock, (head, row) => new BufferArg(v.Output, (row * v.Batch + head) * v.N), v.Batch * v.N);
        }

        /// <summary>
        /// Attention that writes each block's output over the queries it has just used (a query
        /// row block of one head is read by that block alone, and its output has the same dh
        /// columns), then the output projection, reading the attention output from the query
        /// columns of the qkv rows: the [tokens, heads × dh] attention output never takes memory
        /// of its own. Bytes as Attention followed by the projection.
        /// </summary>
        public IReadOnlyList<ActivationBuffer> AttentionOverQueries(QuantizedMatMul qk, QuantizedSoftmax softmax, QuantizedMatMul pv,
            QuantizedLinear proj, int rowBlock)
        {
            var q = qk.MatMul;
            var scratch = Attention(qk, softmax, pv, rowBlock, (head, row) => At(q.A, head * q.ABatchStride + row * q.AStrides.Row), q.AStrides.Row);
            Linear(proj, At(q.A), q.AStrides.Row, Whole(proj.Op.Output), proj.Linear.Rows);
            return scratch;
        }

        /// <param name="output">where the output of a head's block of query rows starts</param>
        private IReadOnlyList<ActivationBuffer> Attention(QuantizedMatMul qk, QuantizedSoftmax softmax, QuantizedMatMul pv, int rowBlock,
            Func<int, int, BufferArg> output, int outputRowStride)
        {
            var (q, v) = (qk.MatMul, pv.MatMul);
            int block = Math.Clamp(rowBlock, 1, q.M), n = q.N;
            var scores = new ActivationBuffer(q.Name + "/scores", [block, n]);
            var probabilities = new ActivationBuffer(q.Name + "/probabilities", [block, n]);
            for (int head = 0; head < q.Batch; head++)
                for (int row = 0; row < q.M; row += block)
                {
                    int rows = Math.Min(block, q.M - row);
                    MatMul(qk, At(q.A, head * q.ABatchStride + row * q.AStrides.Row), q.AStrides.Row, q.AStrides.Col,
                        At(q.B, head * q.BBatchStride), Whole(scores), n, rows);
                    Softmax(softmax, Whole(scores), Whole(probabilities), rows, n);
                    MatMul(pv, Whole(probabilities), n, 1, At(v.B, head * v.BBatchStride), output(head, row), outputRowStride, rows);
                }
            return [scores, probabilities];
        }

        /// <summary>
        /// fc1 → activation → fc2 in chunks of tokens: the hidden activations exist for one chunk
        /// ([chunk, hidden]), never for every token at once.
        /// </summary>
        /// <param name="norm">a LayerNorm fused in front of fc1: each chunk is normalised block by block on its way into fc1</param>
        public IReadOnlyList<ActivationBuffer> Mlp(QuantizedLinear fc1, QuantizedElementwise act, QuantizedLinear fc2, int rowChunk,
            QuantizedLayerNorm? norm = null)
        {
            var (up, down) = (fc1.Linear, fc2.Linear);
            int chunk = Math.Clamp(rowChunk, 1, up.Rows);
            var hidden = new ActivationBuffer(up.Name + "/hidden", [chunk, up.OutFeatures]);
            var normalised = norm is null ? null : NormalisedRows(norm, chunk);
            // Without a LayerNorm in front, every row is one group (fc1 reads a per-tensor input; no ε is used).
            var segments = norm?.Segments ?? [new NormSegment(0, up.Rows, 0)];
            foreach (var (row, rows, segment) in Chunks(segments, chunk))
            {
                if (norm is null)
                    Linear(fc1, At(up.Input, row * up.InputRowStride), up.InputRowStride, Whole(hidden), rows);
                else
                    LayerNormLinear(norm, segment, fc1, At(norm.LayerNorm.Input, row * norm.LayerNorm.InputRowStride), Whole(hidden), rows, normalised!);
                Lut(act, Whole(hidden), Whole(hidden), rows * up.OutFeatures);
                Linear(fc2, Whole(hidden), up.OutFeatures, new BufferArg(down.Output, row * down.OutFeatures), rows);
            }
            return normalised is null ? [hidden] : [hidden, normalised];
        }

        /// <summary>Chunks of at most `chunk` rows that never cross from one row group to the next.</summary>
        private static IEnumerable<(int Row, int Rows, NormSegment Segment)> Chunks(IReadOnlyList<NormSegment> segments, int chunk)
        {
            foreach (var segment in segments)
                for (int row = segment.FirstRow; row < segment.FirstRow + segment.Rows; row += chunk)
                    yield return (row, Math.Min(chunk, segment.FirstRow + segment.Rows - row), segment);
        }

        /// <summary>
        /// A LayerNorm and the linear after it in one kernel (mcu_layernorm_linear_s8): the
        /// normalised tokens exist a block at a time, in a row scratch.
        /// </summary>
        public IReadOnlyList<ActivationBuffer> LayerNormLinear(QuantizedLayerNorm norm, QuantizedLinear linear)
        {
            var (n, l) = (norm.LayerNorm, linear.Linear);
            var scratch = NormalisedRows(norm, n.Rows);
            foreach (var segment in InTokenOrder(norm.Segments, n.Dim, l.OutFeatures))
                LayerNormLinear(norm, segment, linear, At(n.Input, segment.FirstRow * n.InputRowStride),
                    new BufferArg(linear.Op.Output, segment.FirstRow * l.OutFeatures), segment.Rows, scratch);
            return [scratch];
        }

        /// <summary>The row scratch of mcu_layernorm_linear_s8 for calls of up to `rows` tokens.</summary>
        private static ActivationBuffer NormalisedRows(QuantizedLayerNorm norm, int rows) =>
            new(norm.Op.Name + "/normalised_rows", [Math.Min(rows, LayerNormLinearBlock), norm.LayerNorm.Dim]);

        /// <summary>
        /// The segments of a row-wise kernel in the order its tokens are taken: forward, or backward
        /// when output rows are longer than input rows (OverlapRule.TokenByToken allows only shifts
        /// ≥ 0 there, at which each call runs backward).
        /// </summary>
        private static IEnumerable<NormSegment> InTokenOrder(IReadOnlyList<NormSegment> segments, int inputRow, int outputRow) =>
            outputRow > inputRow ? segments.Reverse() : segments;

        /// <param name="segment">the row group the call's rows lie in (it gives ε)</param>
        private void LayerNormLinear(QuantizedLayerNorm norm, NormSegment segment, QuantizedLinear linear, BufferArg input, BufferArg output,
            int rows, ActivationBuffer scratch)
        {
            var (n, l, p) = (norm.LayerNorm, linear.Linear, linear.Params);
            Call("mcu_layernorm_linear_s8", input, I(n.InputRowStride), output, I(l.OutFeatures), I(rows), I(n.Dim), I(segment.EpsilonTerm),
                Const(norm, "gamma", norm.Gamma), Const(norm, "beta", norm.Beta), I(norm.OutputZeroPoint), I(l.OutFeatures),
                Const(linear, "weights", p.Weights), Optional(linear, "bias", p.Bias), Const(linear, "multipliers", p.Multipliers),
                Const(linear, "shifts", p.Shifts), I(p.OutputZeroPoint), Whole(scratch));
        }

        private void Copy(QuantizedOp owner, string what, CopyPlan plan, KernelArg source, BufferArg destination)
        {
            var from = source switch
            {
                BufferArg b => b with { Offset = b.Offset + plan.SourceOffset },
                _ when plan.SourceOffset == 0 => source,
                _ => throw new InvalidOperationException("constant copy sources start at their first element"),
            };
            Call("mcu_copy_s8", from, Const(owner, $"{what}_from_strides", plan.SourceStrides),
                destination with { Offset = destination.Offset + plan.DestinationOffset },
                Const(owner, $"{what}_to_strides", plan.DestinationStrides), Const(owner, $"{what}_shape", plan.Shape),
                I(plan.InputZeroPoint), I(plan.Multiplier), I(plan.Shift), I(plan.OutputZeroPoint));
        }
    }

    /// <summary>C identifiers for constants: one per array, named after its op and role.</summary>
    private sealed class ConstantNames
    {
        private readonly Dictionary<Array, ConstArg> seen = new(ReferenceEqualityComparer.Instance);
        private readonly HashSet<string> used = new();

        public ConstArg Get(string opName, string what, Array data)
        {
            if (seen.TryGetValue(data, out var arg)) return arg;
            var stem = new string(opName.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '_').ToArray()).Trim('_');
            if (stem.Length == 0 || char.IsAsciiDigit(stem[0])) stem = "op_" + stem;
            var name = $"{stem}_{what}";
            for (int n = 2; !used.Add(name); n++) name = $"{stem}_{what}_{n}";
            return seen[data] = new ConstArg(name, data);
        }
    }
}
