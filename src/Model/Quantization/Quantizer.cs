using McuFormer.Model.Ir;

namespace McuFormer.Model.Quantization;

/// <summary>
/// Post-training int8 quantization: activation ranges come from calibration, weights are
/// per-output-channel symmetric, and every op gets the fixed-point parameters of its kernel.
/// </summary>
public static class Quantizer
{
    /// <summary>Softmax output is a probability: fixed scale 1/256 and zero point −128.</summary>
    public static readonly QuantParams SoftmaxOutput = new(1.0 / 256, -128);

    public static QuantizedModel Quantize(ModelGraph graph, Func<ActivationBuffer, (double Min, double Max)> range,
        RangeMethod method, int calibrationSamples)
    {
        var quant = new Dictionary<ActivationBuffer, QuantParams>();
        QuantParams Of(View v) => quant[v.Buffer];
        var (inMin, inMax) = range(graph.Input.Buffer);
        quant[graph.Input.Buffer] = QuantParams.FromRange(inMin, inMax);
        var quantized = new List<QuantizedOp>();
        foreach (var op in graph.Ops)
        {
            quant[op.Output] = op switch
            {
                SoftmaxOp => SoftmaxOutput,
                CopyOp copy => Of(copy.Input),
                _ => FromRange(range(op.Output)),
            };
            var output = quant[op.Output];
            quantized.Add(op switch
            {
                LinearOp l => new QuantizedLinear(l, Channels(l.Weights, l.Bias, l.OutFeatures, Of(l.Input), output)),
                PatchEmbedOp p => new QuantizedPatchEmbed(p, Channels(p.Weights, p.Bias, p.Embed, Of(p.Image), output)),
                LayerNormOp n => LayerNorm(n, Of(n.Input), output),
                ElementwiseOp e => new QuantizedElementwise(e, Table(e.Evaluate, Of(e.Input), output)),
                MatMulOp m => MatMul(m, Of(m.A), Of(m.B), output),
                SoftmaxOp s => new QuantizedSoftmax(s, ExpTable(Of(s.Input))),
                AddOp a => new QuantizedAdd(a, Add(Of(a.A), Of(a.B), output)),
                AddConstantOp c => AddConstant(c, Of(c.Input), output),
                ConcatOp c => Concat(c, quant, output),
                MeanTokensOp t => MeanTokens(t, Of(t.Input), output),
                CopyOp c => new QuantizedCopy(c, CopyPlan.Between(c.Input, c.Output.Source!.Layout)),
                _ => throw new NotSupportedException($"no quantization for {op.Kind}"),
            });
        }
        return new QuantizedModel(graph, quant, quantized, method, calibrationSamples);
    }

    /// <summary>
    /// Quantization with placeholder ranges, for memory planning and analysis only: buffer sizes,
    /// the schedule and the plan do not depend on ranges, so no calibration data is needed.
    /// Never run a model quantized this way.
    /// </summary>
    public static QuantizedModel ForPlanning(ModelGraph graph) => Quantize(graph, _ => (-1, 1), RangeMethod.MinMax, 0);

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

    private static QuantizedLayerNorm LayerNorm(LayerNormOp op, QuantParams input, QuantParams output)
    {
        double epsilonTerm = op.Epsilon * (double)op.Dim * op.Dim / (input.Scale * input.Scale);
        long eps = (long)Math.Min(Math.Round(epsilonTerm, MidpointRounding.AwayFromZero), long.MaxValue / 4);
        var gamma = op.Gamma.Select(g => FixedPoint.RoundToInt32(g / output.Scale * 65536)).ToArray();
        var beta = op.Beta.Select(b => FixedPoint.RoundToInt32(b / output.Scale * 65536)).ToArray();
        return new QuantizedLayerNorm(op, eps, gamma, beta, output.ZeroPoint);
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

    private static QuantizedAddConstant AddConstant(AddConstantOp op, QuantParams input, QuantParams output)
    {
        var constantQuant = QuantParams.FromRange(op.Constant.Min(), op.Constant.Max());
        var constant = op.Constant.Select(v => constantQuant.Quantize(v)).ToArray();
        return new QuantizedAddConstant(op, constant, Add(input, constantQuant, output));
    }

    private static QuantizedConcat Concat(ConcatOp op, Dictionary<ActivationBuffer, QuantParams> quant, QuantParams output)
    {
        var parts = new List<QuantizedConcatPart>();
        foreach (var part in op.Parts)
        {
            if (part.Input is { } input)
            {
                var source = quant[input.Buffer];
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
