namespace McuFormer.Model.Onnx;

/// <summary>Output shapes of the pure layout operators, shared by constants and activation views.</summary>
public static class ShapeOps
{
    public static int[] OutputShape(OnnxNode node, int[] shape, IReadOnlyList<ConstTensor?> inputs, OnnxModelFile file)
    {
        switch (node.OpType)
        {
            case "Reshape":
                {
                    var target = (inputs.Count > 1 ? inputs[1] : null) ?? throw file.Error(node, "the target shape is not constant");
                    var dims = Dims(node, target, "the target shape", file, min: -1);
                    bool allowZero = Attr.Int(file, node, "allowzero", 0) != 0;
                    for (int i = 0; i < dims.Length; i++)
                        if (dims[i] == 0 && !allowZero) dims[i] = i < shape.Length ? shape[i] : throw file.Error(node, "reshape copies a dimension that does not exist");
                    int unknown = Array.IndexOf(dims, -1);
                    if (unknown >= 0)
                    {
                        if (Array.LastIndexOf(dims, -1) != unknown) throw file.Error(node, $"the target shape {Ir.Shapes.Format(dims)} has more than one -1");
                        long known = Ir.Shapes.Count(dims.Where((_, i) => i != unknown));
                        if (known == 0 || Ir.Shapes.Count(shape) % known != 0)
                            throw file.Error(node, $"cannot reshape {Ir.Shapes.Format(shape)} into {Ir.Shapes.Format(dims)}");
                        dims[unknown] = (int)(Ir.Shapes.Count(shape) / known);
                    }
                    if (Ir.Shapes.Count(dims) != Ir.Shapes.Count(shape))
                        throw file.Error(node, $"cannot reshape {Ir.Shapes.Format(shape)} into {Ir.Shapes.Format(dims)}");
                    return dims;
                }
            case "Flatten":
                {
                    int axis = Attr.Int(file, node, "axis", 1);
                    if (axis < -shape.Length || axis > shape.Length) throw file.Error(node, $"axis {axis} is out of range for rank {shape.Length}");
                    if (axis < 0) axis += shape.Length;
                    return [Ir.Shapes.Product(shape[..axis]), Ir.Shapes.Product(shape[axis..])];
                }
            case "Unsqueeze":
                {
                    var axes = Axes(node, inputs, file) ?? throw file.Error(node, "axes are missing");
                    int rank = shape.Length + axes.Length;
                    var normalized = axes.Select(a => ConstantEvaluator.Axis(node, a, rank, file)).ToHashSet();
                    if (normalized.Count != axes.Length) throw file.Error(node, $"axes [{string.Join(", ", axes)}] repeat an axis");
                    var result = new int[rank];
                    int source = 0;
                    for (int d = 0; d < rank; d++) result[d] = normalized.Contains(d) ? 1 : shape[source++];
                    return result;
                }
            case "Squeeze":
                {
                    // No axes (or an empty axes input) squeezes every axis of size 1.
                    var axes = Axes(node, inputs, file) is { Length: > 0 } given ? given : null;
                    var normalized = axes?.Select(a => ConstantEvaluator.Axis(node, a, shape.Length, file)).ToHashSet();
                    if (normalized?.FirstOrDefault(a => shape[a] != 1, -1) is { } wide and >= 0)
                        throw file.Error(node, $"cannot squeeze axis {wide} of size {shape[wide]}");
                    return shape.Where((d, i) => normalized is null ? d != 1 : !normalized.Contains(i)).ToArray();
                }
            default: throw file.Error(node, "not a layout operator");
        }
    }

    /// <summary>
    /// The dimensions a constant gives (a Reshape target, the shape of ConstantOfShape or Expand): each from
    /// <paramref name="min"/> to int.MaxValue, an error naming the node otherwise.
    /// </summary>
    public static int[] Dims(OnnxNode node, ConstTensor values, string what, OnnxModelFile file, long min = 0)
    {
        var dims = values.AsLongs();
        foreach (var d in dims)
            if (d < min || d > int.MaxValue)
                throw file.Error(node, $"{what} [{string.Join(", ", dims)}] holds {d}, outside {min} to {int.MaxValue}");
        return dims.Select(d => (int)d).ToArray();
    }

    /// <summary>The perm of a Transpose of a tensor of that rank (the axes reversed when absent); an error unless it names each axis once.</summary>
    public static int[] Permutation(OnnxNode node, int rank, OnnxModelFile file)
    {
        var perm = Attr.Ints(file, node, "perm") ?? Enumerable.Range(0, rank).Reverse().ToArray();
        if (perm.Length != rank || !perm.Order().SequenceEqual(Enumerable.Range(0, rank)))
            throw file.Error(node, $"perm [{string.Join(", ", perm)}] is not a permutation of the {rank} axes of the input");
        return perm;
    }

    /// <summary>Axes from the opset-13 input or the older attribute.</summary>
    public static int[]? Axes(OnnxNode node, IReadOnlyList<ConstTensor?> inputs, OnnxModelFile file)
    {
        if (node.HasInput(1))
            return ((inputs.Count > 1 ? inputs[1] : null) ?? throw file.Error(node, "axes must be constant")).AsInts();
        return Attr.Ints(file, node, "axes");
    }

    /// <summary>Per sliced axis: (axis, start, count, step) with ONNX clamping rules.</summary>
    public static IEnumerable<(int Axis, int Start, int Count, int Step)> SliceRanges(OnnxNode node, int[] shape,
        IReadOnlyList<ConstTensor?> inputs, OnnxModelFile file)
    {
        ConstTensor Need(int i) => (i < inputs.Count ? inputs[i] : null) ?? throw file.Error(node, $"slice input {i} must be constant");
        var starts = Need(1).AsLongs();
        var ends = Need(2).AsLongs();
        var axes = node.HasInput(3) ? Need(3).AsInts() : Enumerable.Range(0, starts.Length).ToArray();
        var steps = node.HasInput(4) ? Need(4).AsLongs() : Enumerable.Repeat(1L, starts.Length).ToArray();
        if (ends.Length != starts.Length || axes.Length != starts.Length || steps.Length != starts.Length)
            throw file.Error(node, $"starts, ends, axes and steps have {starts.Length}, {ends.Length}, {axes.Length} and {steps.Length} values; they must have as many");
        var normalizedAxes = axes.Select(a => ConstantEvaluator.Axis(node, a, shape.Length, file)).ToArray();
        if (normalizedAxes.Distinct().Count() != normalizedAxes.Length) throw file.Error(node, $"axes [{string.Join(", ", axes)}] repeat an axis");
        var ranges = new List<(int, int, int, int)>();
        for (int i = 0; i < starts.Length; i++)
        {
            int axis = normalizedAxes[i];
            long dim = shape[axis], step = steps[i];
            if (step == 0) throw file.Error(node, "slice step is 0");
            if (dim == 0)
            {
                ranges.Add((axis, 0, 0, 1));
                continue;
            }
            // A step longer than the axis takes one element at most, as a step of one axis length does; no sum below overflows.
            step = Math.Clamp(step, -dim - 1, dim + 1);
            long start = starts[i] < 0 ? starts[i] + dim : starts[i];
            long end = ends[i] < 0 && ends[i] != long.MinValue ? ends[i] + dim : ends[i];
            if (step > 0)
            {
                start = Math.Clamp(start, 0, dim);
                end = Math.Clamp(end, 0, dim);
            }
            else
            {
                start = Math.Clamp(start, 0, dim - 1);
                end = Math.Clamp(end, -1, dim - 1);
            }
            long count = step > 0 ? Math.Max(0, (end - start + step - 1) / step) : Math.Max(0, (start - end - step - 1) / -step);
            ranges.Add((axis, (int)start, (int)count, (int)step));
        }
        return ranges;
    }
}
