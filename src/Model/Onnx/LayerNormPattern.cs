namespace McuFormer.Model.Onnx;

/// <summary>
/// Recognises the decomposed LayerNorm that exporters emit below opset 17:
/// ReduceMean → Sub → Pow 2 → ReduceMean → Add ε → Sqrt → Div, then optionally Mul γ and Add β.
/// </summary>
public sealed record LayerNormMatch(string Input, string Output, float Epsilon, ConstTensor? Gamma, ConstTensor? Beta,
    IReadOnlyList<OnnxNode> Nodes);

public static class LayerNormPattern
{
    /// <param name="mean">a ReduceMean over the last axis</param>
    /// <param name="consumers">value name → nodes that read it</param>
    /// <param name="constant">resolves a value to a constant, or null</param>
    public static LayerNormMatch? Match(OnnxNode mean, IReadOnlyDictionary<string, List<OnnxNode>> consumers,
        Func<string, ConstTensor?> constant)
    {
        string x = mean.Inputs[0];
        OnnxNode? Only(string value, string opType)
        {
            if (!consumers.TryGetValue(value, out var readers)) return null;
            var match = readers.Where(n => n.OpType == opType).ToList();
            return match.Count == 1 ? match[0] : null;
        }
        bool ReadsOnlyBy(string value, params OnnxNode[] readers) =>
            consumers.TryGetValue(value, out var r) && r.All(readers.Contains);
        double? Scalar(string value) => constant(value) is { ElementCount: 1 } c ? c.Data[0] : null;
        string Other(OnnxNode node, string value) => node.Inputs[0] == value ? node.Inputs[1] : node.Inputs[0];
        // Axes are an input from opset 18 and an attribute before; the mean must keep its axis to broadcast.
        long[]? Axes(OnnxNode reduce) => reduce.HasInput(1) ? constant(reduce.Inputs[1])?.AsLongs()
            : reduce.Attributes.TryGetValue("axes", out var a) ? a.Ints.ToArray() : null;
        bool KeepsDims(OnnxNode reduce) => !reduce.Attributes.TryGetValue("keepdims", out var k) || k.I != 0;
        if (!KeepsDims(mean)) return null;

        var sub = Only(mean.Outputs[0], "Sub");
        if (sub is null || sub.Inputs[0] != x || sub.Inputs[1] != mean.Outputs[0] || !ReadsOnlyBy(mean.Outputs[0], sub)) return null;
        string centred = sub.Outputs[0];
        var pow = Only(centred, "Pow");
        if (pow is null || pow.Inputs[0] != centred || Scalar(pow.Inputs[1]) != 2.0) return null;
        var variance = Only(pow.Outputs[0], "ReduceMean");
        if (variance is null || !ReadsOnlyBy(pow.Outputs[0], variance) || !KeepsDims(variance)
            || Axes(variance) is not { } varianceAxes || Axes(mean) is not { } meanAxes || !varianceAxes.SequenceEqual(meanAxes)) return null;
        var addEps = Only(variance.Outputs[0], "Add");
        if (addEps is null || !ReadsOnlyBy(variance.Outputs[0], addEps) || Scalar(Other(addEps, variance.Outputs[0])) is not { } eps) return null;
        var sqrt = Only(addEps.Outputs[0], "Sqrt");
        if (sqrt is null || !ReadsOnlyBy(addEps.Outputs[0], sqrt)) return null;
        var div = Only(sqrt.Outputs[0], "Div");
        if (div is null || div.Inputs[0] != centred || div.Inputs[1] != sqrt.Outputs[0] || !ReadsOnlyBy(centred, pow, div)) return null;

        var nodes = new List<OnnxNode> { mean, sub, pow, variance, addEps, sqrt, div };
        string output = div.Outputs[0];
        ConstTensor? gamma = null, beta = null;
        if (Only(output, "Mul") is { } mul && ReadsOnlyBy(output, mul) && constant(Other(mul, output)) is { } g)
        {
            gamma = g;
            nodes.Add(mul);
            output = mul.Outputs[0];
            if (Only(output, "Add") is { } add && ReadsOnlyBy(output, add) && constant(Other(add, output)) is { } b)
            {
                beta = b;
                nodes.Add(add);
                output = add.Outputs[0];
            }
        }
        return new LayerNormMatch(x, output, (float)eps, gamma, beta, nodes);
    }
}
