namespace McuFormer.Model.Onnx;

/// <summary>
/// A chain of element-wise operations applied to one activation and scalar constants, such as
/// the erf or tanh form of GELU or the 1/√d scaling of attention. Kept symbolic until an operator
/// needs the values, then folded into that operator or evaluated through an int8 table.
/// </summary>
public abstract class ElementwiseExpr
{
    public static readonly ElementwiseExpr Input = new InputExpr();

    public abstract double Evaluate(double x);

    /// <summary>Names of the operations inside, to describe the function.</summary>
    public abstract IEnumerable<string> Operations { get; }

    /// <summary>c when the expression is x·c (or x/c) alone; null otherwise.</summary>
    public abstract double? Scale { get; }

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

    private sealed class InputExpr : ElementwiseExpr
    {
        public override double Evaluate(double x) => x;
        public override IEnumerable<string> Operations => [];
        public override double? Scale => 1.0;
    }

    private sealed class ConstantExpr(double value) : ElementwiseExpr
    {
        public double Value { get; } = value;
        public override double Evaluate(double x) => Value;
        public override IEnumerable<string> Operations => [];
        public override double? Scale => null;
    }

    private sealed class UnaryExpr(string op, ElementwiseExpr x) : ElementwiseExpr
    {
        public override double Evaluate(double v)
        {
            double a = x.Evaluate(v);
            return op switch
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

        public override IEnumerable<string> Operations => x.Operations.Append(op);
        public override double? Scale => null;
    }

    private sealed class BinaryExpr(string op, ElementwiseExpr a, ElementwiseExpr b) : ElementwiseExpr
    {
        public override double Evaluate(double v)
        {
            double x = a.Evaluate(v), y = b.Evaluate(v);
            return op switch
            {
                "Add" => x + y,
                "Sub" => x - y,
                "Mul" => x * y,
                "Div" => x / y,
                "Pow" => Math.Pow(x, y),
                _ => throw new InvalidOperationException(op),
            };
        }

        public override IEnumerable<string> Operations => a.Operations.Concat(b.Operations).Append(op);

        public override double? Scale => (op, a, b) switch
        {
            ("Mul", _, ConstantExpr c) when a.Scale is { } s => s * c.Value,
            ("Mul", ConstantExpr c, _) when b.Scale is { } s => s * c.Value,
            ("Div", _, ConstantExpr c) when a.Scale is { } s => s / c.Value,
            _ => null,
        };
    }
}
