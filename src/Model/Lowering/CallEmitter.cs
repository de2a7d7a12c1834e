using McuFormer.Model.Ir;
using McuFormer.Model.Quantization;

namespace McuFormer.Model.Lowering;

/// <summary>Emits the calls of one step.</summary>
internal sealed class CallEmitter(int step, ConstantNames names)
{
    private readonly List<KernelCall> calls = new();
    private readonly Dictionary<string, int[]> cachedArrays = new(StringComparer.Ordinal);

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

    /// <summary>
    /// The output channels of a linear that a call computes: all of them, or some of them with
    /// constants of their own (ChannelParams.Channels), whose names start with Prefix.
    /// </summary>
    private sealed record ChannelSet(ChannelParams Params, int Count, string Prefix)
    {
        public static ChannelSet All(QuantizedLinear q) => new(q.Params, q.Linear.OutFeatures, "");
    }

    private void Linear(QuantizedLinear q, BufferArg input, int inputRowStride, BufferArg output, int rows) =>
        Linear(q, ChannelSet.All(q), input, inputRowStride, output, q.Linear.OutFeatures, rows);

    private void Linear(QuantizedLinear q, ChannelSet channels, BufferArg input, int inputRowStride, BufferArg output, int outputRowStride, int rows)
    {
        var (l, p, name) = (q.Linear, channels.Params, channels.Prefix);
        Call(KernelAbi.Linear, q, ("in", input), ("in_row_stride", I(inputRowStride)), ("out", output),
            ("out_row_stride", I(outputRowStride)), ("rows", I(rows)), ("in_features", I(l.InFeatures)), ("out_features", I(channels.Count)),
            ("weights", Const(q, name + "weights", p.Weights)), ("bias", Optional(q, name + "bias", p.Bias)),
            ("multipliers", Const(q, name + "multipliers", p.Multipliers)), ("shifts", Const(q, name + "shifts", p.Shifts)),
            ("in_zp", I(p.InputZeroPoint)), ("out_zp", I(p.OutputZeroPoint)));
    }

    private void MatMul(QuantizedMatMul q, BufferArg a, int aRowStride, int aColStride, BufferArg b, BufferArg output, int outRowStride, int m) =>
        MatMul(q, a, aRowStride, aColStride, b, q.MatMul.BStrides, output, outRowStride, m);

    private void MatMul(QuantizedMatMul q, BufferArg a, int aRowStride, int aColStride, BufferArg b, (int Row, int Col) bStrides,
        BufferArg output, int outRowStride, int m)
    {
        var mm = q.MatMul;
        Call(KernelAbi.MatMul, q, ("a", a), ("a_row_stride", I(aRowStride)), ("a_col_stride", I(aColStride)), ("b", b),
            ("b_row_stride", I(bStrides.Row)), ("b_col_stride", I(bStrides.Col)), ("out", output),
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
                AttentionRows(qk, softmax, pv, At(q.A, head * q.ABatchStride + row * q.AStrides.Row), q.AStrides,
                    (At(q.B, head * q.BBatchStride), q.BStrides), (At(v.B, head * v.BBatchStride), v.BStrides),
                    output(head, row), outputRowStride, Math.Min(block, q.M - row), scores, probabilities);
        return [scores, probabilities];
    }

    /// <summary>One head's attention for `rows` query rows: scores, softmax and P·V, through [rows, N] scratches.</summary>
    /// <param name="keys">Kᵀ as a [dh, N] matrix: where it starts and its (row, column) strides</param>
    /// <param name="values">V as an [N, dh] matrix</param>
    private void AttentionRows(QuantizedMatMul qk, QuantizedSoftmax softmax, QuantizedMatMul pv, BufferArg queries, (int Row, int Col) queryStrides,
        (BufferArg At, (int Row, int Col) Strides) keys, (BufferArg At, (int Row, int Col) Strides) values, BufferArg output, int outputRowStride,
        int rows, ActivationBuffer scores, ActivationBuffer probabilities)
    {
        int n = qk.MatMul.N;
        MatMul(qk, queries, queryStrides.Row, queryStrides.Col, keys.At, keys.Strides, Whole(scores), n, rows);
        Softmax(softmax, Whole(scores), Whole(probabilities), rows, n);
        MatMul(pv, Whole(probabilities), n, 1, values.At, values.Strides, output, outputRowStride, rows);
    }

    /// <summary>
    /// Attention that never holds the qkv tensor (FusionPatterns.QkvPerHead). The qkv linear runs
    /// head by head on its own output channels (ChannelParams.Channels), so each value is the one
    /// the whole linear computes: per head, the keys and values of every token go to one [N, 2dh]
    /// buffer (keys in columns [0, dh), values in [dh, 2dh)), reused by the next head. The queries
    /// of every head but the last go to that head's dh columns of an [N, (H − 1)·dh] buffer, and
    /// each block of query rows writes its attention output over the queries it has just used.
    /// The last head goes block of query rows by block: its queries go to the last dh columns of a
    /// [block, H·dh] row scratch and its output over them, the earlier heads' rows are copied in
    /// beside them, the output projection writes over the scratch (same row width, which
    /// mcu_linear_s8 allows), and the add sums it into the residual rows in place. Neither the
    /// last head's output nor the [N, H·dh] attention output ever exists whole.
    /// </summary>
    /// <param name="norm">a LayerNorm fused in front of the qkv linear: every call normalises the rows it takes again</param>
    public IReadOnlyList<ActivationBuffer> QkvPerHead(AttentionHeads attention, QuantizedLayerNorm? norm, int rowBlock)
    {
        var (qkv, q) = (attention.Qkv, attention.QueryKey.MatMul);
        int tokens = attention.Tokens, dh = attention.KeyDim, heads = attention.Heads, width = heads * dh, earlierWidth = width - dh;
        int block = Math.Clamp(rowBlock, 1, tokens);
        var keysValues = new ActivationBuffer(qkv.Op.Name + "/keys_values", [tokens, 2 * dh]);
        var earlier = heads > 1 ? new ActivationBuffer(q.Name + "/earlier_heads", [tokens, earlierWidth]) : null;
        var rows = new ActivationBuffer(attention.Projection.Op.Name + "/rows", [block, width]);
        var scores = new ActivationBuffer(q.Name + "/scores", [block, tokens]);
        var probabilities = new ActivationBuffer(q.Name + "/probabilities", [block, tokens]);
        var normalised = norm is null ? null : NormalisedRows(norm, tokens);
        // Without a LayerNorm in front, every row is one group (the linear reads a per-tensor input; no ε is used).
        var segments = norm?.Segments ?? [new NormSegment(0, tokens, 0)];

        void Project(ChannelSet channels, int row, int count, NormSegment segment, BufferArg output, int outputRowStride)
        {
            if (norm is null)
                Linear(qkv, channels, At(qkv.Linear.Input, row * qkv.Linear.InputRowStride), qkv.Linear.InputRowStride, output, outputRowStride, count);
            else
                LayerNormLinear(norm, segment, qkv, channels, At(norm.LayerNorm.Input, row * norm.LayerNorm.InputRowStride), output,
                    outputRowStride, count, normalised!);
        }
        void ProjectEveryRow(ChannelSet channels, ActivationBuffer output, int column, int outputRowStride)
        {
            foreach (var segment in segments)
                Project(channels, segment.FirstRow, segment.Rows, segment, new BufferArg(output, segment.FirstRow * outputRowStride + column), outputRowStride);
        }
        ChannelSet Slice(string prefix, IEnumerable<int> channels)
        {
            var list = channels.ToList();
            return new ChannelSet(qkv.Params.Channels(list, qkv.Linear.InFeatures), list.Count, prefix);
        }

        var keys = (Whole(keysValues), (1, 2 * dh));
        var values = (new BufferArg(keysValues, dh), (2 * dh, 1));
        for (int head = 0; head < heads; head++)
        {
            ProjectEveryRow(Slice($"head{head}_kv_", attention.KeyChannels(head).Concat(attention.ValueChannels(head))), keysValues, 0, 2 * dh);
            var queries = Slice($"head{head}_q_", attention.QueryChannels(head));
            if (earlier is not null && head < heads - 1)
            {
                ProjectEveryRow(queries, earlier, head * dh, earlierWidth);
                for (int row = 0; row < tokens; row += block)
                {
                    var at = new BufferArg(earlier, row * earlierWidth + head * dh);
                    AttentionRows(attention.QueryKey, attention.Softmax, attention.ProbabilityValue, at, (earlierWidth, 1), keys, values,
                        at, earlierWidth, Math.Min(block, tokens - row), scores, probabilities);
                }
                continue;
            }
            foreach (var (row, count, segment) in Chunks(segments, block))
            {
                var last = new BufferArg(rows, earlierWidth);
                Project(queries, row, count, segment, last, width);
                AttentionRows(attention.QueryKey, attention.Softmax, attention.ProbabilityValue, last, (width, 1), keys, values, last, width,
                    count, scores, probabilities);
                if (earlier is not null) GatherEarlierHeads(attention, earlier, rows, row, count);
                Linear(attention.Projection, Whole(rows), width, Whole(rows), count);
                AddIntoResidual(attention, rows, row * width, count * width);
            }
        }
        return new[] { keysValues, earlier, rows, scores, probabilities, normalised }.OfType<ActivationBuffer>().ToList();
    }

    /// <summary>Rows [row, row + count) of the earlier heads' outputs, copied into the first columns of the row scratch.</summary>
    private void GatherEarlierHeads(AttentionHeads attention, ActivationBuffer earlier, ActivationBuffer rows, int row, int count)
    {
        int earlierWidth = earlier.Shape[1], width = rows.Shape[1];
        var owner = attention.ProbabilityValue;
        Call(KernelAbi.Copy, owner, ("in", new BufferArg(earlier, row * earlierWidth)),
            ("in_strides", Const(owner, "earlier_strides", Cached([0, 0, earlierWidth, 1]))),
            ("out", Whole(rows)), ("out_strides", Const(owner, "rows_strides", Cached([0, 0, width, 1]))),
            ("shape", Const(owner, "gather_shape", Cached([1, 1, count, earlierWidth]))), ("in_zp", I(0)), ("multiplier", I(0)),
            ("shift", I(0)), ("out_zp", I(0)));
    }

    /// <summary>One array per content, so that calls repeating a constant share it (ConstantNames names arrays, not contents).</summary>
    private int[] Cached(int[] values)
    {
        var key = string.Join(",", values);
        if (!cachedArrays.TryGetValue(key, out var array)) cachedArrays[key] = array = values;
        return array;
    }

    /// <summary>
    /// The projected rows, elements [start, start + count) of the add's output, summed into the
    /// residual in place (mcu_add_s8 allows out = a or b): one call per run of elements that share
    /// their quantization (the add's segments: prefix tokens may have their own).
    /// </summary>
    private void AddIntoResidual(AttentionHeads attention, ActivationBuffer projected, int start, int count)
    {
        foreach (var segment in attention.Add.Segments)
        {
            int from = Math.Max(start, segment.Start), to = Math.Min(start + count, segment.Start + segment.Count);
            if (from >= to) continue;
            var (residual, rows) = (new BufferArg(attention.Residual, from), new BufferArg(projected, from - start));
            Add(attention.Add, segment.Params, attention.ResidualIsA ? residual : rows, attention.ResidualIsA ? rows : residual, residual, to - from);
        }
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
        int rows, ActivationBuffer scratch) =>
        LayerNormLinear(norm, segment, linear, ChannelSet.All(linear), input, output, linear.Linear.OutFeatures, rows, scratch);

    private void LayerNormLinear(QuantizedLayerNorm norm, NormSegment segment, QuantizedLinear linear, ChannelSet channels, BufferArg input,
        BufferArg output, int outputRowStride, int rows, ActivationBuffer scratch)
    {
        var (n, p, name) = (norm.LayerNorm, channels.Params, channels.Prefix);
        Call(KernelAbi.LayerNormLinear, linear, ("in", input), ("in_row_stride", I(n.InputRowStride)), ("out", output),
            ("out_row_stride", I(outputRowStride)), ("rows", I(rows)), ("dim", I(n.Dim)), ("eps_term", I(segment.EpsilonTerm)),
            ("gamma_q", Const(norm, "gamma", norm.Gamma)), ("beta_q", Const(norm, "beta", norm.Beta)),
            ("norm_zp", I(norm.OutputZeroPoint)), ("out_features", I(channels.Count)), ("weights", Const(linear, name + "weights", p.Weights)),
            ("bias", Optional(linear, name + "bias", p.Bias)), ("multipliers", Const(linear, name + "multipliers", p.Multipliers)),
            ("shifts", Const(linear, name + "shifts", p.Shifts)), ("out_zp", I(p.OutputZeroPoint)), ("row_scratch", Whole(scratch)));
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
