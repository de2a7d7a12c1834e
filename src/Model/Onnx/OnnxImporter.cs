using McuFormer.Model.Ir;
using McuFormer.Model.Onnx.Lifters;

namespace McuFormer.Model.Onnx;

/// <summary>
/// Turns an ONNX vision transformer into the IR. One pass in topological order: constants and
/// static shapes are folded, layout operators become views of existing buffers, element-wise
/// chains stay symbolic until an operator consumes them, and the remaining compute operators
/// become IR ops. Each family of operators has its lifter under Lifters/. Constants met after
/// a linear or attention product (bias, layer scale, 1/√d) are recorded while walking and
/// taken into those ops by <see cref="FoldPass"/> at the end.
/// </summary>
public sealed class OnnxImporter
{
    private readonly OnnxModelFile file;
    private readonly List<OnnxNode> liveNodes;
    private readonly LiftContext context;
    private readonly ConstantLifter constants;
    private readonly LayoutLifter layout;
    private readonly PatchEmbeddingLifter patchEmbedding;
    private readonly LinearLifter linear;
    private readonly AttentionLifter attention;
    private readonly NormalizationLifter normalization;
    private readonly ReductionLifter reduction;
    private readonly ElementwiseLifter elementwise;

    /// <summary>The most elements of one activation: 64 Mi, many times the RAM of any microcontroller.</summary>
    public const long MaxActivationElements = 1L << 26;

    /// <summary>
    /// The most ops a graph may lift to. A ViT-H of 32 blocks has about 500; planning time grows with the square
    /// of the count, and this many plan in seconds.
    /// </summary>
    public const int MaxOps = 1024;

    private OnnxImporter(OnnxModelFile file)
    {
        this.file = file;
        liveNodes = LiveNodes(file);
        context = new LiftContext(file, liveNodes);
        constants = new ConstantLifter(context);
        normalization = new NormalizationLifter(context);
        layout = new LayoutLifter(context, normalization);
        patchEmbedding = new PatchEmbeddingLifter(context);
        attention = new AttentionLifter(context);
        linear = new LinearLifter(context, attention);
        reduction = new ReductionLifter(context, normalization);
        elementwise = new ElementwiseLifter(context);
    }

    public static ModelGraph Import(string path) => Import(OnnxModelFile.Load(path));

    public static ModelGraph Import(OnnxModelFile file) => new OnnxImporter(file).Lift();

    private ModelGraph Lift()
    {
        if (file.Outputs.Count != 1)
            throw file.Error($"expected exactly one output (the logits), found {file.Outputs.Count}");
        foreach (var node in liveNodes)
        {
            if (context.IsAbsorbed(node)) continue;
            int emitted = context.Ops.Count;
            LiftNode(node);
            if (context.Ops.Count > MaxOps) throw file.Error(node, $"the graph lifts to more than {MaxOps} ops here, the most mcuformer plans");
            foreach (var op in context.Ops.Skip(emitted))
                if (Shapes.Count(op.Output.Shape) is var elements and (0 or > MaxActivationElements))
                    throw file.Error(node, $"its output {Shapes.Format(op.Output.Shape)} holds {elements} elements; mcuformer takes activations of 1 to {MaxActivationElements}");
        }

        string outputName = file.Outputs[0];
        if (!context.IsBound(outputName)) throw file.Error($"output '{outputName}' is written by no node");
        if (context.ValueOf(outputName) is not Activation output)
            throw file.Error($"output '{outputName}' does not depend on the input");
        var outputView = context.Materialize(outputName, output, "output");
        if (!outputView.IsDenseRowMajor) outputView = context.CopyToDense(outputView, outputName, outputName + "/copy");
        var ops = FoldPass.Apply(context.Ops, context.Folds);
        if (ops.Count == 0) throw file.Error($"output '{outputName}' is the input as it is: the model computes nothing");
        CheckFinite(ops);
        context.LinkSourceValues(ops);
        return new ModelGraph(Path.GetFileNameWithoutExtension(file.Path), file.Path,
            new ModelInput(file.InputName, file.InputShape, context.InputBuffer), ops, outputView, outputName);
    }

    /// <summary>
    /// Rejects an op whose constants (weights, biases, LayerNorm parameters, added or concatenated constants, a
    /// product's scale), as folded, are NaN or infinite: no int8 scale represents them.
    /// </summary>
    private void CheckFinite(IEnumerable<Op> ops)
    {
        foreach (var op in ops)
        {
            IEnumerable<double> constants = op switch
            {
                LinearOp l => l.Weights.Concat(l.Bias ?? []).Select(v => (double)v),
                PatchEmbedOp p => p.Weights.Concat(p.Bias ?? []).Select(v => (double)v),
                LayerNormOp n => n.Gamma.Concat(n.Beta).Select(v => (double)v),
                AddConstantOp c => c.Constant.Select(v => (double)v),
                ConcatOp c => c.Parts.SelectMany(p => p.Constant ?? []).Select(v => (double)v),
                MatMulOp m => [m.Alpha],
                _ => [],
            };
            if (constants.Any(v => !double.IsFinite(v)))
            {
                const string problem = "its weights, biases or constants hold NaN or infinity (as folded)";
                throw liveNodes.FirstOrDefault(n => n.Name == op.Name) is { } node ? file.Error(node, problem) : file.Error($"op '{op.Name}': {problem}");
            }
        }
    }

    /// <summary>Nodes that contribute to the graph output, in the file's (topological) order.</summary>
    private static List<OnnxNode> LiveNodes(OnnxModelFile file)
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

    private void LiftNode(OnnxNode node)
    {
        if (node.OpType == "Constant")
        {
            constants.LiftConstantNode(node);
            return;
        }
        var inputs = Enumerable.Range(0, node.Inputs.Count).Select(i => node.HasInput(i) ? context.Get(node, i) : null).ToList();
        if (node.OpType == "Shape" && inputs[0] is Activation shaped)
        {
            constants.LiftShape(node, shaped);
            return;
        }
        if (!inputs.Any(v => v is Activation))
        {
            constants.Fold(node, inputs.Select(v => (v as Constant)?.Tensor).ToList());
            return;
        }
        switch (node.OpType)
        {
            case "Identity" or "Dropout": layout.LiftPassThrough(node); break;
            case "Cast" or "CastLike": layout.LiftCast(node); break;
            case "Reshape" or "Flatten" or "Unsqueeze" or "Squeeze": layout.LiftReshape(node); break;
            case "Transpose": layout.LiftTranspose(node); break;
            case "Gather": layout.LiftGather(node); break;
            case "Slice": layout.LiftSlice(node); break;
            case "Split": layout.LiftSplit(node); break;
            case "Concat": layout.LiftConcat(node); break;
            case "Conv": patchEmbedding.LiftConv(node); break;
            case "MatMul": linear.LiftMatMul(node); break;
            case "Gemm": linear.LiftGemm(node); break;
            case "Softmax": attention.LiftSoftmax(node); break;
            case "LayerNormalization": normalization.LiftLayerNormalization(node); break;
            case "ReduceMean": reduction.LiftReduceMean(node); break;
            case "Gelu": elementwise.LiftGelu(node); break;
            default:
                if (ElementwiseExpr.UnaryOps.Contains(node.OpType) || ElementwiseExpr.BinaryOps.Contains(node.OpType))
                    elementwise.LiftElementwise(node);
                else
                    throw file.Error(node, "operator is not supported");
                break;
        }
    }
}
