using McuFormer.Model.Ir;

namespace McuFormer.Model.Onnx.Lifters;

/// <summary>
/// MatMul and Gemm with a constant operand: linear layers, one weight row per output feature.
/// A MatMul of two activations is attention's and goes to the attention lifter.
/// </summary>
internal sealed class LinearLifter(LiftContext context, AttentionLifter attention)
{
    public void LiftMatMul(OnnxNode node)
    {
        if (context.ConstInput(node, 1) is { } weight)
        {
            var x = context.RequireActivation(node, 0);
            var w = weight;
            while (w.Rank > 2 && w.Shape[0] == 1) w = w.Reshaped(w.Shape[1..]);
            if (w.Rank != 2) throw context.Error(node, $"weight of shape {Shapes.Format(weight.Shape)} is not a matrix");
            int inFeatures = w.Shape[0], outFeatures = w.Shape[1];
            var transposed = ConstantEvaluator.Transpose(w, [1, 0]).AsFloats();
            EmitLinear(node, x, transposed, null, inFeatures, outFeatures);
            return;
        }
        if (context.Get(node, 0) is Constant query)
        {
            LiftConstantTimesActivation(node, query.Tensor);
            return;
        }
        attention.LiftActivationMatMul(node);
    }

    public void LiftGemm(OnnxNode node)
    {
        var x = context.RequireActivation(node, 0);
        var b = context.RequireConst(node, 1, "the Gemm weight");
        if (Attr.Int(context.File, node, "transA", 0) != 0) throw context.Error(node, "transA = 1 is not supported");
        float alpha = Attr.Float(context.File, node, "alpha", 1f), beta = Attr.Float(context.File, node, "beta", 1f);
        if (b.Rank != 2) throw context.Error(node, $"weight of shape {Shapes.Format(b.Shape)} is not a matrix");
        var w = Attr.Int(context.File, node, "transB", 0) != 0 ? b : ConstantEvaluator.Transpose(b, [1, 0]);
        int outFeatures = w.Shape[0], inFeatures = w.Shape[1];
        var weights = w.AsFloats().Select(v => v * alpha).ToArray();
        float[]? bias = null;
        if (node.HasInput(2))
        {
            var c = context.RequireConst(node, 2, "the Gemm bias");
            if (c.ElementCount != outFeatures && c.ElementCount != 1)
                throw context.Error(node, $"bias of shape {Shapes.Format(c.Shape)} does not broadcast along the {outFeatures} outputs only");
            bias = Enumerable.Range(0, outFeatures).Select(i => (float)(c.Data[c.ElementCount == 1 ? 0 : i] * beta)).ToArray();
        }
        EmitLinear(node, x, weights, bias, inFeatures, outFeatures);
    }

    /// <summary>
    /// A·B with a constant A, such as the learned query of attention pooling against the keys:
    /// computed as the linear layer Bᵀ·Aᵀ, one row per column of B. One A shared by every batch
    /// makes each (batch, column) a row; one A per batch (per head) makes each column a row over
    /// all batches, with the A's as block-diagonal weights.
    /// </summary>
    private void LiftConstantTimesActivation(OnnxNode node, ConstTensor a)
    {
        var (b, alpha) = context.ScaledOperand(node, 1);
        if (a.Rank < 2 || b.Rank < 2) throw context.Error(node, "matrix product of vectors is not supported");
        int m = a.Shape[^2], k = a.Shape[^1], n = b.Shape[^1];
        if (b.Shape[^2] != k) throw context.Error(node, $"shapes {Shapes.Format(a.Shape)} and {Shapes.Format(b.Shape)} do not multiply");
        var batchShape = Broadcast.Shape(a.Shape[..^2], b.Shape[..^2], node, context.File);
        int batch = Shapes.Product(batchShape), batchA = Shapes.Product(a.Shape[..^2]);
        if (Shapes.Product(b.Shape[..^2]) != batch || (batchA != 1 && batchA != batch))
            throw context.Error(node, $"batch shapes {Shapes.Format(a.Shape[..^2])} and {Shapes.Format(b.Shape[..^2])} are not supported (one constant matrix, or one per batch of the activation)");
        int rank = b.Rank;
        var batchAxes = Enumerable.Range(0, rank - 2).ToArray();
        bool shared = batchA == 1;
        // Rows of the linear: Bᵀ as [batch…, n, k] when A is shared, [n, batch…, k] otherwise.
        var perm = shared ? [.. batchAxes, rank - 1, rank - 2] : new[] { rank - 1 }.Concat(batchAxes).Append(rank - 2).ToArray();
        var rows = b.Transpose(perm);
        var inputShape = shared ? [batch * n, k] : new[] { n, batch * k };
        var input = context.Reshaped(rows, inputShape, node.Inputs[1], node.Name);
        if (Shapes.Count([shared ? 1 : batch, m, inputShape[1]]) > TensorReader.MaxElements)
            throw context.Error(node, $"the product with a constant of shape {Shapes.Format(a.Shape)} needs more than the {TensorReader.MaxElements} weights mcuformer takes");
        int outFeatures = shared ? m : batch * m, inFeatures = inputShape[1];
        var weights = new float[outFeatures * inFeatures];
        for (int h = 0; h < (shared ? 1 : batch); h++)
            for (int i = 0; i < m; i++)
                for (int p = 0; p < k; p++)
                    weights[(h * m + i) * inFeatures + h * k + p] = (float)(alpha * a.Data[(h * m + i) * k + p]);
        var (view, rowCount, rowStride) = context.Rows(input, node.Inputs[1], node.Name);
        var buffer = new ActivationBuffer(node.Name, [rowCount, outFeatures]);
        // The linear writes [batch·n, m] (shared) or [n, batch·m]; the product is read as [batch…, m, n].
        var batchStrides = Shapes.DenseStrides(batchShape).Select(s => s * (shared ? n * m : m)).ToArray();
        var layout = new View(buffer, 0, [.. batchShape, m, n], [.. batchStrides, 1, shared ? m : batch * m]);
        context.EmitAndBind(new LinearOp(node.Name, buffer, view, rowCount, rowStride, inFeatures, outFeatures, weights, null), node.Outputs[0], layout);
    }

    /// <param name="weights">[out][in] row-major</param>
    private void EmitLinear(OnnxNode node, Activation x, float[] weights, float[]? bias, int inFeatures, int outFeatures)
    {
        View input;
        if (!x.Expr.IsIdentity && x.Expr.Scale is { } scale)
        {
            weights = weights.Select(v => (float)(v * scale)).ToArray();
            input = x.Source;
        }
        else input = context.Materialize(node.Inputs[0], x, node.Name + "/in0");
        if (input.Shape[^1] != inFeatures)
            throw context.Error(node, $"input has {input.Shape[^1]} features, weight expects {inFeatures}");
        var (view, rows, rowStride) = context.Rows(input, node.Inputs[0], node.Name);
        var buffer = new ActivationBuffer(node.Name, [rows, outFeatures]);
        var layout = View.Dense(buffer, view.Shape[..^1].Append(outFeatures).ToArray());
        context.EmitAndBind(new LinearOp(node.Name, buffer, view, rows, rowStride, inFeatures, outFeatures, weights, bias), node.Outputs[0], layout);
    }
}
