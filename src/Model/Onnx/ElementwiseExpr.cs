namespace McuFormer.Model.Onnx;

/// <summary>
/// A chain of element-wise operations applied to one activation and scalar constants, such as
/// the erf or tanh form of GELU or the 1/√d scaling of attention. Kept symbolic until an operator
/// needs the values, then folded into that operator or evaluated through an int8 table.
/// </summary>
/// <remarks>
/// An expression is a DAG: x + x shares its operand, and a chain of such nodes doubles the tree
/// it would unfold to at every step. Nothing here recurses or unfolds it: each node knows its
/// depth and scale from its operands when built, and evaluation runs the distinct nodes once
/// each, in an order found without recursion.
/// </remarks>
public abstract class ElementwiseExpr
{
    /// <summary>The longest chain of operations the importer takes: GELU's is six deep.</summary>
    public const int MaxDepth = 1000;

    public static readonly ElementwiseExpr Input = new InputExpr();

    /// <summary>Built on the first evaluation; one reference, so that threads evaluating at once see all of it or none.</summary>
    private Program? program;

    private protected ElementwiseExpr(int depth, double? scale, params ElementwiseExpr[] operands)
    {
        Depth = depth;
        Scale = scale;
        Operands = operands;
    }

    /// <summary>Operations on the longest path from the input (or a constant) to here.</summary>
    public int Depth { get; }

    /// <summary>c when the expression is x·c (or x/c) alone; null otherwise.</summary>
    public double? Scale { get; }

    private ElementwiseExpr[] Operands { get; }

    public bool IsIdentity => this is InputExpr;

    public static ElementwiseExpr Constant(double value) => new ConstantExpr(value);
    public static ElementwiseExpr Unary(string op, ElementwiseExpr x) => new UnaryExpr(op, x);
    public static ElementwiseExpr Binary(string op, ElementwiseExpr a, ElementwiseExpr b) => new BinaryExpr(op, a, b);

    /// <summary>ONNX operators without attributes that the chain takes as they are.</summary>
    public static readonly IReadOnlySet<string> UnaryOps = new HashSet<string>
        { "Erf", "Tanh", "Sqrt", "Sigmoid", "Relu", "Neg", "Exp", "Abs", "Reciprocal" };

    /// <summary>The ONNX Gelu operator (opset 20): approximate = "none" is the erf form, "tanh" the tanh form.</summary>
    public static ElementwiseExpr Gelu(string approximate, ElementwiseExpr x) => new UnaryExpr(approximate == "tanh" ? "GeluTanh" : "Gelu", x);
    public static readonly IReadOnlySet<string> BinaryOps = new HashSet<string> { "Add", "Sub", "Mul", "Div", "Pow" };

    public double Evaluate(double x)
    {
        var (nodes, operandPositions) = program ??= Compile();
        var values = new double[nodes.Length];
        for (int i = 0; i < nodes.Length; i++)
        {
            var operands = operandPositions[i];
            values[i] = nodes[i].Apply(x, operands.Length > 0 ? values[operands[0]] : 0, operands.Length > 1 ? values[operands[1]] : 0);
        }
        return values[^1];
    }

    /// <summary>This node's value from the input and its operands' values.</summary>
    private protected abstract double Apply(double input, double a, double b);

    /// <summary>The distinct nodes, each after its operands and this one last, and where each one's operands are in that order.</summary>
    private sealed record Program(ElementwiseExpr[] Nodes, int[][] OperandPositions);

    private Program Compile()
    {
        var position = new Dictionary<ElementwiseExpr, int>(ReferenceEqualityComparer.Instance);
        var sorted = new List<ElementwiseExpr>();
        var pending = new Stack<(ElementwiseExpr Node, bool OperandsDone)>();
        pending.Push((this, false));
        while (pending.Count > 0)
        {
            var (node, operandsDone) = pending.Pop();
            if (operandsDone)
            {
                position[node] = sorted.Count;
                sorted.Add(node);
            }
            else if (!position.ContainsKey(node))
            {
                pending.Push((node, true));
                foreach (var operand in node.Operands)
                    if (!position.ContainsKey(operand)) pending.Push((operand, false));
            }
        }
        return new Program(sorted.ToArray(), sorted.Select(n => n.Operands.Select(o => position[o]).ToArray()).ToArray());
    }

    private sealed class InputExpr() : ElementwiseExpr(0, 1.0)
    {
        private protected override double Apply(double input, double a, double b) => input;
    }

    private sealed class ConstantExpr(double value) : ElementwiseExpr(0, null)
    {
        public double Value { get; } = value;
        private protected override double Apply(double input, double a, double b) => Value;
    }

    private sealed class UnaryExpr(string op, ElementwiseExpr x) : ElementwiseExpr(x.Depth + 1, null, x)
    {
        private protected override double Apply(double input, double a, double b) => op switch
        {
            "Erf" => Numerics.Erf(a),
            "Gelu" => ActivationFunctions.GeluErf(a),
            "GeluTanh" => ActivationFunctions.GeluTanh(a),
            "Tanh" => Math.Tanh(a),
            "Sqrt" => Math.Sqrt(a),
            "Sigmoid" => 1.0 / (1.0 + Math.Exp(-a)),
            "Relu" => Math.Max(0, a),
            "Neg" => -a,
            "Exp" => Math.Exp(a),
            "Abs" => Math.Abs(a),
            "Reciprocal" => 1.0 / a,
            _ => throw new InvalidOperationException(op),
        };
    }

    private sealed class BinaryExpr(string op, ElementwiseExpr a, ElementwiseExpr b)
        : ElementwiseExpr(Math.Max(a.Depth, b.Depth) + 1, ScaleOf(op, a, b), a, b)
    {
        private protected override double Apply(double input, double x, double y) => op switch
        {
            "Add" => x + y,
            "Sub" => x - y,
            "Mul" => x * y,
            "Div" => x / y,
            "Pow" => Math.Pow(x, y),
            _ => throw new InvalidOperationException(op),
        };

        private static double? ScaleOf(string op, ElementwiseExpr a, ElementwiseExpr b) => (op, a, b) switch
        {
            ("Mul", _, ConstantExpr c) when a.Scale is { } s => s * c.Value,
            ("Mul", ConstantExpr c, _) when b.Scale is { } s => s * c.Value,
            ("Div", _, ConstantExpr c) when a.Scale is { } s => s / c.Value,
            _ => null,
        };
    }
}
