using McuFormer.Model.Ir;

namespace McuFormer.Model.Onnx.Lifters;

/// <summary>The products of two activations (Q·Kᵀ, scores·V) and the softmax between them.</summary>
internal sealed class AttentionLifter(LiftContext context)
{
    public void LiftActivationMatMul(OnnxNode node)
    {
        var (a, alphaA) = context.ScaledOperand(node, 0);
        var (b, alphaB) = context.ScaledOperand(node, 1);
        if (a.Rank < 2 || b.Rank < 2) throw context.Error(node, "matrix product of vectors is not supported");
        int m = a.Shape[^2], k = a.Shape[^1], n = b.Shape[^1];
        if (b.Shape[^2] != k) throw context.Error(node, $"shapes {Shapes.Format(a.Shape)} and {Shapes.Format(b.Shape)} do not multiply");
        var batchA = a.Shape[..^2];
        var batchB = b.Shape[..^2];
        int countA = Shapes.Product(batchA), countB = Shapes.Product(batchB);
        if (countB != countA && countB != 1)
            throw context.Error(node, $"batch shapes {Shapes.Format(batchA)} and {Shapes.Format(batchB)} differ");
        (int Count, int Stride) BatchAxis(ref View v, int operand)
        {
            var merged = v.MergeAxes(0, v.Rank - 3);
            if (merged is not null) return v.Rank > 2 ? merged.Value : (1, 0);
            v = context.CopyToDense(v, node.Inputs[operand], node.Name + $"/copy{operand}");
            return v.MergeAxes(0, v.Rank - 3)!.Value;
        }
        var (batch, strideA) = BatchAxis(ref a, 0);
        var (_, strideB) = BatchAxis(ref b, 1);
        if (countB == 1) strideB = 0;
        var outBatch = batchA.Length >= batchB.Length ? batchA : batchB;
        var buffer = new ActivationBuffer(node.Name, [m, batch, n]);
        var batchStrides = Shapes.DenseStrides(outBatch).Select(s => s * n).ToArray();
        var layout = new View(buffer, 0, outBatch.Concat([m, n]).ToArray(), batchStrides.Concat([batch * n, 1]).ToArray());
        context.EmitAndBind(new MatMulOp(node.Name, buffer, a, b, batch, m, k, n, strideA, strideB, alphaA * alphaB), node.Outputs[0], layout);
    }

    public void LiftSoftmax(OnnxNode node)
    {
        var x = context.RequireActivation(node, 0);
        int axis = Attr.Axis(context.File, node, -1, x.Source.Rank);
        if (axis != x.Source.Rank - 1) throw context.Error(node, "softmax is supported on the last axis only");
        View input;
        if (!x.Expr.IsIdentity && x.Expr.Scale is { } scale && context.ProducerOf(x.Source.Buffer) is MatMulOp matmul
            && context.ConsumerCount(x.SourceName) == 1)
        {
            // attention's 1/√d applied after Q·Kᵀ: fold it into the product.
            context.Fold(new AlphaFold(matmul, scale), node.Inputs[0], x.Source);
            input = x.Source;
        }
        else input = context.MaterializeInput(node, 0);
        if (!(input.CoversBuffer && input.Strides[^1] == 1))
            input = context.CopyToDense(input, node.Inputs[0], node.Name + "/copy");
        int length = input.Shape[^1];
        var buffer = new ActivationBuffer(node.Name, input.Buffer.Shape);
        var layout = new View(buffer, 0, input.Shape, input.Strides);
        context.EmitAndBind(new SoftmaxOp(node.Name, buffer, input, input.ElementCount / length, length), node.Outputs[0], layout);
    }
}
