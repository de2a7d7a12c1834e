using McuFormer.Model.Ir;

namespace McuFormer.Model.Quantization;

/// <summary>An IR op with every integer parameter its runtime-c kernel takes.</summary>
public abstract record QuantizedOp(Op Op);

/// <summary>Per-output-channel weights, int32 biases and requantization, for linear and patch embedding.</summary>
public sealed record ChannelParams(sbyte[] Weights, int[]? Bias, int[] Multipliers, int[] Shifts, int InputZeroPoint, int OutputZeroPoint)
{
    /// <summary>
    /// The parameters of some output channels, in the order given: a linear with these computes
    /// each of those channels exactly as the whole linear does (a channel's output depends on its
    /// own weights, bias, multiplier and shift only).
    /// </summary>
    public ChannelParams Channels(IReadOnlyList<int> channels, int inFeatures) => this with
    {
        Weights = [.. channels.SelectMany(c => Weights.AsSpan(c * inFeatures, inFeatures).ToArray())],
        Bias = Bias is null ? null : [.. channels.Select(c => Bias[c])],
        Multipliers = [.. channels.Select(c => Multipliers[c])],
        Shifts = [.. channels.Select(c => Shifts[c])],
    };
}

public sealed record QuantizedLinear(LinearOp Linear, ChannelParams Params) : QuantizedOp(Linear);

public sealed record QuantizedPatchEmbed(PatchEmbedOp PatchEmbed, ChannelParams Params) : QuantizedOp(PatchEmbed);

/// <summary>
/// Rows [FirstRow, FirstRow + Rows) of a LayerNorm whose input rows share one quantization (a
/// split residual has two row groups, PrefixTokens): the input scale enters only through ε.
/// </summary>
public sealed record NormSegment(int FirstRow, int Rows, long EpsilonTerm);

public sealed record QuantizedLayerNorm(LayerNormOp LayerNorm, IReadOnlyList<NormSegment> Segments, int[] Gamma, int[] Beta, int OutputZeroPoint)
    : QuantizedOp(LayerNorm);

public sealed record QuantizedElementwise(ElementwiseOp Elementwise, sbyte[] Table) : QuantizedOp(Elementwise);

public sealed record QuantizedMatMul(MatMulOp MatMul, int AZeroPoint, int BZeroPoint, int Multiplier, int Shift, int OutputZeroPoint) : QuantizedOp(MatMul);

public sealed record QuantizedSoftmax(SoftmaxOp Softmax, ushort[] ExpTable) : QuantizedOp(Softmax);

/// <summary>Parameters of mcu_add_s8.</summary>
public sealed record AddParams(int AZeroPoint, int AMultiplier, int BZeroPoint, int BMultiplier, int Shift, int OutputZeroPoint);

/// <summary>
/// Elements [Start, Start + Count) of an element-wise add whose operands and output each have one
/// quantization there (a split residual has two row groups, PrefixTokens); Constant holds the
/// constant operand's elements of the segment, quantized for it.
/// </summary>
public sealed record AddSegment(int Start, int Count, AddParams Params, sbyte[]? Constant = null);

public sealed record QuantizedAdd(AddOp Add, IReadOnlyList<AddSegment> Segments) : QuantizedOp(Add);

public sealed record QuantizedAddConstant(AddConstantOp AddConstant, IReadOnlyList<AddSegment> Segments) : QuantizedOp(AddConstant);

public sealed record QuantizedMeanTokens(MeanTokensOp MeanTokens, int InputZeroPoint, int Multiplier, int Shift, int OutputZeroPoint) : QuantizedOp(MeanTokens);

/// <summary>One mcu_copy_s8 call: a 4-d strided move with optional requantization (multiplier 0: exact copy).</summary>
public sealed record CopyPlan(int[] Shape, int[] SourceStrides, int SourceOffset, int[] DestinationStrides, int DestinationOffset,
    int InputZeroPoint, int Multiplier, int Shift, int OutputZeroPoint)
{
    /// <summary>Canonical 4-d form of a copy between two views of the same shape: unit axes dropped, adjacent axes merged.</summary>
    public static CopyPlan Between(View source, View destination, int inputZeroPoint = 0, int multiplier = 0, int shift = 0, int outputZeroPoint = 0)
    {
        var axes = new List<(int Size, int From, int To)>();
        for (int d = 0; d < source.Rank; d++)
        {
            if (source.Shape[d] == 1) continue;
            if (axes.Count > 0)
            {
                var last = axes[^1];
                if (last.From == source.Strides[d] * source.Shape[d] && last.To == destination.Strides[d] * source.Shape[d])
                {
                    axes[^1] = (last.Size * source.Shape[d], source.Strides[d], destination.Strides[d]);
                    continue;
                }
            }
            axes.Add((source.Shape[d], source.Strides[d], destination.Strides[d]));
        }
        if (axes.Count > 4) throw new InvalidOperationException($"copy of {source} needs {axes.Count} axes; the kernel takes 4");
        while (axes.Count < 4) axes.Insert(0, (1, 0, 0));
        return new CopyPlan(axes.Select(a => a.Size).ToArray(), axes.Select(a => a.From).ToArray(), source.Offset,
            axes.Select(a => a.To).ToArray(), destination.Offset, inputZeroPoint, multiplier, shift, outputZeroPoint);
    }
}

/// <summary>A concatenation part: a copy from an activation, or from constant int8 data laid out dense in the part's shape.</summary>
public sealed record QuantizedConcatPart(CopyPlan Copy, View? Source, sbyte[]? Constant);

public sealed record QuantizedConcat(ConcatOp Concat, IReadOnlyList<QuantizedConcatPart> Parts) : QuantizedOp(Concat);

public sealed record QuantizedCopy(CopyOp Copy, CopyPlan Plan) : QuantizedOp(Copy);

/// <summary>The leading elements of a split buffer (its prefix-token rows) and their quantization.</summary>
public sealed record PrefixGroup(int Elements, QuantParams Params);

/// <summary>
/// The int8 model: every buffer's quantization and every op's kernel parameters. A buffer in
/// Prefixes has two: its prefix-token rows use the group's, every element after them Activations'.
/// </summary>
public sealed class QuantizedModel(ModelGraph graph, IReadOnlyDictionary<ActivationBuffer, QuantParams> activations,
    IReadOnlyDictionary<ActivationBuffer, PrefixGroup> prefixes, IReadOnlyList<QuantizedOp> ops, RangeMethod rangeMethod, int calibrationSamples)
{
    public ModelGraph Graph { get; } = graph;
    public IReadOnlyDictionary<ActivationBuffer, QuantParams> Activations { get; } = activations;
    public IReadOnlyDictionary<ActivationBuffer, PrefixGroup> Prefixes { get; } = prefixes;
    public IReadOnlyList<QuantizedOp> Ops { get; } = ops;
    public RangeMethod RangeMethod { get; } = rangeMethod;
    public int CalibrationSamples { get; } = calibrationSamples;
    public QuantParams InputQuant => Activations[Graph.Input.Buffer];
    public QuantParams OutputQuant => Activations[Graph.Output.Buffer];

    /// <summary>The quantization of one element of a buffer.</summary>
    public QuantParams QuantAt(ActivationBuffer buffer, long element) =>
        Prefixes.TryGetValue(buffer, out var prefix) && element < prefix.Elements ? prefix.Params : Activations[buffer];

    /// <summary>Real values of a view's int8 elements (in the view's order).</summary>
    public float[] Dequantize(View view, ReadOnlySpan<sbyte> values)
    {
        var real = new float[values.Length];
        var index = new int[view.Rank];
        for (int i = 0; i < values.Length; i++)
        {
            real[i] = (float)QuantAt(view.Buffer, view.IndexOf(index)).Dequantize(values[i]);
            for (int d = view.Rank - 1; d >= 0; d--)
            {
                if (++index[d] < view.Shape[d]) break;
                index[d] = 0;
            }
        }
        return real;
    }
}
