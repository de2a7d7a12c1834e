using McuFormer.Model.Ir;
using DataType = Onnx.TensorProto.Types.DataType;

namespace McuFormer.Model.Onnx.Lifters;

/// <summary>LayerNorm: the opset-17 operator and the decomposed form that older exporters emit.</summary>
internal sealed class NormalizationLifter(LiftContext context)
{
    /// <summary>
    /// The opset-17 operator. It normalises over every axis from <c>axis</c> on; those axes are
    /// merged into one feature axis, with scale and bias broadcast to them.
    /// </summary>
    public void LiftLayerNormalization(OnnxNode node)
    {
        var x = context.MaterializeInput(node, 0);
        int axis = Attr.Axis(context.File, node, -1, x.Rank);
        // stash_type sets the precision of the mean and variance; float32 and double both leave
        // nothing for an int8 kernel to reproduce, half precision would.
        int stash = Attr.Int(context.File, node, "stash_type", (int)DataType.Float);
        if (stash is not ((int)DataType.Float or (int)DataType.Double))
            throw context.Error(node, $"stash_type {(DataType)stash} is not supported (float or double statistics only)");
        for (int i = 1; i < node.Outputs.Count; i++)
            if (node.Outputs[i].Length > 0 && context.ConsumerCount(node.Outputs[i]) > 0)
                throw context.Error(node, $"output {i} ({(i == 1 ? "Mean" : "InvStdDev")}) is used; only the normalised output is supported");
        var normalized = x.Shape[axis..];
        var merged = x.Shape[..axis].Append(Shapes.Product(normalized)).ToArray();
        ConstTensor? PerFeature(int index, string what)
        {
            if (!node.HasInput(index)) return null;
            var t = context.RequireConst(node, index, what);
            return Broadcast.Shape(t.Shape, normalized, node, context.File).SequenceEqual(normalized)
                ? Broadcast.To(t, normalized).Reshaped([merged[^1]])
                : throw context.Error(node, $"{what} of shape {Shapes.Format(t.Shape)} does not broadcast to the normalised axes {Shapes.Format(normalized)}");
        }
        var gamma = PerFeature(1, "the LayerNorm scale") ?? throw context.Error(node, "the LayerNorm scale is missing");
        var beta = PerFeature(2, "the LayerNorm bias");
        var input = context.Reshaped(x, merged, node.Inputs[0], node.Name);
        var output = EmitLayerNorm(node, input, node.Inputs[0], node.Outputs[0], gamma, beta, Attr.Float(context.File, node, "epsilon", 1e-5f));
        if (merged.Length != x.Rank) context.BindHeld(node.Outputs[0], output.TryReshape(x.Shape)!);
    }

    /// <summary>
    /// A ReduceMean over the feature axis, lifted with the rest of the decomposed LayerNorm it
    /// starts; the other nodes of the pattern are absorbed.
    /// </summary>
    public void LiftDecomposed(OnnxNode mean, Activation x)
    {
        // The pattern looks ahead past the node being lifted, at Constant nodes not reached yet.
        var match = LayerNormPattern.Match(mean, context.Consumers,
            name => context.IsBound(name) ? context.ConstantNamed(name) : ConstantNodeValue(name));
        if (match is null) throw context.Error(mean, "a mean over the feature axis is supported only as part of a LayerNorm");
        context.Absorb(match.Nodes);
        var input = context.Materialize(mean.Inputs[0], x, mean.Name + "/in0");
        EmitLayerNorm(mean, input, mean.Inputs[0], match.Output, match.Gamma, match.Beta, match.Epsilon);
    }

    /// <summary>
    /// Only one token of a LayerNorm's output is used (class-token pooling after the final norm):
    /// the LayerNorm is replaced by one that normalises just that token.
    /// </summary>
    public void NormaliseOneToken(OnnxNode node, LayerNormOp norm, int token, int[] shape)
    {
        context.Withdraw(norm);
        var row = norm.Input.Slice(norm.Input.Rank - 2, token, 1, 1);
        var buffer = new ActivationBuffer(norm.Name, [1, norm.Dim]);
        var layout = View.Dense(buffer, shape);
        context.EmitAndBind(new LayerNormOp(norm.Name, buffer, row, 1, norm.Dim, norm.Dim, norm.Gamma, norm.Beta, norm.Epsilon), node.Outputs[0], layout);
    }

    /// <summary>Emits a LayerNorm over the last axis of x and binds its output; returns the output's layout.</summary>
    private View EmitLayerNorm(OnnxNode node, View x, string inputName, string outputName, ConstTensor? gamma, ConstTensor? beta, float epsilon)
    {
        if (!(epsilon >= 0 && float.IsFinite(epsilon))) throw context.Error(node, $"epsilon {epsilon} is not a non-negative number");
        int dim = x.Shape[^1];
        float[] PerFeature(ConstTensor? t, float fallback, string what)
        {
            if (t is null) return Enumerable.Repeat(fallback, dim).ToArray();
            if (t.ElementCount == 1) return Enumerable.Repeat((float)t.Data[0], dim).ToArray();
            if (t.ElementCount != dim) throw context.Error(node, $"LayerNorm {what} has {t.ElementCount} values for {dim} features");
            return t.AsFloats();
        }
        var (view, rows, rowStride) = context.Rows(x, inputName, node.Name);
        var buffer = new ActivationBuffer(node.Name, [rows, dim]);
        var layout = View.Dense(buffer, view.Shape);
        context.EmitAndBind(new LayerNormOp(node.Name, buffer, view, rows, rowStride, dim, PerFeature(gamma, 1f, "scale"), PerFeature(beta, 0f, "bias"), epsilon),
            outputName, layout);
        return layout;
    }

    /// <summary>Value of a Constant node that has not been reached yet in the walk.</summary>
    private ConstTensor? ConstantNodeValue(string name)
    {
        var node = context.File.Nodes.FirstOrDefault(n => n.OpType == "Constant" && n.Outputs[0] == name);
        return node is null ? null : ConstantLifter.AttributeValue(node, context.File);
    }
}
