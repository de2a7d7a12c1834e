using McuFormer.Model.Ir;

namespace McuFormer.Model.Onnx.Lifters;

/// <summary>
/// What the lifters share while the importer walks the nodes: the value each name stands for,
/// who reads each value, the ops emitted so far, which op wrote each buffer and which source
/// value it holds, and the constants to fold into ops once the walk is done.
/// </summary>
internal sealed class LiftContext
{
    private readonly Dictionary<string, Value> values = new();
    private readonly Dictionary<string, List<OnnxNode>> consumers = new();
    private readonly Dictionary<ActivationBuffer, Op> producers = new();
    private readonly HashSet<OnnxNode> absorbed = new();
    private readonly List<Op> ops = new();
    private readonly List<Fold> folds = new();
    private readonly Dictionary<ActivationBuffer, SourceValue> heldValues = new();

    public LiftContext(OnnxModelFile file, IReadOnlyList<OnnxNode> liveNodes)
    {
        File = file;
        var shape = file.InputShape;
        InputBuffer = new ActivationBuffer("input", shape[1..]);
        var inputView = View.Dense(InputBuffer, shape);
        heldValues[InputBuffer] = new SourceValue(file.InputName, inputView);
        values[file.InputName] = new Activation(inputView, file.InputName, ElementwiseExpr.Input);
        foreach (var (name, tensor) in file.Initializers) values[name] = new Constant(tensor);
        foreach (var node in liveNodes)
            foreach (var input in node.Inputs.Where(i => i.Length > 0))
            {
                if (!consumers.TryGetValue(input, out var list)) consumers[input] = list = new List<OnnxNode>();
                list.Add(node);
            }
    }

    public OnnxModelFile File { get; }
    public ActivationBuffer InputBuffer { get; }
    public IReadOnlyList<Op> Ops => ops;
    public IReadOnlyList<Fold> Folds => folds;
    /// <summary>Value name → the live nodes that read it.</summary>
    public IReadOnlyDictionary<string, List<OnnxNode>> Consumers => consumers;

    public ModelImportException Error(OnnxNode node, string message) => File.Error(node, message);

    // ---- values ------------------------------------------------------------------------------

    public Value Get(OnnxNode node, int index)
    {
        if (!node.HasInput(index)) throw Error(node, $"input {index} is missing");
        return values.TryGetValue(node.Inputs[index], out var v)
            ? v
            : throw Error(node, $"input '{node.Inputs[index]}' is not produced by any node before it");
    }

    public Value ValueOf(string name) => values[name];

    /// <summary>True once a node (or the file) has given the name a value.</summary>
    public bool IsBound(string name) => values.ContainsKey(name);

    /// <summary>The value of a name when it is a constant already reached in the walk; null otherwise.</summary>
    public ConstTensor? ConstantNamed(string name) => values.TryGetValue(name, out var v) ? (v as Constant)?.Tensor : null;

    public ConstTensor? ConstInput(OnnxNode node, int index) => node.HasInput(index) ? ConstantNamed(node.Inputs[index]) : null;

    /// <summary>Every input of the node as a constant, null where it is not one (the form the shape helpers take).</summary>
    public List<ConstTensor?> ConstInputs(OnnxNode node) => node.Inputs.Select((_, i) => ConstInput(node, i)).ToList();

    public ConstTensor RequireConst(OnnxNode node, int index, string what) =>
        ConstInput(node, index) ?? throw Error(node, $"{what} must be a constant");

    public Activation RequireActivation(OnnxNode node, int index) =>
        Get(node, index) as Activation ?? throw Error(node, $"input {index} must be an activation");

    public void Bind(string name, Value value) => values[name] = value;

    /// <summary>Binds the value to the layout of a buffer that holds it as it is.</summary>
    public void BindHeld(string name, View layout) => Bind(name, new Activation(layout, name, ElementwiseExpr.Input));

    public int ConsumerCount(string value) =>
        (consumers.TryGetValue(value, out var list) ? list.Count : 0) + (File.Outputs.Contains(value) ? 1 : 0);

    /// <summary>Marks nodes that a pattern has lifted as a whole, so the walk skips them.</summary>
    public void Absorb(IEnumerable<OnnxNode> nodes) => absorbed.UnionWith(nodes);

    public bool IsAbsorbed(OnnxNode node) => absorbed.Contains(node);

    // ---- ops and buffers ---------------------------------------------------------------------

    public Op? ProducerOf(ActivationBuffer buffer) => producers.GetValueOrDefault(buffer);

    public void Emit(Op op, string valueName, View layout)
    {
        ops.Add(op);
        producers[op.Output] = op;
        heldValues[op.Output] = new SourceValue(valueName, layout);
    }

    /// <summary>
    /// Records a constant for the fold pass to take into the op it follows. From then on the op's
    /// buffer holds the value named valueName, the op's output with the constant applied.
    /// </summary>
    public void Fold(Fold fold, string valueName, View layout)
    {
        folds.Add(fold);
        heldValues[fold.Target.Output] = new SourceValue(valueName, layout);
    }

    /// <summary>Emits an op whose buffer holds the named value from now on.</summary>
    public void EmitAndBind(Op op, string valueName, View layout)
    {
        Emit(op, valueName, layout);
        BindHeld(valueName, layout);
    }

    /// <summary>Takes back an op that a later node has made unnecessary.</summary>
    public void Withdraw(Op op)
    {
        ops.Remove(op);
        producers.Remove(op.Output);
        heldValues.Remove(op.Output);
    }

    /// <summary>Links the input and the output buffer of every op of the finished graph to the value it holds.</summary>
    public void LinkSourceValues(IEnumerable<Op> graphOps)
    {
        foreach (var buffer in graphOps.Select(op => op.Output).Prepend(InputBuffer)) buffer.LinkSource(heldValues[buffer]);
    }

    /// <summary>Physical shape for a new dense buffer holding a value of this shape (leading 1s dropped).</summary>
    public static int[] Physical(int[] shape)
    {
        int first = 0;
        while (first < shape.Length - 1 && shape[first] == 1) first++;
        return shape[first..];
    }

    public View CopyToDense(View view, string valueName, string opName)
    {
        var buffer = new ActivationBuffer(opName, Physical(view.Shape));
        var layout = View.Dense(buffer, view.Shape);
        Emit(new CopyOp(opName, buffer, view), valueName, layout);
        return layout;
    }

    /// <summary>The values of an activation in a buffer of their own: evaluates a pending element-wise chain.</summary>
    public View Materialize(string valueName, Activation value, string opName)
    {
        if (value.Expr.IsIdentity) return value.Source;
        var source = value.Source.CoversBuffer ? value.Source : CopyToDense(value.Source, value.SourceName, opName + "/copy");
        var buffer = new ActivationBuffer(opName, source.Buffer.Shape);
        var layout = new View(buffer, source.Offset, source.Shape, source.Strides);
        var expr = value.Expr;
        EmitAndBind(new ElementwiseOp(valueName, buffer, source, ActivationFunctions.Classify(expr), expr.Evaluate), valueName, layout);
        return layout;
    }

    public View MaterializeInput(OnnxNode node, int index)
    {
        var value = RequireActivation(node, index);
        return Materialize(node.Inputs[index], value, node.Name + $"/in{index}");
    }

    /// <summary>An operand of a linear operator, with a pending x·c folded out as a factor.</summary>
    public (View View, double Scale) ScaledOperand(OnnxNode node, int index)
    {
        var x = RequireActivation(node, index);
        if (!x.Expr.IsIdentity && x.Expr.Scale is { } scale) return (x.Source, scale);
        return (Materialize(node.Inputs[index], x, node.Name + $"/in{index}"), 1.0);
    }

    /// <summary>(rows, row stride) of a view whose last axis is contiguous; copies it dense when not.</summary>
    public (View View, int Rows, int RowStride) Rows(View view, string valueName, string opName)
    {
        if (view.Rank >= 1 && (view.Strides[^1] == 1 || view.Shape[^1] == 1) && view.MergeAxes(0, view.Rank - 2) is { } merged)
            return (view, merged.Count, merged.Count == 1 ? view.Shape[^1] : merged.Stride);
        var dense = CopyToDense(view, valueName, opName + "/copy");
        return (dense, Shapes.Product(view.Shape[..^1]), view.Shape[^1]);
    }

    /// <summary>The view reshaped, through a dense copy when its strides cannot express the new shape.</summary>
    public View Reshaped(View view, int[] shape, string valueName, string opName) =>
        view.TryReshape(shape) ?? CopyToDense(view, valueName, opName + "/copy").TryReshape(shape)!;
}
