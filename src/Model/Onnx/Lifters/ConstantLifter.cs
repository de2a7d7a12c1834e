using DataType = Onnx.TensorProto.Types.DataType;

namespace McuFormer.Model.Onnx.Lifters;

/// <summary>
/// Nodes whose outputs are known at import time: Constant nodes, the Shape of an activation
/// (shapes are static) and any node whose inputs are all constants.
/// </summary>
internal sealed class ConstantLifter(LiftContext context)
{
    public void LiftConstantNode(OnnxNode node) =>
        context.Bind(node.Outputs[0], new Constant(AttributeValue(node, context.File)));

    public void LiftShape(OnnxNode node, Activation shaped)
    {
        var dims = shaped.Source.Shape.Select(d => (long)d).ToArray();
        context.Bind(node.Outputs[0], new Constant(ConstTensor.Ints(ConstantEvaluator.ShapeSlice(node, dims, context.File))));
    }

    /// <summary>Binds the outputs of a node whose inputs are all constants to their values.</summary>
    public void Fold(OnnxNode node, IReadOnlyList<ConstTensor?> inputs)
    {
        var file = context.File;
        if (ConstantEvaluator.SupportedOps.Contains(node.OpType))
        {
            var folded = ConstantEvaluator.Evaluate(node, inputs, file);
            for (int i = 0; i < node.Outputs.Count && i < folded.Length; i++)
                if (node.Outputs[i].Length > 0) context.Bind(node.Outputs[i], new Constant(folded[i]));
            return;
        }
        foreach (var (name, tensor) in OrtNodeEvaluator.Evaluate(node, inputs, file)) context.Bind(name, new Constant(tensor));
    }

    /// <summary>The value a Constant node holds in its attributes.</summary>
    public static ConstTensor AttributeValue(OnnxNode node, OnnxModelFile file)
    {
        var a = node.Attributes;
        if (Attr.Tensor(file, node, "value") is { } t) return file.ReadTensor(t);
        if (a.ContainsKey("value_float")) return ConstTensor.Scalar(DataType.Float, Attr.Float(file, node, "value_float", 0));
        if (Attr.Floats(file, node, "value_floats") is { } fs) return new ConstTensor(DataType.Float, [fs.Length], fs.Select(v => (double)v).ToArray());
        if (a.ContainsKey("value_int")) return ConstTensor.Scalar(DataType.Int64, Attr.Long(file, node, "value_int", 0));
        if (Attr.Longs(file, node, "value_ints") is { } @is) return ConstTensor.Ints(@is);
        throw file.Error(node, "constant has no supported value attribute");
    }
}
