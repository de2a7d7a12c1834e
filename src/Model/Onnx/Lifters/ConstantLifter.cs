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
        context.Bind(node.Outputs[0], new Constant(ConstTensor.Ints(ConstantEvaluator.ShapeSlice(node, dims))));
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
        if (a.TryGetValue("value", out var t)) return TensorReader.Read(t.T, Path.GetDirectoryName(Path.GetFullPath(file.Path))!, file.Path);
        if (a.TryGetValue("value_float", out var f)) return ConstTensor.Scalar(DataType.Float, f.F);
        if (a.TryGetValue("value_floats", out var fs)) return new ConstTensor(DataType.Float, [fs.Floats.Count], fs.Floats.Select(v => (double)v).ToArray());
        if (a.TryGetValue("value_int", out var i)) return ConstTensor.Scalar(DataType.Int64, i.I);
        if (a.TryGetValue("value_ints", out var @is)) return ConstTensor.Ints(@is.Ints.ToList());
        throw file.Error(node, "constant has no supported value attribute");
    }
}
