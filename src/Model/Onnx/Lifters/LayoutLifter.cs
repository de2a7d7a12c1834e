using McuFormer.Model.Ir;
using DataType = Onnx.TensorProto.Types.DataType;

namespace McuFormer.Model.Onnx.Lifters;

/// <summary>
/// Operators that only move values around. Most become views of the buffer that already holds
/// their input, so they cost no memory and no time; Concat fills a new buffer.
/// </summary>
internal sealed class LayoutLifter(LiftContext context, NormalizationLifter normalization)
{
    /// <summary>Identity and Dropout (inference): the output is the input.</summary>
    public void LiftPassThrough(OnnxNode node) => context.Bind(node.Outputs[0], context.Get(node, 0));

    public void LiftCast(OnnxNode node)
    {
        // float32 and double hold every value of a float32 activation: the cast changes nothing.
        var to = node.OpType == "Cast" ? (DataType)Attr.Int(context.File, node, "to", (int)DataType.Float) : context.RequireConst(node, 1, "the type to cast like").Type;
        if (to is not (DataType.Float or DataType.Double))
            throw context.Error(node, $"casting an activation to {to} is not supported (float or double only)");
        context.Bind(node.Outputs[0], context.RequireActivation(node, 0));
    }

    /// <summary>Reshape, Flatten, Unsqueeze and Squeeze.</summary>
    public void LiftReshape(OnnxNode node)
    {
        var x = context.RequireActivation(node, 0);
        var shape = ShapeOps.OutputShape(node, x.Source.Shape, context.ConstInputs(node), context.File);
        context.Bind(node.Outputs[0], x with { Source = context.Reshaped(x.Source, shape, x.SourceName, node.Name) });
    }

    public void LiftTranspose(OnnxNode node)
    {
        var x = context.RequireActivation(node, 0);
        context.Bind(node.Outputs[0], x with { Source = x.Source.Transpose(ShapeOps.Permutation(node, x.Source.Rank, context.File)) });
    }

    public void LiftSlice(OnnxNode node)
    {
        var x = context.RequireActivation(node, 0);
        var view = x.Source;
        foreach (var (axis, start, count, step) in ShapeOps.SliceRanges(node, view.Shape, context.ConstInputs(node), context.File))
            view = view.Slice(axis, start, count, step);
        if (view.Shape.Contains(0)) throw context.Error(node, $"the slice of {Shapes.Format(x.Source.Shape)} is empty ({Shapes.Format(view.Shape)})");
        context.Bind(node.Outputs[0], x with { Source = view });
    }

    public void LiftSplit(OnnxNode node)
    {
        var x = context.RequireActivation(node, 0);
        var sizes = ConstantEvaluator.SplitSizes(node, x.Source.Shape, context.ConstInputs(node), context.File);
        int axis = Attr.Axis(context.File, node, 0, x.Source.Rank);
        int start = 0;
        if (sizes.Contains(0)) throw context.Error(node, $"split sizes [{string.Join(", ", sizes)}] make an empty part");
        for (int i = 0; i < node.Outputs.Count; i++)
        {
            context.Bind(node.Outputs[i], x with { Source = x.Source.Slice(axis, start, sizes[i], 1) });
            start += sizes[i];
        }
    }

    /// <summary>A single index along one axis, such as the class token; nothing wider.</summary>
    public void LiftGather(OnnxNode node)
    {
        var x = context.RequireActivation(node, 0);
        var indices = context.RequireConst(node, 1, "gather indices");
        int axis = Attr.Axis(context.File, node, 0, x.Source.Rank);
        if (indices.ElementCount != 1)
            throw context.Error(node, $"gathering {indices.ElementCount} indices from an activation is not supported (only a single index, e.g. the class token)");
        int index = (int)indices.Data[0];
        if (index < 0) index += x.Source.Shape[axis];
        if (index < 0 || index >= x.Source.Shape[axis])
            throw context.Error(node, $"index {indices.Data[0]} is out of range for axis {axis} of size {x.Source.Shape[axis]}");
        var view = indices.Rank == 0 ? x.Source.Select(axis, index) : x.Source.Slice(axis, index, 1, 1).TryReshape(
            x.Source.Shape[..axis].Concat(indices.Shape).Concat(x.Source.Shape[(axis + 1)..]).ToArray())!;
        // Only a LayerNorm whose rows are the tokens (over the last axis alone, one row per token) can normalise
        // the one token instead.
        if (x.Expr.IsIdentity && axis == x.Source.Rank - 2 && context.ProducerOf(x.Source.Buffer) is LayerNormOp norm
            && norm.Dim == x.Source.Shape[^1] && norm.Input.Rank == x.Source.Rank && x.Source.Shape[..^2].All(d => d == 1)
            && x.Source.IsDenseRowMajor && context.ConsumerCount(x.SourceName) == 1)
        {
            normalization.NormaliseOneToken(node, norm, index, view.Shape);
            return;
        }
        context.Bind(node.Outputs[0], x with { Source = view });
    }

    /// <summary>Activations and constants (the class token) side by side in a new dense buffer.</summary>
    public void LiftConcat(OnnxNode node)
    {
        var parts = node.Inputs.Select((_, i) => context.Get(node, i)).ToList();
        var shapes = parts.Select(p => p switch { Constant c => c.Tensor.Shape, Activation a => a.Source.Shape, _ => throw new InvalidOperationException() }).ToList();
        int rank = shapes[0].Length;
        int axis = Attr.Axis(context.File, node, 0, rank);
        var outShape = (int[])shapes[0].Clone();
        for (int i = 0; i < shapes.Count; i++)
            if (shapes[i].Length != rank || Enumerable.Range(0, rank).Any(d => d != axis && shapes[i][d] != outShape[d]))
                throw context.Error(node, $"input {i} of shape {Shapes.Format(shapes[i])} does not concatenate along axis {axis}");
        long length = shapes.Sum(s => (long)s[axis]);
        if (length > OnnxImporter.MaxActivationElements)
            throw context.Error(node, $"the concatenation is {length} long on axis {axis}, more than an activation may hold");
        outShape[axis] = (int)length;
        var buffer = new ActivationBuffer(node.Name, LiftContext.Physical(outShape));
        var layout = View.Dense(buffer, outShape);
        var concatParts = new List<ConcatPart>();
        int start = 0;
        for (int i = 0; i < parts.Count; i++)
        {
            var destination = layout.Slice(axis, start, shapes[i][axis], 1);
            start += shapes[i][axis];
            concatParts.Add(parts[i] switch
            {
                Constant c => new ConcatPart(destination, null, c.Tensor.AsFloats()),
                _ => new ConcatPart(destination, context.MaterializeInput(node, i), null),
            });
        }
        context.EmitAndBind(new ConcatOp(node.Name, buffer, concatParts), node.Outputs[0], layout);
    }
}
