using McuFormer.Model.Ir;

namespace McuFormer.Model.Onnx.Lifters;

/// <summary>
/// Element-wise operators. Chains over one tensor stay symbolic until an operator consumes
/// them; residual adds and per-channel constants become ops, or fold into the linear before them.
/// </summary>
internal sealed class ElementwiseLifter(LiftContext context)
{
    public void LiftGelu(OnnxNode node)
    {
        var x = context.RequireActivation(node, 0);
        var approximate = Attr.String(context.File, node, "approximate") ?? "none";
        if (approximate is not ("none" or "tanh"))
            throw context.Error(node, $"approximate = \"{approximate}\" is not a GELU form (expected \"none\" or \"tanh\")");
        BindChain(node, x, ElementwiseExpr.Gelu(approximate, x.Expr));
    }

    /// <summary>One of <see cref="ElementwiseExpr.UnaryOps"/> or <see cref="ElementwiseExpr.BinaryOps"/>.</summary>
    public void LiftElementwise(OnnxNode node)
    {
        string op = node.OpType;
        if (ElementwiseExpr.UnaryOps.Contains(op))
        {
            var x = context.RequireActivation(node, 0);
            BindChain(node, x, ElementwiseExpr.Unary(op, x.Expr));
            return;
        }
        var left = context.Get(node, 0);
        var right = context.Get(node, 1);
        switch (left, right)
        {
            case (Activation a, Constant { Tensor.ElementCount: 1 } c):
                BindChain(node, a, ElementwiseExpr.Binary(op, a.Expr, ElementwiseExpr.Constant(c.Tensor.Data[0])));
                return;
            case (Constant { Tensor.ElementCount: 1 } c, Activation a):
                BindChain(node, a, ElementwiseExpr.Binary(op, ElementwiseExpr.Constant(c.Tensor.Data[0]), a.Expr));
                return;
            case (Activation a, Activation b) when a.SourceName == b.SourceName && a.Source.SameLayoutAs(b.Source):
                BindChain(node, a, ElementwiseExpr.Binary(op, a.Expr, b.Expr));
                return;
            case (Activation, Activation) when op == "Add":
                LiftAdd(node);
                return;
            case (Activation a, Constant c) when op is "Add" or "Sub":
                AddConstant(node, a, 0, op == "Sub" ? Negated(c.Tensor) : c.Tensor);
                return;
            case (Constant c, Activation a) when op == "Add":
                AddConstant(node, a, 1, c.Tensor);
                return;
            case (Activation a, Constant c) when op is "Mul" or "Div":
                ScaleChannels(node, a, op == "Div" ? c.Tensor.With(c.Tensor.Shape, c.Tensor.Data.Select(v => 1 / v).ToArray()) : c.Tensor);
                return;
            case (Constant c, Activation a) when op == "Mul":
                ScaleChannels(node, a, c.Tensor);
                return;
            default:
                throw context.Error(node, $"{op} of these operands is not supported (only element-wise chains of one tensor, residual adds and per-channel constants)");
        }
    }

    /// <summary>Binds the node's output to the activation with its chain extended; a chain deeper than <see cref="ElementwiseExpr.MaxDepth"/> is an error.</summary>
    private void BindChain(OnnxNode node, Activation x, ElementwiseExpr expr)
    {
        if (expr.Depth > ElementwiseExpr.MaxDepth)
            throw context.Error(node, $"the element-wise chain here is {expr.Depth} operations deep; mcuformer takes chains of at most {ElementwiseExpr.MaxDepth}");
        context.Bind(node.Outputs[0], x with { Expr = expr });
    }

    private static ConstTensor Negated(ConstTensor c) => c.With(c.Shape, c.Data.Select(v => -v).ToArray());

    /// <summary>The sum of two activations: a residual connection.</summary>
    private void LiftAdd(OnnxNode node)
    {
        var a = context.MaterializeInput(node, 0);
        var b = context.MaterializeInput(node, 1);
        if (!a.Shape.SequenceEqual(b.Shape))
            throw context.Error(node, $"adding activations of shapes {Shapes.Format(a.Shape)} and {Shapes.Format(b.Shape)} (broadcasting) is not supported");
        if (!(a.CoversBuffer && b.CoversBuffer && a.SameLayoutAs(b)))
        {
            if (!a.IsDenseRowMajor) a = context.CopyToDense(a, node.Inputs[0], node.Name + "/copy0");
            if (!b.IsDenseRowMajor) b = context.CopyToDense(b, node.Inputs[1], node.Name + "/copy1");
        }
        var buffer = new ActivationBuffer(node.Name, a.Buffer.Shape);
        var layout = new View(buffer, 0, a.Shape, a.Strides);
        context.EmitAndBind(new AddOp(node.Name, buffer, a, b), node.Outputs[0], layout);
    }

    /// <summary>
    /// The linear op whose untouched, single-use output this activation is, seen through any
    /// reshape or transpose that still visits every output once; null otherwise.
    /// </summary>
    private LinearOp? FoldableLinear(Activation a) =>
        a.Expr.IsIdentity && context.ProducerOf(a.Source.Buffer) is LinearOp linear
        && a.Source.CoversBuffer && context.ConsumerCount(a.SourceName) == 1
            ? linear : null;

    /// <summary>
    /// The values of a constant broadcast over a view of a linear's output, one per output
    /// feature; null when the constant does not broadcast to the view or varies within a feature.
    /// </summary>
    private static float[]? PerOutputFeature(View view, ConstTensor c, int features)
    {
        if (c.Rank > view.Rank) return null;
        for (int d = 1; d <= c.Rank; d++)
            if (c.Shape[^d] != 1 && c.Shape[^d] != view.Shape[^d]) return null;
        var expanded = Broadcast.To(c, view.Shape).Data;
        var values = new double?[features];
        var index = new int[view.Rank];
        for (int i = 0; i < expanded.Length; i++)
        {
            int feature = (int)(view.IndexOf(index) % features);
            if (values[feature] is { } seen && seen != expanded[i]) return null;
            values[feature] = expanded[i];
            for (int d = view.Rank - 1; d >= 0; d--)
            {
                if (++index[d] < view.Shape[d]) break;
                index[d] = 0;
            }
        }
        return values.Select(v => (float)v!.Value).ToArray();
    }

    /// <summary>An activation plus a constant: a bias of the linear before it, or an op of its own (positional embedding).</summary>
    private void AddConstant(OnnxNode node, Activation a, int activationIndex, ConstTensor constant)
    {
        if (FoldableLinear(a) is { } linear && PerOutputFeature(a.Source, constant, linear.OutFeatures) is { } bias)
        {
            FoldIntoLinear(node, a, new BiasFold(linear, bias));
            return;
        }
        var input = context.Materialize(node.Inputs[activationIndex], a, node.Name + $"/in{activationIndex}");
        if (!input.CoversBuffer) input = context.CopyToDense(input, a.SourceName, node.Name + "/copy");
        var shape = Broadcast.Shape(input.Shape, constant.Shape, node, context.File);
        if (!shape.SequenceEqual(input.Shape))
            throw context.Error(node, $"constant of shape {Shapes.Format(constant.Shape)} would broadcast the activation {Shapes.Format(input.Shape)}");
        var expanded = Broadcast.To(constant, shape).Data;
        var physical = new float[input.Buffer.ElementCount];
        var index = new int[shape.Length];
        for (int i = 0; i < expanded.Length; i++)
        {
            physical[input.IndexOf(index)] = (float)expanded[i];
            for (int d = shape.Length - 1; d >= 0; d--)
            {
                if (++index[d] < shape[d]) break;
                index[d] = 0;
            }
        }
        var buffer = new ActivationBuffer(node.Name, input.Buffer.Shape);
        var layout = new View(buffer, input.Offset, input.Shape, input.Strides);
        context.EmitAndBind(new AddConstantOp(node.Name, buffer, input, physical), node.Outputs[0], layout);
    }

    /// <summary>Multiplication by a per-feature constant, folded into the linear layer before it.</summary>
    private void ScaleChannels(OnnxNode node, Activation a, ConstTensor constant)
    {
        if (FoldableLinear(a) is { } linear && PerOutputFeature(a.Source, constant, linear.OutFeatures) is { } scale)
        {
            FoldIntoLinear(node, a, new ChannelScaleFold(linear, scale));
            return;
        }
        throw context.Error(node, $"{node.OpType} by a constant of shape {Shapes.Format(constant.Shape)} is supported only right after a linear layer");
    }

    /// <summary>The node's output is the linear's with the constant applied: the linear's buffer holds it once folded.</summary>
    private void FoldIntoLinear(OnnxNode node, Activation a, Fold fold)
    {
        context.Fold(fold, node.Outputs[0], a.Source);
        context.Bind(node.Outputs[0], a with { SourceName = node.Outputs[0] });
    }
}
