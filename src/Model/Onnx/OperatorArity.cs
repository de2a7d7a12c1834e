namespace McuFormer.Model.Onnx;

/// <summary>
/// How many inputs and outputs each operator that mcuformer lifts or folds itself takes, from the ONNX schemas of
/// opsets 13 to 21 (optional ones included, an omitted optional input being an empty name). Checked once on
/// loading, so that the lifters can index a node's inputs and outputs as the schema allows.
/// </summary>
internal static class OperatorArity
{
    private const int Any = int.MaxValue;

    private static readonly Dictionary<string, (int MinInputs, int MaxInputs, int MinOutputs, int MaxOutputs)> Schemas = new()
    {
        ["Constant"] = (0, 0, 1, 1),
        ["Identity"] = (1, 1, 1, 1),
        ["Dropout"] = (1, 3, 1, 2),
        ["Cast"] = (1, 1, 1, 1),
        ["CastLike"] = (2, 2, 1, 1),
        ["Reshape"] = (2, 2, 1, 1),
        ["Flatten"] = (1, 1, 1, 1),
        ["Unsqueeze"] = (1, 2, 1, 1),
        ["Squeeze"] = (1, 2, 1, 1),
        ["Transpose"] = (1, 1, 1, 1),
        ["Gather"] = (2, 2, 1, 1),
        ["Slice"] = (3, 5, 1, 1),
        ["Split"] = (1, 2, 1, Any),
        ["Concat"] = (1, Any, 1, 1),
        ["Conv"] = (2, 3, 1, 1),
        ["MatMul"] = (2, 2, 1, 1),
        ["Gemm"] = (2, 3, 1, 1),
        ["Softmax"] = (1, 1, 1, 1),
        ["LayerNormalization"] = (2, 3, 1, 3),
        ["ReduceMean"] = (1, 2, 1, 1),
        ["Gelu"] = (1, 1, 1, 1),
        ["Shape"] = (1, 1, 1, 1),
        ["Size"] = (1, 1, 1, 1),
        ["ConstantOfShape"] = (1, 1, 1, 1),
        ["Equal"] = (2, 2, 1, 1),
        ["Less"] = (2, 2, 1, 1),
        ["Greater"] = (2, 2, 1, 1),
        ["Not"] = (1, 1, 1, 1),
        ["Where"] = (3, 3, 1, 1),
        ["Expand"] = (2, 2, 1, 1),
        ["Range"] = (3, 3, 1, 1),
        ["Min"] = (1, Any, 1, 1),
        ["Max"] = (1, Any, 1, 1),
        ["Floor"] = (1, 1, 1, 1),
        ["Ceil"] = (1, 1, 1, 1),
    };

    /// <summary>What is wrong with the node's number of inputs or outputs; null when nothing is.</summary>
    public static string? Check(OnnxNode node)
    {
        if (node.Outputs.Count == 0 || node.Outputs[0].Length == 0) return "the node has no output";
        var (minInputs, maxInputs, minOutputs, maxOutputs) = Schemas.TryGetValue(node.OpType, out var schema) ? schema
            : ElementwiseExpr.UnaryOps.Contains(node.OpType) ? (1, 1, 1, 1)
            : ElementwiseExpr.BinaryOps.Contains(node.OpType) ? (2, 2, 1, 1)
            // Folded in ONNX Runtime, which checks the schema itself.
            : (0, Any, 1, Any);
        if (node.Inputs.Count < minInputs || node.Inputs.Count > maxInputs)
            return $"{node.Inputs.Count} inputs; the operator takes {Range(minInputs, maxInputs)}";
        if (node.Outputs.Count < minOutputs || node.Outputs.Count > maxOutputs)
            return $"{node.Outputs.Count} outputs; the operator has {Range(minOutputs, maxOutputs)}";
        return null;
    }

    private static string Range(int min, int max) => min == max ? $"{min}" : max == Any ? $"{min} or more" : $"{min} to {max}";
}
