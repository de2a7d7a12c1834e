using McuFormer.Model.Ir;

namespace McuFormer.Model.Onnx;

/// <summary>
/// A constant that the importer found applied to the output of an op and that the op can take
/// into its parameters instead. Target is the op as its lifter emitted it.
/// </summary>
internal abstract record Fold
{
    public abstract Op Target { get; }
}

/// <summary>A per-output-feature constant added to a linear's output: a bias.</summary>
internal sealed record BiasFold(LinearOp Linear, float[] Bias) : Fold
{
    public override Op Target => Linear;
}

/// <summary>A per-output-feature factor on a linear's output (layer scale): scales its weight rows and bias.</summary>
internal sealed record ChannelScaleFold(LinearOp Linear, float[] Scale) : Fold
{
    public override Op Target => Linear;
}

/// <summary>A scalar factor on a product of activations (attention's 1/√d): scales its alpha.</summary>
internal sealed record AlphaFold(MatMulOp MatMul, double Scale) : Fold
{
    public override Op Target => MatMul;
}

/// <summary>
/// Runs after lifting: replaces each op that constants were folded into by a new op with those
/// constants in its parameters. The ops keep their order and buffers, so views of their outputs
/// stay valid.
/// </summary>
internal static class FoldPass
{
    /// <param name="folds">in the order the importer met them; several may target one op</param>
    public static List<Op> Apply(IReadOnlyList<Op> ops, IReadOnlyList<Fold> folds)
    {
        var folded = new Dictionary<Op, Op>();
        foreach (var fold in folds)
            folded[fold.Target] = Absorb(folded.GetValueOrDefault(fold.Target, fold.Target), fold);
        return ops.Select(op => folded.GetValueOrDefault(op, op)).ToList();
    }

    /// <param name="op">the fold's target with the folds before this one already absorbed</param>
    private static Op Absorb(Op op, Fold fold) => (op, fold) switch
    {
        (LinearOp linear, BiasFold bias) => linear.WithParameters(linear.Weights,
            linear.Bias is null ? bias.Bias : linear.Bias.Zip(bias.Bias, (x, y) => x + y).ToArray()),
        (LinearOp linear, ChannelScaleFold scale) => linear.WithParameters(
            linear.Weights.Select((w, i) => w * scale.Scale[i / linear.InFeatures]).ToArray(),
            linear.Bias?.Select((b, i) => b * scale.Scale[i]).ToArray()),
        (MatMulOp matmul, AlphaFold alpha) => matmul.WithAlpha(matmul.Alpha * alpha.Scale),
        _ => throw new InvalidOperationException($"{fold} does not apply to {op}"),
    };
}
