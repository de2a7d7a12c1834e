namespace McuFormer.Model.Onnx;

/// <summary>Names an element-wise chain by comparing it with the activation functions it may spell out.</summary>
public static class ActivationFunctions
{
    /// <summary>0.5·x·(1 + erf(x/√2)): nn.GELU() and ONNX Gelu with approximate = "none".</summary>
    public static double GeluErf(double x) => 0.5 * x * (1 + Numerics.Erf(x / Math.Sqrt(2)));

    /// <summary>0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))): nn.GELU(approximate="tanh") and ONNX Gelu with approximate = "tanh".</summary>
    public static double GeluTanh(double x) => 0.5 * x * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));

    public static string Classify(ElementwiseExpr expr)
    {
        if (Matches(expr, GeluErf)) return "gelu";
        if (Matches(expr, GeluTanh)) return "gelu_tanh";
        return "elementwise";
    }

    private static bool Matches(ElementwiseExpr expr, Func<double, double> reference)
    {
        for (double x = -8; x <= 8; x += 0.0625)
            if (Math.Abs(expr.Evaluate(x) - reference(x)) > 2e-6 * (1 + Math.Abs(x))) return false;
        return true;
    }
}
