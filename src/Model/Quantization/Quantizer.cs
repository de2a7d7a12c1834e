using McuFormer.Model.Ir;
using McuFormer.Model.Onnx;

namespace McuFormer.Model.Quantization;

/// <summary>
/// Post-training int8 quantization: activation ranges come from calibration, weights are
/// per-output-channel symmetric, and every op gets the fixed-point parameters of its kernel.
/// </summary>
public static class Quantizer
{
    /// <summary>Softmax output is a probability: fixed scale 1/256 and zero point −128.</summary>
    public static readonly QuantParams SoftmaxOutput = new(1.0 / 256, -128);

    public static QuantizedModel Quantize(ModelGraph graph, Func<ActivationBuffer, TokenGroup, (double Min, double Max)> range,
        RangeMethod method, int calibrationSamples)
    {
        var quant = new Dictionary<ActivationBuffer, QuantParams>();
        var prefixes = new Dictionary<ActivationBuffer, PrefixGroup>();
        var splits = PrefixTokens.Find(graph);
        QuantParams At(ActivationBuffer buffer, long element) =>
            prefixes.TryGetValue(buffer, out var prefix) && element < prefix.Elements ? prefix.Params : quant[buffer];
        // Readers of a split buffer read one group only (PrefixTokens), except the ops quantized per segment.
        QuantParams Of(View v) => At(v.Buffer, PrefixTokens.Span(v).Low);
        (bool InPrefix, QuantParams Params) RowGroup(ActivationBuffer buffer, long element) =>
            (prefixes.TryGetValue(buffer, out var prefix) && element < prefix.Elements, At(buffer, element));
        quant[graph.Input.Buffer] = FromRange(range(graph.Input.Buffer, TokenGroup.All));
        var quantized = new List<QuantizedOp>();
        foreach (var op in graph.Ops)
        {
            if (splits.TryGetValue(op.Output, out var prefixElements))
            {
                quant[op.Output] = FromRange(range(op.Output, TokenGroup.Rest));
                prefixes[op.Output] = new PrefixGroup(prefixElements, FromRange(range(op.Output, TokenGroup.Prefix)));
            }
            else
                quant[op.Output] = op switch
                {
                    SoftmaxOp => SoftmaxOutput,
                    CopyOp copy => Of(copy.Input),
                    _ => FromRange(range(op.Output, TokenGroup.All)),
                };
            var output = quant[op.Output];
            try
            {
                quantized.Add(QuantizeOp(op, output));
            }
            catch (RescaleOutOfRangeException e)
            {
                throw new ModelImportException($"{graph.SourcePath}: node '{op.Name}' ({op.Kind}): {e.Problem}; its weights and the activation ranges around it are too far apart for int8");
            }
        }
        return new QuantizedModel(graph, quant, prefixes, quantized, method, calibrationSamples);

        QuantizedOp QuantizeOp(Op op, QuantParams output) => op switch
        {
            LinearOp l => new QuantizedLinear(l, Channels(l.Weights, l.Bias, l.OutFeatures, Of(l.Input), output)),
            PatchEmbedOp p => new QuantizedPatchEmbed(p, Channels(p.Weights, p.Bias, p.Embed, Of(p.Image), output)),
            LayerNormOp n => LayerNorm(n, row => RowGroup(n.Input.Buffer, n.Input.Offset + (long)row * n.InputRowStride), output),
            ElementwiseOp e => new QuantizedElementwise(e, Table(e.Evaluate, Of(e.Input), output)),
            MatMulOp m => MatMul(m, Of(m.A), Of(m.B), output),
            SoftmaxOp s => new QuantizedSoftmax(s, ExpTable(Of(s.Input))),
            AddOp a => new QuantizedAdd(a, AddSegments(a.Output.ElementCount, [a.A.Buffer, a.B.Buffer, a.Output], prefixes,
                (start, end) => new AddSegment(start, end - start, Add(At(a.A.Buffer, start), At(a.B.Buffer, start), At(a.Output, start))))),
            AddConstantOp c => AddConstant(c, prefixes, At),
            ConcatOp c => Concat(c, Of, At),
            MeanTokensOp t => MeanTokens(t, Of(t.Input), output),
            CopyOp c => new QuantizedCopy(c, CopyPlan.Between(c.Input, c.Output.Source!.Layout)),
            _ => throw new NotSupportedException($"no quantization for {op.Kind}"),
        };
    }

    /// <summary>
    /// Quantization with placeholder ranges, for memory planning and analysis only: buffer sizes,
    /// the schedule and the plan do not depend on ranges, so no calibration data is needed.
    /// Never run a model quantized this way.
    /// </summary>
    public static QuantizedModel ForPlanning(ModelGraph graph) => Quantize(graph, (_, _) => (-1, 1), RangeMethod.MinMax, 0);

    private static QuantParams FromRange((double Min, double Max) r) => QuantParams.FromRange(r.Min, r.Max);

    private static ChannelParams Channels(float[] weights, float[]? bias, int outputs, QuantParams input, QuantParams output)
    {
        int k = weights.Length / outputs;
        var q = new sbyte[weights.Length];
        var biasQ = bias is null ? null : new int[outputs];
        var multipliers = new int[outputs];
        var shifts = new int[outputs];
        for (int o = 0; o < outputs; o++)
        {
            var row = weights.AsSpan(o * k, k);
            double maxAbs = 0;
            foreach (var w in row) maxAbs = Math.Max(maxAbs, Math.Abs(w));
            double scale = maxAbs > 0 ? maxAbs / 127.0 : 1.0;
            for (int i = 0; i < k; i++)
                q[o * k + i] = (sbyte)Math.Clamp(Math.Round(row[i] / scale, MidpointRounding.AwayFromZero), -127, 127);
            if (biasQ is not null) biasQ[o] = FixedPoint.RoundToInt32(bias![o] / (input.Scale * scale));
            (multipliers[o], shifts[o]) = FixedPoint.Multiplier(input.Scale * scale / output.Scale);
        }
        return new ChannelParams(q, biasQ, multipliers, shifts, input.ZeroPoint, output.ZeroPoint);
    }

    /// <param name="inputGroup">the row group of an input row and its quantization; the segments follow the groups
    /// (not only the parameters), so that the kernel calls do not depend on the calibrated ranges</param>
    private static QuantizedLayerNorm LayerNorm(LayerNormOp op, Func<int, (bool InPrefix, QuantParams Params)> inputGroup, QuantParams output)
    {
        long EpsilonTerm(QuantParams input)
        {
            double term = op.Epsilon * (double)op.Dim * op.Dim / (input.Scale * input.Scale);
            return (long)Math.Min(Math.Round(term, MidpointRounding.AwayFromZero), long.MaxValue / 4);
        }
        var segments = new List<NormSegment>();
        for (int row = 0; row < op.Rows; row++)
        {
            long epsilon = EpsilonTerm(inputGroup(row).Params);
            if (segments.Count > 0 && inputGroup(row) == inputGroup(row - 1))
                segments[^1] = segments[^1] with { Rows = segments[^1].Rows + 1 };
            else
                segments.Add(new NormSegment(row, 1, epsilon));
        }
        var gamma = op.Gamma.Select(g => FixedPoint.RoundToInt32(g / output.Scale * 65536)).ToArray();
        var beta = op.Beta.Select(b => FixedPoint.RoundToInt32(b / output.Scale * 65536)).ToArray();
        return new QuantizedLayerNorm(op, segments, gamma, beta, output.ZeroPoint);
    }

    /// <summary>
    /// The segments of an element-wise add over whole buffers: cut where any of them changes from
    /// its prefix group to the rest.
    /// </summary>
    /// <param name="segment">the segment of elements [start, end)</param>
    private static List<AddSegment> AddSegments(int count, ActivationBuffer[] buffers, Dictionary<ActivationBuffer, PrefixGroup> prefixes,
        Func<int, int, AddSegment> segment)
    {
        var cuts = buffers.Where(prefixes.ContainsKey).Select(b => prefixes[b].Elements).Where(e => e > 0 && e < count)
            .Append(0).Append(count).Distinct().Order().ToList();
        return cuts.Zip(cuts.Skip(1), segment).ToList();
    }

    public static sbyte[] Table(Func<double, double> function, QuantParams input, QuantParams output)
    {
        var table = new sbyte[256];
        for (int q = -128; q <= 127; q++) table[q + 128] = output.Quantize(function(input.Dequantize((sbyte)q)));
        return table;
    }

    public static ushort[] ExpTable(QuantParams input)
    {
        var table = new ushort[256];
        for (int d = 0; d < 256; d++) table[d] = (ushort)Math.Round(65535 * Math.Exp(-input.Scale * d), MidpointRounding.AwayFromZero);
        return table;
    }

    private static QuantizedMatMul MatMul(MatMulOp op, QuantParams a, QuantParams b, QuantParams output)
    {
        var (multiplier, shift) = FixedPoint.Multiplier(op.Alpha * a.Scale * b.Scale / output.Scale);
        return new QuantizedMatMul(op, a.ZeroPoint, b.ZeroPoint, multiplier, shift, output.ZeroPoint);
    }

    private static AddParams Add(QuantParams a, QuantParams b, QuantParams output)
    {
        var (ma, mb, shift) = FixedPoint.SharedShift(a.Scale / output.Scale, b.Scale / output.Scale);
        return new AddParams(a.ZeroPoint, ma, b.ZeroPoint, mb, shift, output.ZeroPoint);
    }

    private static QuantizedAddConstant AddConstant(AddConstantOp op, Dictionary<ActivationBuffer, PrefixGroup> prefixes,
        Func<ActivationBuffer, long, QuantParams> at)
    {
        // Each segment's constant has its own range, as its activation rows do.
        return new QuantizedAddConstant(op, AddSegments(op.Output.ElementCount, [op.Input.Buffer, op.Output], prefixes, (start, end) =>
        {
            var values = op.Constant.AsSpan(start, end - start).ToArray();
            var constantQuant = QuantParams.FromRange(values.Min(), values.Max());
            return new AddSegment(start, end - start, Add(at(op.Input.Buffer, start), constantQuant, at(op.Output, start)),
                values.Select(v => constantQuant.Quantize(v)).ToArray());
        }));
    }

    private static QuantizedConcat Concat(ConcatOp op, Func<View, QuantParams> of, Func<ActivationBuffer, long, QuantParams> at)
    {
        var parts = new List<QuantizedConcatPart>();
        foreach (var part in op.Parts)
        {
            var output = at(op.Output, PrefixTokens.Span(part.Destination).Low);
            if (part.Input is { } input)
            {
                var source = of(input);
                var (multiplier, shift) = source == output ? (0, 0) : FixedPoint.Multiplier(source.Scale / output.Scale);
                parts.Add(new QuantizedConcatPart(CopyPlan.Between(input, part.Destination, source.ZeroPoint, multiplier, shift, output.ZeroPoint), input, null));
            }
            else
            {
                var constant = part.Constant!.Select(v => output.Quantize(v)).ToArray();
                var shape = part.Destination.Shape;
                var dense = new View(part.Destination.Buffer, 0, shape, Shapes.DenseStrides(shape));
                parts.Add(new QuantizedConcatPart(CopyPlan.Between(dense, part.Destination), null, constant));
            }
        }
        return new QuantizedConcat(op, parts);
    }

    private static QuantizedMeanTokens MeanTokens(MeanTokensOp op, QuantParams input, QuantParams output)
    {
        var (multiplier, shift) = FixedPoint.Multiplier(input.Scale / (output.Scale * op.Rows));
        return new QuantizedMeanTokens(op, input.ZeroPoint, multiplier, shift, output.ZeroPoint);
    }
}
