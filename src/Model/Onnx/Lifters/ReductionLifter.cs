using McuFormer.Model.Ir;

namespace McuFormer.Model.Onnx.Lifters;

/// <summary>ReduceMean: the mean over tokens (average pooling), or the start of a decomposed LayerNorm.</summary>
internal sealed class ReductionLifter(LiftContext context, NormalizationLifter normalization)
{
    public void LiftReduceMean(OnnxNode node)
    {
        var x = context.RequireActivation(node, 0);
        int rank = x.Source.Rank;
        if (ReduceAxes(node, rank) is not { } axes)
        {
            context.Bind(node.Outputs[0], x);
            return;
        }
        bool keepDims = Attr.Int(context.File, node, "keepdims", 1) != 0;
        if (axes.Length == 1 && axes[0] == rank - 1)
        {
            normalization.LiftDecomposed(node, x);
            return;
        }
        if (axes.Length == 1 && axes[0] == rank - 2)
        {
            var input = context.Materialize(node.Inputs[0], x, node.Name + "/in0");
            if (input.Shape[..^2].Any(d => d != 1))
                throw context.Error(node, "mean over tokens needs a single image (batch 1)");
            if (input.Strides[^1] != 1 && input.Shape[^1] != 1)
                input = context.CopyToDense(input, node.Inputs[0], node.Name + "/copy");
            int rows = input.Shape[^2], dim = input.Shape[^1];
            var buffer = new ActivationBuffer(node.Name, [dim]);
            var outShape = keepDims ? input.Shape[..^2].Concat([1, dim]).ToArray() : input.Shape[..^2].Append(dim).ToArray();
            var layout = View.Dense(buffer, outShape);
            context.EmitAndBind(new MeanTokensOp(node.Name, buffer, input, rows, rows == 1 ? dim : input.Strides[^2], dim), node.Outputs[0], layout);
            return;
        }
        throw context.Error(node, $"mean over axes [{string.Join(", ", axes)}] is not supported (tokens or LayerNorm only)");
    }

    /// <summary>
    /// The axes of a Reduce* node: an input from opset 18 (13 for ReduceSum), an attribute before.
    /// No axes means all of them, or none when noop_with_empty_axes is set; null then.
    /// </summary>
    private int[]? ReduceAxes(OnnxNode node, int rank)
    {
        var axes = node.HasInput(1) ? context.RequireConst(node, 1, "the reduction axes").AsInts() : Attr.Ints(context.File, node, "axes");
        if (axes is null || axes.Length == 0)
            return Attr.Int(context.File, node, "noop_with_empty_axes", 0) != 0 ? null : Enumerable.Range(0, rank).ToArray();
        var normalized = axes.Select(a => ConstantEvaluator.Axis(node, a, rank, context.File)).Order().ToArray();
        if (normalized.Distinct().Count() != normalized.Length) throw context.Error(node, $"axes [{string.Join(", ", axes)}] repeat an axis");
        return normalized;
    }
}
