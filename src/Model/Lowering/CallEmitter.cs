using McuFormer.Model.Ir;
using McuFormer.Model.Quantization;

namespace McuFormer.Model.Lowering;

/// <summary>Emits the calls of one step.</summary>
internal sealed class CallEmitter(int step, ConstantNames names)
{
    private readonly List<KernelCall> calls = new();

    public ExecutionStep Step(string kind, IReadOnlyList<QuantizedOp> ops, IReadOnlyList<ActivationBuffer> scratch)
    {
        var internals = ops.Select(o => o.Op.Output).ToHashSet();
        var reads = ops.SelectMany(o => o.Op.Inputs).Select(v => v.Buffer).Where(b => !internals.Contains(b)).Distinct().ToList();
        return new ExecutionStep(step, ops[0].Op.Name, kind, ops, reads, ops[^1].Op.Output, scratch, calls);
    }

    private void Call(KernelSignature kernel, QuantizedOp owner, params (string, KernelArg)[] args) =>
        calls.Add(KernelCall.Bind(kernel, step, owner.Op.Name, args));
    private ConstArg Const(QuantizedOp owner, string what, Array data) => names.Get(owner.Op.Name, what, data);
    private KernelArg Optional(QuantizedOp owner, string what, Array? data) => data is null ? new NullArg() : Const(owner, what, data);
    private static IntArg I(long v) => new(v);
    private static BufferArg At(View v, int extra = 0) => new(v.Buffer, v.Offset + extra);
    private static BufferArg Whole(ActivationBuffer b) => new(b, 0);

    private void Linear(QuantizedLinear q, BufferArg input, int inputRowStride, BufferArg output, int rows)
    {
        var (l, p) = (q.Linear, q.Params);
        Call(KernelAbi.Linear, q, ("in", input), ("in_row_stride", I(inputRowStride)), ("out", output),
            ("out_row_stride", I(l.OutFeatures)), ("rows", I(rows)), ("in_features", I(l.InFeatures)), ("out_features", I(l.OutFeatures)),
            ("weights", Const(q, "weights", p.Weights)), ("bias", Optional(q, "bias", p.Bias)),
            ("multipliers", Const(q, "multipliers", p.Multipliers)), ("shifts", Const(q, "shifts", p.Shifts)),
            ("in_zp", I(p.InputZeroPoint)), ("out_zp", I(p.OutputZeroPoint)));
    }

    private void MatMul(QuantizedMatMul q, BufferArg a, int aRowStride, int aColStride, BufferArg b, BufferArg output, int outRowStride, int m)
    {
        var mm = q.MatMul;
        Call(KernelAbi.MatMul, q, ("a", a), ("a_row_stride", I(aRowStride)), ("a_col_stride", I(aColStride)), ("b", b),
            ("b_row_stride", I(mm.BStrides.Row)), ("b_col_stride", I(mm.BStrides.Col)), ("out", output),
            ("out_row_stride", I(outRowStride)), ("m", I(m)), ("k", I(mm.K)), ("n", I(mm.N)), ("a_zp", I(q.AZeroPoint)),
            ("b_zp", I(q.BZeroPoint)), ("multiplier", I(q.Multiplier)), ("shift", I(q.Shift)), ("out_zp", I(q.OutputZeroPoint)));
    }

    private void Lut(QuantizedElementwise q, BufferArg input, BufferArg output, int count) =>
        Call(KernelAbi.Lut, q, ("in", input), ("out", output), ("count", I(count)), ("table", Const(q, "table", q.Table)));

    private void Softmax(QuantizedSoftmax q, BufferArg input, BufferArg output, int rows, int length) =>
        Call(KernelAbi.Softmax, q, ("in", input), ("out", output), ("rows", I(rows)), ("length", I(length)),
            ("exp_table", Const(q, "exp_table", q.ExpTable)));

    private void Add(QuantizedOp owner, AddParams p, KernelArg a, KernelArg b, BufferArg output, int count) =>
        Call(KernelAbi.Add, owner, ("a", a), ("b", b), ("out", output), ("count", I(count)), ("a_zp", I(p.AZeroPoint)),
            ("a_multiplier", I(p.AMultiplier)), ("b_zp", I(p.BZeroPoint)), ("b_multiplier", I(p.BMultiplier)), ("shift", I(p.Shift)),
            ("out_zp", I(p.OutputZeroPoint)));

    /// <summary>The patch embedding of grid rows [0, gridH) of an image of `height` rows that starts at `image`.</summary>
    private void PatchEmbed(QuantizedPatchEmbed q, BufferArg image, int height, int padTop, int gridH, BufferArg output)
    {
        var (e, p) = (q.PatchEmbed, q.Params);
        Call(KernelAbi.PatchEmbed, q, ("image", image), ("channels", I(e.Channels)), ("height", I(height)),
            ("width", I(e.Image.Shape[2])), ("patch", I(e.Patch)), ("pad_top", I(padTop)), ("pad_left", I(e.PadLeft)),
            ("grid_h", I(gridH)), ("grid_w", I(e.GridW)), ("weights", Const(q, "weights", p.Weights)),
            ("bias", Optional(q, "bias", p.Bias)), ("multipliers", Const(q, "multipliers", p.Multipliers)),
            ("shifts", Const(q, "shifts", p.Shifts)), ("embed", I(e.Embed)), ("in_zp", I(p.InputZeroPoint)),
            ("out_zp", I(p.OutputZeroPoint)), ("out", output));
    }

    /// <param name="overwritten">the input whose memory the output takes over, if any</param>
    public void Single(QuantizedOp op, ActivationBuffer? overwritten)
    {
        var output = Whole(overwritten ?? op.Op.Output);
        switch (op)
        {
            case QuantizedLinear q:
                Linear(q, At(q.Linear.Input), q.Linear.InputRowStride, output, q.Linear.Rows);
                break;
            case QuantizedPatchEmbed { PatchEmbed: var e } q:
                PatchEmbed(q, At(e.Image), e.Image.Shape[1], e.PadTop, e.GridH, output);
                break;
            case QuantizedLayerNorm { LayerNorm: var n } q:
                foreach (var segment in InTokenOrder(q.Segments, n.Dim, n.Dim))
                    Call(KernelAbi.LayerNorm, q, ("in", At(n.Input, segment.FirstRow * n.InputRowStride)),
                        ("in_row_stride", I(n.InputRowStride)), ("out", output with { Offset = output.Offset + segment.FirstRow * n.Dim }),
                        ("out_row_stride", I(n.Dim)), ("rows", I(segment.Rows)), ("dim", I(n.Dim)), ("eps_term", I(segment.EpsilonTerm)),
                        ("gamma_q", Const(q, "gamma", q.Gamma)), ("beta_q", Const(q, "beta", q.Beta)), ("out_zp", I(q.OutputZeroPoint)));
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
                    Add(q, s.Params, new BufferArg(a.A.Buffer, s.Start), new BufferArg(a.B.Buffer, s.Start), output with { Offset = s.Start }, s.Count);
                break;
            case QuantizedAddConstant { AddConstant: var c } q:
                for (int i = 0; i < q.Segments.Count; i++)
                {
                    var s = q.Segments[i];
                    Add(q, s.Params, new BufferArg(c.Input.Buffer, s.Start), Const(q, i == 0 ? "constant" : $"constant{i}", s.Constant!),
                        output with { Offset = s.Start }, s.Count);
                }
                break;
            case QuantizedMeanTokens { MeanTokens: var t } q:
                Call(KernelAbi.MeanTokens, q, ("in", At(t.Input)), ("in_row_stride", I(t.InputRowStride)), ("rows", I(t.Rows)),
                    ("dim", I(t.Dim)), ("in_zp", I(q.InputZeroPoint)), ("multiplier", I(q.Multiplier)), ("shift", I(q.Shift)),
                    ("out_zp", I(q.OutputZeroPoint)), ("out", output));
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
        var e = q.PatchEmbed;
        var row = new ActivationBuffer(e.Name + "/patch_row", [e.GridW, e.Embed]);
        int[] dense = [0, 0, 0, 1], shape = [1, 1, 1, e.GridW * e.Embed];
        for (int gy = 0; gy < e.GridH; gy++)
        {
            PatchEmbed(q, At(e.Image), e.Image.Shape[1], e.PadTop - gy * e.Patch, 1, Whole(row));
            CopyPatchRow(q, row, gy, dense, shape);
        }
        return [row];
    }

    /// <summary>The tokens of patch row gy, from the row scratch to their place in the output.</summary>
    private void CopyPatchRow(QuantizedPatchEmbed q, ActivationBuffer row, int gy, int[] dense, int[] shape)
    {
        var e = q.PatchEmbed;
        Call(KernelAbi.Copy, q, ("in", Whole(row)), ("in_strides", Const(q, "row_strides", dense)),
            ("out", new BufferArg(e.Output, gy * e.GridW * e.Embed)), ("out_strides", Const(q, "row_strides", dense)),
            ("shape", Const(q, "row_shape", shape)), ("in_zp", I(0)), ("multiplier", I(0)), ("shift", I(0)), ("out_zp", I(0)));
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
        var e = q.PatchEmbed;
        int height = e.Image.Shape[1], width = e.Image.Shape[2];
        var band = new ActivationBuffer(e.Name + "/image_band", [e.Channels, e.Patch, width]);
        var row = new ActivationBuffer(e.Name + "/patch_row", [e.GridW, e.Embed]);
        int[] dense = [0, 0, 0, 1], shape = [1, 1, 1, e.GridW * e.Embed];
        for (int gy = 0; gy < e.GridH; gy++)
        {
            int top = gy * e.Patch - e.PadTop;
            int first = Math.Clamp(top, 0, height), rows = Math.Clamp(top + e.Patch, 0, height) - first;
            if (rows > 0) Call(KernelAbi.ReadBand, q, ("first_row", I(first)), ("rows", I(rows)), ("band", Whole(band)));
            PatchEmbed(q, Whole(band), rows, first - top, 1, Whole(row));
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
        new(norm.Op.Name + "/normalised_rows", [Math.Min(rows, KernelAbi.LayerNormLinearBlock), norm.LayerNorm.Dim]);

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
        Call(KernelAbi.LayerNormLinear, linear, ("in", input), ("in_row_stride", I(n.InputRowStride)), ("out", output),
            ("out_row_stride", I(l.OutFeatures)), ("rows", I(rows)), ("dim", I(n.Dim)), ("eps_term", I(segment.EpsilonTerm)),
            ("gamma_q", Const(norm, "gamma", norm.Gamma)), ("beta_q", Const(norm, "beta", norm.Beta)),
            ("norm_zp", I(norm.OutputZeroPoint)), ("out_features", I(l.OutFeatures)), ("weights", Const(linear, "weights", p.Weights)),
            ("bias", Optional(linear, "bias", p.Bias)), ("multipliers", Const(linear, "multipliers", p.Multipliers)),
            ("shifts", Const(linear, "shifts", p.Shifts)), ("out_zp", I(p.OutputZeroPoint)), ("row_scratch", Whole(scratch)));
    }

    private void Copy(QuantizedOp owner, string what, CopyPlan plan, KernelArg source, BufferArg destination)
    {
        var from = source switch
        {
            BufferArg b => b with { Offset = b.Offset + plan.SourceOffset },
            _ when plan.SourceOffset == 0 => source,
            _ => throw new InvalidOperationException("constant copy sources start at their first element"),
        };
        Call(KernelAbi.Copy, owner, ("in", from), ("in_strides", Const(owner, $"{what}_from_strides", plan.SourceStrides)),
            ("out", destination with { Offset = destination.Offset + plan.DestinationOffset }),
            ("out_strides", Const(owner, $"{what}_to_strides", plan.DestinationStrides)),
            ("shape", Const(owner, $"{what}_shape", plan.Shape)), ("in_zp", I(plan.InputZeroPoint)),
            ("multiplier", I(plan.Multiplier)), ("shift", I(plan.Shift)), ("out_zp", I(plan.OutputZeroPoint)));
    }
}
