using McuFormer.Model.Ir;

namespace McuFormer.Model.Quantization;

/// <summary>Which elements of a buffer a calibration range covers: all, or one row group of a split buffer.</summary>
public enum TokenGroup { All, Prefix, Rest }

/// <summary>
/// The residual-stream buffers whose prefix tokens (class, distillation and register tokens,
/// concatenated in front of the patch tokens) get quantization parameters of their own.
/// A class token usually spans only a few steps of the residual's per-tensor scale, which the
/// patch tokens set; every LayerNorm over it then normalises quantization noise, and a model
/// that pools that token loses its logits. With two parameter sets per buffer the prefix rows
/// keep their precision, and every kernel reading or writing them runs once per row group.
/// </summary>
public static class PrefixTokens
{
    /// <summary>
    /// Each split buffer with the number of its leading elements (prefix rows × features) that
    /// belong to the prefix group. A buffer is split only when every op that reads it either
    /// handles the two groups (residual add, positional-embedding add, LayerNorm over whole rows)
    /// or reads elements of one group only; the model's output is never split.
    /// </summary>
    public static IReadOnlyDictionary<ActivationBuffer, int> Find(ModelGraph graph)
    {
        var split = new Dictionary<ActivationBuffer, int>();
        foreach (var op in graph.Ops)
        {
            int? prefix = op switch
            {
                ConcatOp concat => ConcatenatedPrefix(concat),
                AddConstantOp add when add.Input.IsDenseRowMajor && add.Output.ElementCount == add.Input.Buffer.ElementCount
                    => split.TryGetValue(add.Input.Buffer, out var p) ? p : null,
                AddOp add when add.A.IsDenseRowMajor && add.B.IsDenseRowMajor => SharedPrefix(split, add.A.Buffer, add.B.Buffer),
                _ => null,
            };
            // Calibration reads a group's values from the start of the ONNX value: the layout must be dense.
            if (prefix is { } elements && op.Output.Source?.Layout.IsDenseRowMajor == true) split[op.Output] = elements;
        }
        split.Remove(graph.Output.Buffer);
        foreach (var op in graph.Ops)
            foreach (var input in op.Inputs)
                if (split.TryGetValue(input.Buffer, out var elements) && !ReadsGroupsApart(op, input, elements))
                    split.Remove(input.Buffer);
        return split;
    }

    /// <summary>Prefix elements of a token concatenation whose leading parts are constants: [constants…, activations…] along the token axis.</summary>
    private static int? ConcatenatedPrefix(ConcatOp concat)
    {
        var output = concat.Output;
        if (output.Shape.Length != 2) return null;
        int features = output.Shape[1];
        int prefixEnd = concat.Parts.Where(p => p.Constant is not null).Select(p => End(p.Destination)).DefaultIfEmpty(0).Max();
        bool activationsAfter = concat.Parts.Where(p => p.Input is not null).All(p => Start(p.Destination) >= prefixEnd);
        if (prefixEnd == 0 || prefixEnd % features != 0 || prefixEnd >= output.ElementCount || !activationsAfter
            || concat.Parts.All(p => p.Input is null))
            return null;
        return prefixEnd;
    }

    private static int? SharedPrefix(Dictionary<ActivationBuffer, int> split, ActivationBuffer a, ActivationBuffer b)
    {
        bool hasA = split.TryGetValue(a, out var pa), hasB = split.TryGetValue(b, out var pb);
        if (hasA && hasB) return pa == pb ? pa : null;
        return hasA ? pa : hasB ? pb : null;
    }

    /// <summary>Whether an op can read this view of a split buffer: per group, or inside one group.</summary>
    private static bool ReadsGroupsApart(Op op, View input, int prefixElements)
    {
        if (WithinOneGroup(input, prefixElements)) return true;
        return op switch
        {
            AddOp or AddConstantOp => input.IsDenseRowMajor,
            LayerNormOp norm => norm.InputRowStride == norm.Dim && RowsWithinGroups(input.Offset, norm.Rows, norm.InputRowStride, norm.Dim, prefixElements),
            _ => false,
        };
    }

    /// <summary>Whether rows [first, first + rows) of a row-wise view each lie in one group.</summary>
    private static bool RowsWithinGroups(int offset, int rows, int rowStride, int rowLength, int prefixElements)
    {
        for (int r = 0; r < rows; r++)
        {
            int start = offset + r * rowStride;
            if (start < prefixElements && start + rowLength > prefixElements) return false;
        }
        return true;
    }

    /// <summary>Whether every element of the view lies in the prefix group, or every one after it.</summary>
    public static bool WithinOneGroup(View view, int prefixElements)
    {
        var (low, high) = Span(view);
        return high < prefixElements || low >= prefixElements;
    }

    /// <summary>Lowest and highest buffer element the view visits.</summary>
    public static (int Low, int High) Span(View view)
    {
        int low = view.Offset, high = view.Offset;
        for (int d = 0; d < view.Rank; d++)
        {
            int reach = (view.Shape[d] - 1) * view.Strides[d];
            if (reach < 0) low += reach;
            else high += reach;
        }
        return (low, high);
    }

    private static int Start(View view) => Span(view).Low;
    private static int End(View view) => Span(view).High + 1;
}
