using McuFormer.Model.Ir;
using DataType = Onnx.TensorProto.Types.DataType;

namespace McuFormer.Model.Onnx;

/// <summary>
/// Turns an ONNX vision transformer into the IR. One pass in topological order: constants and
/// static shapes are folded, layout operators become views of existing buffers, element-wise
/// chains stay symbolic until an operator consumes them, and the remaining compute operators
/// become IR ops.
/// </summary>
public sealed class OnnxImporter
{
    private abstract record Value;
    private sealed record Constant(ConstTensor Tensor) : Value;
    /// <summary>expr(source), where source is a view of a buffer holding the value named SourceName.</summary>
    private sealed record Activation(View Source, string SourceName, ElementwiseExpr Expr) : Value;

    private readonly OnnxModelFile file;
    private readonly Dictionary<string, Value> values = new();
    private readonly Dictionary<string, List<OnnxNode>> consumers = new();
    private readonly Dictionary<ActivationBuffer, Op> producers = new();
    private readonly HashSet<OnnxNode> absorbed = new();
    private readonly List<Op> ops = new();
    private readonly ActivationBuffer inputBuffer;

    private OnnxImporter(OnnxModelFile file)
    {
        this.file = file;
        var shape = file.InputShape;
        inputBuffer = new ActivationBuffer("input", shape[1..]);
        var inputView = View.Dense(inputBuffer, shape);
        inputBuffer.Source = new SourceValue(file.InputName, inputView);
        values[file.InputName] = new Activation(inputView, file.InputName, ElementwiseExpr.Input);
        foreach (var (name, tensor) in file.Initializers) values[name] = new Constant(tensor);
    }

    public static ModelGraph Import(string path) => Import(OnnxModelFile.Load(path));

    public static ModelGraph Import(OnnxModelFile file) => new OnnxImporter(file).Lift();

    private ModelGraph Lift()
    {
        if (file.Outputs.Count != 1)
            throw file.Error($"expected exactly one output (the logits), found {file.Outputs.Count}");
        var live = LiveNodes();
        foreach (var node in live)
            foreach (var input in node.Inputs.Where(i => i.Length > 0))
            {
                if (!consumers.TryGetValue(input, out var list)) consumers[input] = list = new List<OnnxNode>();
                list.Add(node);
            }

        foreach (var node in live)
        {
            if (absorbed.Contains(node)) continue;
            LiftNode(node);
        }

        string outputName = file.Outputs[0];
        if (values[outputName] is not Activation output)
            throw file.Error($"output '{outputName}' does not depend on the input");
        var outputView = Materialize(outputName, output, "output");
        if (!outputView.IsDenseRowMajor) outputView = CopyToDense(outputView, outputName, outputName + "/copy");
        return new ModelGraph(Path.GetFileNameWithoutExtension(file.Path), file.Path,
            new ModelInput(file.InputName, file.InputShape, inputBuffer), ops, outputView, outputName);
    }

    /// <summary>Nodes that contribute to the graph output, in the file's (topological) order.</summary>
    private List<OnnxNode> LiveNodes()
    {
        var producerOf = new Dictionary<string, OnnxNode>();
        foreach (var node in file.Nodes)
            foreach (var output in node.Outputs) producerOf[output] = node;
        var needed = new HashSet<OnnxNode>();
        var pending = new Stack<string>(file.Outputs);
        while (pending.Count > 0)
            if (producerOf.TryGetValue(pending.Pop(), out var node) && needed.Add(node))
                foreach (var input in node.Inputs.Where(i => i.Length > 0)) pending.Push(input);
        return file.Nodes.Where(needed.Contains).ToList();
    }

    private Value Get(OnnxNode node, int index)
    {
        if (!node.HasInput(index)) throw file.Error(node, $"input {index} is missing");
        return values.TryGetValue(node.Inputs[index], out var v)
            ? v
            : throw file.Error(node, $"input '{node.Inputs[index]}' is not produced by any node before it");
    }

    private ConstTensor? ConstInput(OnnxNode node, int index) =>
        node.HasInput(index) && values.TryGetValue(node.Inputs[index], out var v) && v is Constant c ? c.Tensor : null;

    private ConstTensor RequireConst(OnnxNode node, int index, string what) =>
        ConstInput(node, index) ?? throw file.Error(node, $"{what} must be a constant");

    private Activation RequireActivation(OnnxNode node, int index) =>
        Get(node, index) as Activation ?? throw file.Error(node, $"input {index} must be an activation");

    private void Bind(string name, Value value) => values[name] = value;

    private void LiftNode(OnnxNode node)
    {
        if (node.OpType == "Constant")
        {
            Bind(node.Outputs[0], new Constant(ConstantAttribute(node)));
            return;
        }
        var inputs = Enumerable.Range(0, node.Inputs.Count).Select(i => node.HasInput(i) ? Get(node, i) : null).ToList();
        bool anyActivation = inputs.Any(v => v is Activation);
        if (node.OpType == "Shape" && inputs[0] is Activation shaped)
        {
            var dims = shaped.Source.Shape.Select(d => (long)d).ToArray();
            Bind(node.Outputs[0], new Constant(ConstTensor.Ints(ConstantEvaluator.ShapeSlice(node, dims))));
            return;
        }
        if (!anyActivation)
        {
            FoldConstants(node, inputs.Select(v => (v as Constant)?.Tensor).ToList());
            return;
        }
        switch (node.OpType)
        {
            case "Identity":
            case "Dropout":
                Bind(node.Outputs[0], Get(node, 0));
                break;
            case "Cast":
            case "CastLike":
                {
                    // float32 and double hold every value of a float32 activation: the cast changes nothing.
                    var to = node.OpType == "Cast" ? (DataType)Attr.Int(node, "to", (long)DataType.Float) : RequireConst(node, 1, "the type to cast like").Type;
                    if (to is not (DataType.Float or DataType.Double))
                        throw file.Error(node, $"casting an activation to {to} is not supported (float or double only)");
                    Bind(node.Outputs[0], RequireActivation(node, 0));
                    break;
                }
            case "Reshape":
            case "Flatten":
            case "Unsqueeze":
            case "Squeeze":
                LiftReshape(node);
                break;
            case "Transpose":
                {
                    var x = RequireActivation(node, 0);
                    var perm = Attr.Ints(node, "perm") ?? Enumerable.Range(0, x.Source.Rank).Reverse().ToArray();
                    Bind(node.Outputs[0], x with { Source = x.Source.Transpose(perm) });
                    break;
                }
            case "Gather": LiftGather(node); break;
            case "Slice":
                {
                    var x = RequireActivation(node, 0);
                    var view = x.Source;
                    var constants = node.Inputs.Select((_, i) => ConstInput(node, i)).ToList();
                    foreach (var (axis, start, count, step) in ShapeOps.SliceRanges(node, view.Shape, constants, file))
                        view = view.Slice(axis, start, count, step);
                    Bind(node.Outputs[0], x with { Source = view });
                    break;
                }
            case "Split":
                {
                    var x = RequireActivation(node, 0);
                    var constants = node.Inputs.Select((_, i) => ConstInput(node, i)).ToList();
                    var sizes = ConstantEvaluator.SplitSizes(node, x.Source.Shape, constants, file);
                    int axis = ConstantEvaluator.Axis(node, (int)Attr.Int(node, "axis", 0), x.Source.Rank, file);
                    int start = 0;
                    for (int i = 0; i < node.Outputs.Count; i++)
                    {
                        Bind(node.Outputs[i], x with { Source = x.Source.Slice(axis, start, sizes[i], 1) });
                        start += sizes[i];
                    }
                    break;
                }
            case "Conv": LiftPatchEmbedding(node); break;
            case "MatMul": LiftMatMul(node); break;
            case "Gemm": LiftGemm(node); break;
            case "LayerNormalization": LiftLayerNormalization(node); break;
            case "ReduceMean": LiftReduceMean(node); break;
            case "Softmax": LiftSoftmax(node); break;
            case "Concat": LiftConcat(node); break;
            case "Gelu":
                {
                    var x = RequireActivation(node, 0);
                    var approximate = Attr.String(node, "approximate") ?? "none";
                    if (approximate is not ("none" or "tanh"))
                        throw file.Error(node, $"approximate = \"{approximate}\" is not a GELU form (expected \"none\" or \"tanh\")");
                    Bind(node.Outputs[0], x with { Expr = ElementwiseExpr.Gelu(approximate, x.Expr) });
                    break;
                }
            default:
                if (ElementwiseExpr.UnaryOps.Contains(node.OpType) || ElementwiseExpr.BinaryOps.Contains(node.OpType))
                    LiftElementwise(node);
                else
                    throw file.Error(node, "operator is not supported");
                break;
        }
    }

    /// <summary>Binds the outputs of a node whose inputs are all constants to their values.</summary>
    private void FoldConstants(OnnxNode node, IReadOnlyList<ConstTensor?> inputs)
    {
        if (ConstantEvaluator.SupportedOps.Contains(node.OpType))
        {
            var folded = ConstantEvaluator.Evaluate(node, inputs, file);
            for (int i = 0; i < node.Outputs.Count && i < folded.Length; i++)
                if (node.Outputs[i].Length > 0) Bind(node.Outputs[i], new Constant(folded[i]));
            return;
        }
        foreach (var (name, tensor) in OrtNodeEvaluator.Evaluate(node, inputs, file)) Bind(name, new Constant(tensor));
    }

    private ConstTensor ConstantAttribute(OnnxNode node)
    {
        var a = node.Attributes;
        if (a.TryGetValue("value", out var t)) return TensorReader.Read(t.T, Path.GetDirectoryName(Path.GetFullPath(file.Path))!, file.Path);
        if (a.TryGetValue("value_float", out var f)) return ConstTensor.Scalar(DataType.Float, f.F);
        if (a.TryGetValue("value_floats", out var fs)) return new ConstTensor(DataType.Float, [fs.Floats.Count], fs.Floats.Select(v => (double)v).ToArray());
        if (a.TryGetValue("value_int", out var i)) return ConstTensor.Scalar(DataType.Int64, i.I);
        if (a.TryGetValue("value_ints", out var @is)) return ConstTensor.Ints(@is.Ints.ToList());
        throw file.Error(node, "constant has no supported value attribute");
    }

    // ---- buffers and views ---------------------------------------------------------------------

    private ActivationBuffer NewBuffer(string name, int[] shape) => new(name, shape);

    private void Emit(Op op, string valueName, View layout)
    {
        ops.Add(op);
        producers[op.Output] = op;
        op.Output.Source = new SourceValue(valueName, layout);
    }

    /// <summary>Physical shape for a new dense buffer holding a value of this shape (leading 1s dropped).</summary>
    private static int[] Physical(int[] shape)
    {
        int first = 0;
        while (first < shape.Length - 1 && shape[first] == 1) first++;
        return shape[first..];
    }

    private View CopyToDense(View view, string valueName, string opName)
    {
        var buffer = NewBuffer(opName, Physical(view.Shape));
        var layout = View.Dense(buffer, view.Shape);
        Emit(new CopyOp(opName, buffer, view), valueName, layout);
        return layout;
    }

    /// <summary>The values of an activation in a buffer of their own: evaluates a pending element-wise chain.</summary>
    private View Materialize(string valueName, Activation value, string opName)
    {
        if (value.Expr.IsIdentity) return value.Source;
        var source = value.Source.CoversBuffer ? value.Source : CopyToDense(value.Source, value.SourceName, opName + "/copy");
        var buffer = NewBuffer(opName, source.Buffer.Shape);
        var layout = new View(buffer, source.Offset, source.Shape, source.Strides);
        var expr = value.Expr;
        Emit(new ElementwiseOp(valueName, buffer, source, ActivationFunctions.Classify(expr), expr.Evaluate), valueName, layout);
        values[valueName] = new Activation(layout, valueName, ElementwiseExpr.Input);
        return layout;
    }

    private View MaterializeInput(OnnxNode node, int index)
    {
        var value = RequireActivation(node, index);
        return Materialize(node.Inputs[index], value, node.Name + $"/in{index}");
    }

    /// <summary>(rows, row stride) of a view whose last axis is contiguous; copies it dense when not.</summary>
    private (View View, int Rows, int RowStride) Rows(View view, string valueName, string opName)
    {
        if (view.Rank >= 1 && (view.Strides[^1] == 1 || view.Shape[^1] == 1) && view.MergeAxes(0, view.Rank - 2) is { } merged)
            return (view, merged.Count, merged.Count == 1 ? view.Shape[^1] : merged.Stride);
        var dense = CopyToDense(view, valueName, opName + "/copy");
        return (dense, Shapes.Product(view.Shape[..^1]), view.Shape[^1]);
    }

    private int ConsumerCount(string value) =>
        (consumers.TryGetValue(value, out var list) ? list.Count : 0) + (file.Outputs.Contains(value) ? 1 : 0);

    // ---- operators ---------------------------------------------------------------------------

    private void LiftReshape(OnnxNode node)
    {
        var x = RequireActivation(node, 0);
        var constants = node.Inputs.Select((_, i) => ConstInput(node, i)).ToList();
        var shape = ShapeOps.OutputShape(node, x.Source.Shape, constants, file);
        var view = x.Source.TryReshape(shape);
        if (view is null)
        {
            var dense = CopyToDense(x.Source, x.SourceName, node.Name + "/copy");
            view = dense.TryReshape(shape)!;
        }
        Bind(node.Outputs[0], x with { Source = view });
    }

    private void LiftGather(OnnxNode node)
    {
        var x = RequireActivation(node, 0);
        var indices = RequireConst(node, 1, "gather indices");
        int axis = ConstantEvaluator.Axis(node, (int)Attr.Int(node, "axis", 0), x.Source.Rank, file);
        if (indices.ElementCount != 1)
            throw file.Error(node, $"gathering {indices.ElementCount} indices from an activation is not supported (only a single index, e.g. the class token)");
        int index = (int)indices.Data[0];
        if (index < 0) index += x.Source.Shape[axis];
        if (index < 0 || index >= x.Source.Shape[axis])
            throw file.Error(node, $"index {indices.Data[0]} is out of range for axis {axis} of size {x.Source.Shape[axis]}");
        var view = indices.Rank == 0 ? x.Source.Select(axis, index) : x.Source.Slice(axis, index, 1, 1).TryReshape(
            x.Source.Shape[..axis].Concat(indices.Shape).Concat(x.Source.Shape[(axis + 1)..]).ToArray())!;
        if (x.Expr.IsIdentity && axis == x.Source.Rank - 2 && producers.GetValueOrDefault(x.Source.Buffer) is LayerNormOp norm
            && x.Source.IsDenseRowMajor && ConsumerCount(x.SourceName) == 1)
        {
            NormaliseOneToken(node, norm, index, view.Shape);
            return;
        }
        Bind(node.Outputs[0], x with { Source = view });
    }

    /// <summary>
    /// Only one token of a LayerNorm's output is used (class-token pooling after the final norm):
    /// the LayerNorm is replaced by one that normalises just that token.
    /// </summary>
    private void NormaliseOneToken(OnnxNode node, LayerNormOp norm, int token, int[] shape)
    {
        ops.Remove(norm);
        producers.Remove(norm.Output);
        var row = norm.Input.Slice(norm.Input.Rank - 2, token, 1, 1);
        var buffer = NewBuffer(norm.Name, [1, norm.Dim]);
        var layout = View.Dense(buffer, shape);
        Emit(new LayerNormOp(norm.Name, buffer, row, 1, norm.Dim, norm.Dim, norm.Gamma, norm.Beta, norm.Epsilon), node.Outputs[0], layout);
        Bind(node.Outputs[0], new Activation(layout, node.Outputs[0], ElementwiseExpr.Input));
    }

    private void LiftPatchEmbedding(OnnxNode node)
    {
        var image = MaterializeInput(node, 0);
        if (image.Buffer != inputBuffer || !image.IsDenseRowMajor)
            throw file.Error(node, "Conv is supported only as the patch embedding applied to the model input");
        var weight = RequireConst(node, 1, "the convolution weight");
        var bias = ConstInput(node, 2);
        int embed = weight.Shape[0], channels = weight.Shape[1], kh = weight.Shape[2], kw = weight.Shape[3];
        var strides = Attr.Ints(node, "strides") ?? [1, 1];
        var dilations = Attr.Ints(node, "dilations") ?? [1, 1];
        var pads = Attr.Ints(node, "pads") ?? [0, 0, 0, 0];
        if (Attr.Int(node, "group", 1) != 1 || kh != kw || strides[0] != kh || strides[1] != kw || dilations.Any(d => d != 1))
            throw file.Error(node, $"only patch-embedding convolutions (kernel = stride, no groups or dilation) are supported; got kernel {kh}x{kw}, stride {strides[0]}x{strides[1]}");
        if (Attr.String(node, "auto_pad") is { } autoPad && autoPad is not ("NOTSET" or "VALID"))
            throw file.Error(node, $"auto_pad {autoPad} is not supported");
        int height = image.Shape[2], width = image.Shape[3];
        if (channels != image.Shape[1]) throw file.Error(node, $"weight expects {channels} channels, input has {image.Shape[1]}");
        int gridH = (height + pads[0] + pads[2] - kh) / kh + 1;
        int gridW = (width + pads[1] + pads[3] - kw) / kw + 1;
        var buffer = NewBuffer(node.Name, [gridH * gridW, embed]);
        var layout = new View(buffer, 0, [1, embed, gridH, gridW], [gridH * gridW * embed, 1, gridW * embed, embed]);
        var imageView = new View(inputBuffer, 0, inputBuffer.Shape, Shapes.DenseStrides(inputBuffer.Shape));
        Emit(new PatchEmbedOp(node.Name, buffer, imageView, weight.AsFloats(), bias?.AsFloats(), embed, kh, pads[0], pads[1], gridH, gridW),
            node.Outputs[0], layout);
        Bind(node.Outputs[0], new Activation(layout, node.Outputs[0], ElementwiseExpr.Input));
    }

    private void LiftMatMul(OnnxNode node)
    {
        if (ConstInput(node, 1) is { } weight)
        {
            var x = RequireActivation(node, 0);
            var w = weight;
            while (w.Rank > 2 && w.Shape[0] == 1) w = w.Reshaped(w.Shape[1..]);
            if (w.Rank != 2) throw file.Error(node, $"weight of shape {Shapes.Format(weight.Shape)} is not a matrix");
            int inFeatures = w.Shape[0], outFeatures = w.Shape[1];
            var transposed = ConstantEvaluator.Transpose(w, [1, 0]).AsFloats();
            EmitLinear(node, x, transposed, null, inFeatures, outFeatures);
            return;
        }
        if (Get(node, 0) is Constant query)
        {
            LiftConstantTimesActivation(node, query.Tensor);
            return;
        }
        LiftActivationMatMul(node);
    }

    /// <summary>
    /// A·B with a constant A, such as the learned query of attention pooling against the keys:
    /// computed as the linear layer Bᵀ·Aᵀ, one row per column of B. One A shared by every batch
    /// makes each (batch, column) a row; one A per batch (per head) makes each column a row over
    /// all batches, with the A's as block-diagonal weights.
    /// </summary>
    private void LiftConstantTimesActivation(OnnxNode node, ConstTensor a)
    {
        var (b, alpha) = ScaledOperand(node, 1);
        if (a.Rank < 2 || b.Rank < 2) throw file.Error(node, "matrix product of vectors is not supported");
        int m = a.Shape[^2], k = a.Shape[^1], n = b.Shape[^1];
        if (b.Shape[^2] != k) throw file.Error(node, $"shapes {Shapes.Format(a.Shape)} and {Shapes.Format(b.Shape)} do not multiply");
        var batchShape = Broadcast.Shape(a.Shape[..^2], b.Shape[..^2], node, file);
        int batch = Shapes.Product(batchShape), batchA = Shapes.Product(a.Shape[..^2]);
        if (Shapes.Product(b.Shape[..^2]) != batch || (batchA != 1 && batchA != batch))
            throw file.Error(node, $"batch shapes {Shapes.Format(a.Shape[..^2])} and {Shapes.Format(b.Shape[..^2])} are not supported (one constant matrix, or one per batch of the activation)");
        int rank = b.Rank;
        var batchAxes = Enumerable.Range(0, rank - 2).ToArray();
        bool shared = batchA == 1;
        // Rows of the linear: Bᵀ as [batch…, n, k] when A is shared, [n, batch…, k] otherwise.
        var perm = shared ? [.. batchAxes, rank - 1, rank - 2] : new[] { rank - 1 }.Concat(batchAxes).Append(rank - 2).ToArray();
        var rows = b.Transpose(perm);
        var inputShape = shared ? [batch * n, k] : new[] { n, batch * k };
        var input = rows.TryReshape(inputShape) ?? CopyToDense(rows, node.Inputs[1], node.Name + "/copy").TryReshape(inputShape)!;
        int outFeatures = shared ? m : batch * m, inFeatures = inputShape[1];
        var weights = new float[outFeatures * inFeatures];
        for (int h = 0; h < (shared ? 1 : batch); h++)
            for (int i = 0; i < m; i++)
                for (int p = 0; p < k; p++)
                    weights[(h * m + i) * inFeatures + h * k + p] = (float)(alpha * a.Data[(h * m + i) * k + p]);
        var (view, rowCount, rowStride) = Rows(input, node.Inputs[1], node.Name);
        var buffer = NewBuffer(node.Name, [rowCount, outFeatures]);
        // The linear writes [batch·n, m] (shared) or [n, batch·m]; the product is read as [batch…, m, n].
        var batchStrides = Shapes.DenseStrides(batchShape).Select(s => s * (shared ? n * m : m)).ToArray();
        var layout = new View(buffer, 0, [.. batchShape, m, n], [.. batchStrides, 1, shared ? m : batch * m]);
        Emit(new LinearOp(node.Name, buffer, view, rowCount, rowStride, inFeatures, outFeatures, weights, null), node.Outputs[0], layout);
        Bind(node.Outputs[0], new Activation(layout, node.Outputs[0], ElementwiseExpr.Input));
    }

    private void LiftGemm(OnnxNode node)
    {
        var x = RequireActivation(node, 0);
        var b = RequireConst(node, 1, "the Gemm weight");
        if (Attr.Int(node, "transA", 0) != 0) throw file.Error(node, "transA = 1 is not supported");
        float alpha = Attr.Float(node, "alpha", 1f), beta = Attr.Float(node, "beta", 1f);
        var w = Attr.Int(node, "transB", 0) != 0 ? b : ConstantEvaluator.Transpose(b, [1, 0]);
        int outFeatures = w.Shape[0], inFeatures = w.Shape[1];
        var weights = w.AsFloats().Select(v => v * alpha).ToArray();
        float[]? bias = null;
        if (node.HasInput(2))
        {
            var c = RequireConst(node, 2, "the Gemm bias");
            if (c.ElementCount != outFeatures && c.ElementCount != 1)
                throw file.Error(node, $"bias of shape {Shapes.Format(c.Shape)} does not broadcast along the {outFeatures} outputs only");
            bias = Enumerable.Range(0, outFeatures).Select(i => (float)(c.Data[c.ElementCount == 1 ? 0 : i] * beta)).ToArray();
        }
        EmitLinear(node, x, weights, bias, inFeatures, outFeatures);
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
        else input = Materialize(node.Inputs[0], x, node.Name + "/in0");
        if (input.Shape[^1] != inFeatures)
            throw file.Error(node, $"input has {input.Shape[^1]} features, weight expects {inFeatures}");
        var (view, rows, rowStride) = Rows(input, node.Inputs[0], node.Name);
        var buffer = NewBuffer(node.Name, [rows, outFeatures]);
        var layout = View.Dense(buffer, view.Shape[..^1].Append(outFeatures).ToArray());
        Emit(new LinearOp(node.Name, buffer, view, rows, rowStride, inFeatures, outFeatures, weights, bias), node.Outputs[0], layout);
        Bind(node.Outputs[0], new Activation(layout, node.Outputs[0], ElementwiseExpr.Input));
    }

    private void LiftActivationMatMul(OnnxNode node)
    {
        var (a, alphaA) = ScaledOperand(node, 0);
        var (b, alphaB) = ScaledOperand(node, 1);
        if (a.Rank < 2 || b.Rank < 2) throw file.Error(node, "matrix product of vectors is not supported");
        int m = a.Shape[^2], k = a.Shape[^1], n = b.Shape[^1];
        if (b.Shape[^2] != k) throw file.Error(node, $"shapes {Shapes.Format(a.Shape)} and {Shapes.Format(b.Shape)} do not multiply");
        var batchA = a.Shape[..^2];
        var batchB = b.Shape[..^2];
        int countA = Shapes.Product(batchA), countB = Shapes.Product(batchB);
        if (countB != countA && countB != 1)
            throw file.Error(node, $"batch shapes {Shapes.Format(batchA)} and {Shapes.Format(batchB)} differ");
        (int Count, int Stride) BatchAxis(ref View v, int operand)
        {
            var merged = v.MergeAxes(0, v.Rank - 3);
            if (merged is not null) return v.Rank > 2 ? merged.Value : (1, 0);
            v = CopyToDense(v, node.Inputs[operand], node.Name + $"/copy{operand}");
            return v.MergeAxes(0, v.Rank - 3)!.Value;
        }
        var (batch, strideA) = BatchAxis(ref a, 0);
        var (_, strideB) = BatchAxis(ref b, 1);
        if (countB == 1) strideB = 0;
        var outBatch = batchA.Length >= batchB.Length ? batchA : batchB;
        var buffer = NewBuffer(node.Name, [m, batch, n]);
        var batchStrides = Shapes.DenseStrides(outBatch).Select(s => s * n).ToArray();
        var layout = new View(buffer, 0, outBatch.Concat([m, n]).ToArray(), batchStrides.Concat([batch * n, 1]).ToArray());
        Emit(new MatMulOp(node.Name, buffer, a, b, batch, m, k, n, strideA, strideB, alphaA * alphaB), node.Outputs[0], layout);
        Bind(node.Outputs[0], new Activation(layout, node.Outputs[0], ElementwiseExpr.Input));
    }

    /// <summary>An operand of a linear operator, with a pending x·c folded out as a factor.</summary>
    private (View View, double Scale) ScaledOperand(OnnxNode node, int index)
    {
        var x = RequireActivation(node, index);
        if (!x.Expr.IsIdentity && x.Expr.Scale is { } scale) return (x.Source, scale);
        return (Materialize(node.Inputs[index], x, node.Name + $"/in{index}"), 1.0);
    }

    private void LiftSoftmax(OnnxNode node)
    {
        var x = RequireActivation(node, 0);
        int axis = ConstantEvaluator.Axis(node, (int)Attr.Int(node, "axis", -1), x.Source.Rank, file);
        if (axis != x.Source.Rank - 1) throw file.Error(node, "softmax is supported on the last axis only");
        View input;
        if (!x.Expr.IsIdentity && x.Expr.Scale is { } scale && producers.GetValueOrDefault(x.Source.Buffer) is MatMulOp matmul
            && ConsumerCount(x.SourceName) == 1)
        {
            // attention's 1/√d applied after Q·Kᵀ: fold it into the product.
            matmul.Alpha *= scale;
            matmul.Output.Source = new SourceValue(node.Inputs[0], x.Source);
            input = x.Source;
        }
        else input = MaterializeInput(node, 0);
        if (!(input.CoversBuffer && input.Strides[^1] == 1))
            input = CopyToDense(input, node.Inputs[0], node.Name + "/copy");
        int length = input.Shape[^1];
        var buffer = NewBuffer(node.Name, input.Buffer.Shape);
        var layout = new View(buffer, 0, input.Shape, input.Strides);
        Emit(new SoftmaxOp(node.Name, buffer, input, input.ElementCount / length, length), node.Outputs[0], layout);
        Bind(node.Outputs[0], new Activation(layout, node.Outputs[0], ElementwiseExpr.Input));
    }

    /// <summary>
    /// The opset-17 operator. It normalises over every axis from <c>axis</c> on; those axes are
    /// merged into one feature axis, with scale and bias broadcast to them.
    /// </summary>
    private void LiftLayerNormalization(OnnxNode node)
    {
        var x = MaterializeInput(node, 0);
        int axis = ConstantEvaluator.Axis(node, (int)Attr.Int(node, "axis", -1), x.Rank, file);
        // stash_type sets the precision of the mean and variance; float32 and double both leave
        // nothing for an int8 kernel to reproduce, half precision would.
        long stash = Attr.Int(node, "stash_type", (long)DataType.Float);
        if (stash is not ((long)DataType.Float or (long)DataType.Double))
            throw file.Error(node, $"stash_type {(DataType)stash} is not supported (float or double statistics only)");
        for (int i = 1; i < node.Outputs.Count; i++)
            if (node.Outputs[i].Length > 0 && ConsumerCount(node.Outputs[i]) > 0)
                throw file.Error(node, $"output {i} ({(i == 1 ? "Mean" : "InvStdDev")}) is used; only the normalised output is supported");
        var normalized = x.Shape[axis..];
        var merged = x.Shape[..axis].Append(Shapes.Product(normalized)).ToArray();
        ConstTensor? PerFeature(int index, string what)
        {
            if (!node.HasInput(index)) return null;
            var t = RequireConst(node, index, what);
            return Broadcast.Shape(t.Shape, normalized, node, file).SequenceEqual(normalized)
                ? Broadcast.To(t, normalized).Reshaped([merged[^1]])
                : throw file.Error(node, $"{what} of shape {Shapes.Format(t.Shape)} does not broadcast to the normalised axes {Shapes.Format(normalized)}");
        }
        var gamma = PerFeature(1, "the LayerNorm scale") ?? throw file.Error(node, "the LayerNorm scale is missing");
        var beta = PerFeature(2, "the LayerNorm bias");
        var input = x.TryReshape(merged) ?? CopyToDense(x, node.Inputs[0], node.Name + "/copy").TryReshape(merged)!;
        var output = EmitLayerNorm(node, input, node.Inputs[0], node.Outputs[0], gamma, beta, Attr.Float(node, "epsilon", 1e-5f));
        if (merged.Length != x.Rank) Bind(node.Outputs[0], new Activation(output.TryReshape(x.Shape)!, node.Outputs[0], ElementwiseExpr.Input));
    }

    /// <summary>Emits a LayerNorm over the last axis of x and binds its output; returns the output's layout.</summary>
    private View EmitLayerNorm(OnnxNode node, View x, string inputName, string outputName, ConstTensor? gamma, ConstTensor? beta, float epsilon)
    {
        int dim = x.Shape[^1];
        float[] PerFeature(ConstTensor? t, float fallback, string what)
        {
            if (t is null) return Enumerable.Repeat(fallback, dim).ToArray();
            if (t.ElementCount == 1) return Enumerable.Repeat((float)t.Data[0], dim).ToArray();
            if (t.ElementCount != dim) throw file.Error(node, $"LayerNorm {what} has {t.ElementCount} values for {dim} features");
            return t.AsFloats();
        }
        var (view, rows, rowStride) = Rows(x, inputName, node.Name);
        var buffer = NewBuffer(node.Name, [rows, dim]);
        var layout = View.Dense(buffer, view.Shape);
        Emit(new LayerNormOp(node.Name, buffer, view, rows, rowStride, dim, PerFeature(gamma, 1f, "scale"), PerFeature(beta, 0f, "bias"), epsilon),
            outputName, layout);
        Bind(outputName, new Activation(layout, outputName, ElementwiseExpr.Input));
        return layout;
    }

    /// <summary>
    /// The axes of a Reduce* node: an input from opset 18 (13 for ReduceSum), an attribute before.
    /// No axes means all of them, or none when noop_with_empty_axes is set; null then.
    /// </summary>
    private int[]? ReduceAxes(OnnxNode node, int rank)
    {
        var axes = node.HasInput(1) ? RequireConst(node, 1, "the reduction axes").AsInts() : Attr.Ints(node, "axes");
        if (axes is null || axes.Length == 0)
            return Attr.Int(node, "noop_with_empty_axes", 0) != 0 ? null : Enumerable.Range(0, rank).ToArray();
        var normalized = axes.Select(a => ConstantEvaluator.Axis(node, a, rank, file)).Order().ToArray();
        if (normalized.Distinct().Count() != normalized.Length) throw file.Error(node, $"axes [{string.Join(", ", axes)}] repeat an axis");
        return normalized;
    }

    private void LiftReduceMean(OnnxNode node)
    {
        var x = RequireActivation(node, 0);
        int rank = x.Source.Rank;
        if (ReduceAxes(node, rank) is not { } axes)
        {
            Bind(node.Outputs[0], x);
            return;
        }
        bool keepDims = Attr.Int(node, "keepdims", 1) != 0;
        if (axes.Length == 1 && axes[0] == rank - 1)
        {
            var match = LayerNormPattern.Match(node, consumers, name => values.TryGetValue(name, out var v) ? (v as Constant)?.Tensor : ConstantNodeValue(name));
            if (match is null) throw file.Error(node, "a mean over the feature axis is supported only as part of a LayerNorm");
            foreach (var n in match.Nodes) absorbed.Add(n);
            var input = Materialize(node.Inputs[0], x, node.Name + "/in0");
            EmitLayerNorm(node, input, node.Inputs[0], match.Output, match.Gamma, match.Beta, match.Epsilon);
            return;
        }
        if (axes.Length == 1 && axes[0] == rank - 2)
        {
            var input = Materialize(node.Inputs[0], x, node.Name + "/in0");
            if (input.Shape[..^2].Any(d => d != 1))
                throw file.Error(node, "mean over tokens needs a single image (batch 1)");
            if (input.Strides[^1] != 1 && input.Shape[^1] != 1)
                input = CopyToDense(input, node.Inputs[0], node.Name + "/copy");
            int rows = input.Shape[^2], dim = input.Shape[^1];
            var buffer = NewBuffer(node.Name, [dim]);
            var outShape = keepDims ? input.Shape[..^2].Concat([1, dim]).ToArray() : input.Shape[..^2].Append(dim).ToArray();
            var layout = View.Dense(buffer, outShape);
            Emit(new MeanTokensOp(node.Name, buffer, input, rows, rows == 1 ? dim : input.Strides[^2], dim), node.Outputs[0], layout);
            Bind(node.Outputs[0], new Activation(layout, node.Outputs[0], ElementwiseExpr.Input));
            return;
        }
        throw file.Error(node, $"mean over axes [{string.Join(", ", axes)}] is not supported (tokens or LayerNorm only)");
    }

    /// <summary>Value of a Constant node that has not been reached yet in the walk (pattern look-ahead).</summary>
    private ConstTensor? ConstantNodeValue(string name)
    {
        var node = file.Nodes.FirstOrDefault(n => n.OpType == "Constant" && n.Outputs[0] == name);
        return node is null ? null : ConstantAttribute(node);
    }

    private void LiftConcat(OnnxNode node)
    {
        var parts = node.Inputs.Select((_, i) => Get(node, i)).ToList();
        var shapes = parts.Select(p => p switch { Constant c => c.Tensor.Shape, Activation a => a.Source.Shape, _ => throw new InvalidOperationException() }).ToList();
        int rank = shapes[0].Length;
        int axis = ConstantEvaluator.Axis(node, (int)Attr.Int(node, "axis", 0), rank, file);
        var outShape = (int[])shapes[0].Clone();
        outShape[axis] = shapes.Sum(s => s[axis]);
        for (int i = 0; i < shapes.Count; i++)
            if (shapes[i].Length != rank || Enumerable.Range(0, rank).Any(d => d != axis && shapes[i][d] != outShape[d]))
                throw file.Error(node, $"input {i} of shape {Shapes.Format(shapes[i])} does not concatenate along axis {axis}");
        var buffer = NewBuffer(node.Name, Physical(outShape));
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
                _ => new ConcatPart(destination, MaterializeInput(node, i), null),
            });
        }
        Emit(new ConcatOp(node.Name, buffer, concatParts), node.Outputs[0], layout);
        Bind(node.Outputs[0], new Activation(layout, node.Outputs[0], ElementwiseExpr.Input));
    }

    private void LiftElementwise(OnnxNode node)
    {
        string op = node.OpType;
        if (ElementwiseExpr.UnaryOps.Contains(op))
        {
            var x = RequireActivation(node, 0);
            Bind(node.Outputs[0], x with { Expr = ElementwiseExpr.Unary(op, x.Expr) });
            return;
        }
        var left = Get(node, 0);
        var right = Get(node, 1);
        switch (left, right)
        {
            case (Activation a, Constant { Tensor.ElementCount: 1 } c):
                Bind(node.Outputs[0], a with { Expr = ElementwiseExpr.Binary(op, a.Expr, ElementwiseExpr.Constant(c.Tensor.Data[0])) });
                return;
            case (Constant { Tensor.ElementCount: 1 } c, Activation a):
                Bind(node.Outputs[0], a with { Expr = ElementwiseExpr.Binary(op, ElementwiseExpr.Constant(c.Tensor.Data[0]), a.Expr) });
                return;
            case (Activation a, Activation b) when a.SourceName == b.SourceName && a.Source.SameLayoutAs(b.Source):
                Bind(node.Outputs[0], a with { Expr = ElementwiseExpr.Binary(op, a.Expr, b.Expr) });
                return;
            case (Activation a, Activation b) when op == "Add":
                LiftAdd(node, a, b);
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
                throw file.Error(node, $"{op} of these operands is not supported (only element-wise chains of one tensor, residual adds and per-channel constants)");
        }
    }

    private static ConstTensor Negated(ConstTensor c) => c.With(c.Shape, c.Data.Select(v => -v).ToArray());

    private void LiftAdd(OnnxNode node, Activation left, Activation right)
    {
        var a = MaterializeInput(node, 0);
        var b = MaterializeInput(node, 1);
        if (!a.Shape.SequenceEqual(b.Shape))
            throw file.Error(node, $"adding activations of shapes {Shapes.Format(a.Shape)} and {Shapes.Format(b.Shape)} (broadcasting) is not supported");
        if (!(a.CoversBuffer && b.CoversBuffer && a.SameLayoutAs(b)))
        {
            if (!a.IsDenseRowMajor) a = CopyToDense(a, node.Inputs[0], node.Name + "/copy0");
            if (!b.IsDenseRowMajor) b = CopyToDense(b, node.Inputs[1], node.Name + "/copy1");
        }
        var buffer = NewBuffer(node.Name, a.Buffer.Shape);
        var layout = new View(buffer, 0, a.Shape, a.Strides);
        Emit(new AddOp(node.Name, buffer, a, b), node.Outputs[0], layout);
        Bind(node.Outputs[0], new Activation(layout, node.Outputs[0], ElementwiseExpr.Input));
    }

    /// <summary>
    /// The linear op whose untouched, single-use output this activation is, seen through any
    /// reshape or transpose that still visits every output once; null otherwise.
    /// </summary>
    private LinearOp? FoldableLinear(Activation a) =>
        a.Expr.IsIdentity && producers.GetValueOrDefault(a.Source.Buffer) is LinearOp linear
        && a.Source.CoversBuffer && ConsumerCount(a.SourceName) == 1
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

    private void AddConstant(OnnxNode node, Activation a, int activationIndex, ConstTensor constant)
    {
        if (FoldableLinear(a) is { } linear && PerOutputFeature(a.Source, constant, linear.OutFeatures) is { } bias)
        {
            linear.Bias = linear.Bias is null ? bias : linear.Bias.Zip(bias, (x, y) => x + y).ToArray();
            linear.Output.Source = new SourceValue(node.Outputs[0], a.Source);
            Bind(node.Outputs[0], a with { SourceName = node.Outputs[0] });
            return;
        }
        var input = Materialize(node.Inputs[activationIndex], a, node.Name + $"/in{activationIndex}");
        if (!input.CoversBuffer) input = CopyToDense(input, a.SourceName, node.Name + "/copy");
        var shape = Broadcast.Shape(input.Shape, constant.Shape, node, file);
        if (!shape.SequenceEqual(input.Shape))
            throw file.Error(node, $"constant of shape {Shapes.Format(constant.Shape)} would broadcast the activation {Shapes.Format(input.Shape)}");
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
        var buffer = NewBuffer(node.Name, input.Buffer.Shape);
        var layout = new View(buffer, input.Offset, input.Shape, input.Strides);
        Emit(new AddConstantOp(node.Name, buffer, input, physical), node.Outputs[0], layout);
        Bind(node.Outputs[0], new Activation(layout, node.Outputs[0], ElementwiseExpr.Input));
    }

    /// <summary>Multiplication by a per-feature constant, folded into the linear layer before it.</summary>
    private void ScaleChannels(OnnxNode node, Activation a, ConstTensor constant)
    {
        if (FoldableLinear(a) is { } linear && PerOutputFeature(a.Source, constant, linear.OutFeatures) is { } scale)
        {
            int k = linear.InFeatures;
            linear.Weights = linear.Weights.Select((w, i) => w * scale[i / k]).ToArray();
            linear.Bias = linear.Bias?.Select((b, i) => b * scale[i]).ToArray();
            linear.Output.Source = new SourceValue(node.Outputs[0], a.Source);
            Bind(node.Outputs[0], a with { SourceName = node.Outputs[0] });
            return;
        }
        throw file.Error(node, $"{node.OpType} by a constant of shape {Shapes.Format(constant.Shape)} is supported only right after a linear layer");
    }
}
