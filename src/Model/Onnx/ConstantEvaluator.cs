using DataType = Onnx.TensorProto.Types.DataType;

namespace McuFormer.Model.Onnx;

/// <summary>
/// Evaluates nodes whose inputs are all constants and whose result it can compute exactly as ONNX
/// Runtime does: the shape arithmetic, broadcast subgraphs (Shape/ConstantOfShape/Equal/Where/Expand)
/// and layout of weights that exporters leave behind. Every value is rounded to its element type
/// after each operation. Other operators (transcendental functions, products that accumulate)
/// are left to <see cref="OrtNodeEvaluator"/>.
/// </summary>
public static class ConstantEvaluator
{
    public static readonly IReadOnlySet<string> SupportedOps = new HashSet<string>
    {
        "Identity", "Cast", "Gather", "Unsqueeze", "Squeeze", "Concat", "Reshape", "Flatten", "Transpose",
        "Slice", "ConstantOfShape", "Equal", "Less", "Greater", "Not", "Where", "Expand", "Add", "Sub", "Mul",
        "Div", "Sqrt", "Neg", "Abs", "Range", "Min", "Max", "Split", "Size", "Shape", "Reciprocal", "Floor", "Ceil",
    };

    /// <summary>Evaluates the node; returns one constant per output. Throws ModelImportException on bad input.</summary>
    public static ConstTensor[] Evaluate(OnnxNode node, IReadOnlyList<ConstTensor?> inputs, OnnxModelFile file)
    {
        ConstTensor In(int i) => (i < inputs.Count ? inputs[i] : null) ?? throw file.Error(node, $"input {i} is missing");
        switch (node.OpType)
        {
            case "Identity": return [In(0)];
            case "Cast":
                {
                    var to = (DataType)Attr.Int(file, node, "to", (int)DataType.Float);
                    if (!ConstTensor.IsSupported(to)) throw file.Error(node, $"casting a constant to {to} is not supported");
                    return [new ConstTensor(to, In(0).Shape, In(0).Data.Select(v => ConstTensor.Represent(to, v)).ToArray())];
                }
            case "Shape":
                {
                    var dims = In(0).Shape.Select(d => (long)d).ToArray();
                    return [ConstTensor.Ints(ShapeSlice(node, dims, file))];
                }
            case "Size": return [ConstTensor.Scalar(DataType.Int64, In(0).ElementCount)];
            case "Gather": return [Gather(In(0), In(1), Attr.Int(file, node, "axis", 0), node, file)];
            case "Unsqueeze":
            case "Squeeze":
            case "Reshape":
            case "Flatten":
                return [In(0).Reshaped(ShapeOps.OutputShape(node, In(0).Shape, inputs, file))];
            case "Concat": return [Concat(inputs.Select((t, i) => t ?? In(i)).ToList(), Attr.Int(file, node, "axis", 0), node, file)];
            case "Transpose": return [Transpose(In(0), ShapeOps.Permutation(node, In(0).Rank, file))];
            case "Slice": return [Slice(In(0), inputs, node, file)];
            case "ConstantOfShape":
                {
                    var shape = FoldableShape(ShapeOps.Dims(node, In(0), "the shape", file), node, file);
                    var value = Attr.Tensor(file, node, "value") is { } tensor ? file.ReadTensor(tensor) : ConstTensor.Scalar(DataType.Float, 0);
                    if (value.ElementCount != 1) throw file.Error(node, $"value holds {value.ElementCount} elements; it must hold one");
                    return [value.With(shape, Enumerable.Repeat(value.Data[0], Ir.Shapes.Product(shape)).ToArray())];
                }
            case "Expand":
                {
                    var target = ShapeOps.Dims(node, In(1), "the shape", file);
                    var shape = Broadcast.Shape(In(0).Shape, target, node, file);
                    return [Broadcast.To(In(0), shape)];
                }
            case "Where":
                {
                    var shape = Broadcast.Shape(Broadcast.Shape(In(0).Shape, In(1).Shape, node, file), In(2).Shape, node, file);
                    var c = Broadcast.To(In(0), shape); var a = Broadcast.To(In(1), shape); var b = Broadcast.To(In(2), shape);
                    return [a.With(shape, c.Data.Select((v, i) => v != 0 ? a.Data[i] : b.Data[i]).ToArray())];
                }
            case "Equal": return [Binary(In(0), In(1), (a, b) => a == b ? 1 : 0, DataType.Bool, node, file)];
            case "Less": return [Binary(In(0), In(1), (a, b) => a < b ? 1 : 0, DataType.Bool, node, file)];
            case "Greater": return [Binary(In(0), In(1), (a, b) => a > b ? 1 : 0, DataType.Bool, node, file)];
            case "Not": return [Unary(In(0), v => v != 0 ? 0 : 1)];
            case "Add": return [Binary(In(0), In(1), (a, b) => a + b, null, node, file)];
            case "Sub": return [Binary(In(0), In(1), (a, b) => a - b, null, node, file)];
            case "Mul": return [Binary(In(0), In(1), (a, b) => a * b, null, node, file)];
            case "Div":
                return [Binary(In(0), In(1), In(0).Kind == ConstKind.Int
                    ? (a, b) => b == 0 ? throw file.Error(node, "integer division by zero") : Math.Truncate(a / b)
                    : (a, b) => a / b, null, node, file)];
            case "Min": return [inputs.Select((_, i) => In(i)).Aggregate((a, b) => Binary(a, b, Math.Min, null, node, file))];
            case "Max": return [inputs.Select((_, i) => In(i)).Aggregate((a, b) => Binary(a, b, Math.Max, null, node, file))];
            case "Sqrt": return [Unary(In(0), Math.Sqrt)];
            case "Neg": return [Unary(In(0), v => -v)];
            case "Abs": return [Unary(In(0), Math.Abs)];
            case "Reciprocal": return [Unary(In(0), v => 1 / v)];
            case "Floor": return [Unary(In(0), Math.Floor)];
            case "Ceil": return [Unary(In(0), Math.Ceiling)];
            case "Range": return [Range(In(0), In(1), In(2), node, file)];
            case "Split":
                {
                    var sizes = SplitSizes(node, In(0).Shape, inputs, file);
                    int axis = Attr.Axis(file, node, 0, In(0).Rank);
                    var outputs = new ConstTensor[sizes.Length];
                    int start = 0;
                    for (int i = 0; i < sizes.Length; i++)
                    {
                        outputs[i] = SliceAxis(In(0), axis, start, sizes[i], 1);
                        start += sizes[i];
                    }
                    return outputs;
                }
            default: throw file.Error(node, "operator is not supported");
        }
    }

    /// <summary>The shape of a constant that folding makes; an error when it would hold more than <see cref="TensorReader.MaxElements"/> values.</summary>
    public static int[] FoldableShape(int[] shape, OnnxNode node, OnnxModelFile file) =>
        Ir.Shapes.Count(shape) <= TensorReader.MaxElements ? shape
            : throw file.Error(node, $"the result of shape {Ir.Shapes.Format(shape)} would hold more than the {TensorReader.MaxElements} values mcuformer folds");

    public static int Axis(OnnxNode node, int axis, int rank, OnnxModelFile file)
    {
        int normalized = axis < 0 ? axis + rank : axis;
        if (normalized < 0 || normalized >= rank) throw file.Error(node, $"axis {axis} is out of range for rank {rank}");
        return normalized;
    }

    public static long[] ShapeSlice(OnnxNode node, long[] dims, OnnxModelFile file)
    {
        int rank = dims.Length;
        int start = Attr.Int(file, node, "start", 0), end = Attr.Int(file, node, "end", rank);
        if (start < 0) start += rank;
        if (end < 0) end += rank;
        start = Math.Clamp(start, 0, rank);
        end = Math.Clamp(end, start, rank);
        return dims[start..end];
    }

    /// <summary>
    /// Split sizes from the "split" input (opset 13+), or into num_outputs parts of ⌈size/n⌉ with a
    /// smaller last part (opset 18), or into equal parts, one per output.
    /// </summary>
    public static int[] SplitSizes(OnnxNode node, int[] shape, IReadOnlyList<ConstTensor?> inputs, OnnxModelFile file)
    {
        int axis = Attr.Axis(file, node, 0, shape.Length);
        int length = shape[axis], parts = node.Outputs.Count;
        int[] sizes;
        if (node.HasInput(1))
            sizes = (inputs.Count > 1 ? inputs[1] : null)?.AsInts() ?? throw file.Error(node, "split sizes must be constant");
        else if (Attr.Ints(file, node, "split") is { } attribute) sizes = attribute;
        else if (node.Attributes.ContainsKey("num_outputs"))
        {
            int declared = Attr.Int(file, node, "num_outputs", parts);
            if (declared != parts) throw file.Error(node, $"num_outputs is {declared} but the node has {parts} outputs");
            int each = (length + parts - 1) / parts;
            sizes = Enumerable.Range(0, parts).Select(i => i < parts - 1 ? each : length - each * (parts - 1)).ToArray();
            if (sizes[^1] < 0) throw file.Error(node, $"axis {axis} of size {length} cannot be split into {parts} parts of {each}");
        }
        else
        {
            if (length % parts != 0) throw file.Error(node, $"axis {axis} of size {length} does not split evenly into {parts} outputs");
            sizes = Enumerable.Repeat(length / parts, parts).ToArray();
        }
        if (sizes.Length != parts || sizes.Any(s => s < 0) || sizes.Sum(s => (long)s) != length)
            throw file.Error(node, $"split sizes [{string.Join(", ", sizes)}] do not divide axis {axis} of size {length} among {parts} outputs");
        return sizes;
    }

    private static ConstTensor Range(ConstTensor start, ConstTensor limit, ConstTensor delta, OnnxNode node, OnnxModelFile file)
    {
        if (start.ElementCount != 1 || limit.ElementCount != 1 || delta.ElementCount != 1)
            throw file.Error(node, "start, limit and delta must be scalars");
        double first = start.Data[0], step = delta.Data[0];
        if (step == 0) throw file.Error(node, "delta is 0");
        double steps = Math.Max(0, Math.Ceiling((limit.Data[0] - first) / step));
        if (!(steps <= TensorReader.MaxElements))
            throw file.Error(node, $"the range from {first} to {limit.Data[0]} by {step} would hold more than the {TensorReader.MaxElements} values mcuformer folds");
        int count = (int)steps;
        // Each value is the previous one plus delta in the element type, as ONNX Runtime accumulates it.
        var values = new double[count];
        double value = first;
        for (int i = 0; i < count; i++)
        {
            values[i] = value;
            value = ConstTensor.Represent(start.Type, value + step);
        }
        return start.With([count], values);
    }

    private static ConstTensor Unary(ConstTensor x, Func<double, double> f) =>
        x.With(x.Shape, x.Data.Select(v => ConstTensor.Represent(x.Type, f(v))).ToArray());

    /// <param name="resultType">the output type of a comparison; null when the result has the inputs' type</param>
    private static ConstTensor Binary(ConstTensor a, ConstTensor b, Func<double, double, double> f, DataType? resultType, OnnxNode node, OnnxModelFile file)
    {
        if (a.Type != b.Type) throw file.Error(node, $"operands have different element types ({a.Type} and {b.Type})");
        var shape = Broadcast.Shape(a.Shape, b.Shape, node, file);
        var ea = Broadcast.To(a, shape).Data;
        var eb = Broadcast.To(b, shape).Data;
        var type = resultType ?? a.Type;
        var data = new double[ea.Length];
        for (int i = 0; i < data.Length; i++) data[i] = ConstTensor.Represent(type, f(ea[i], eb[i]));
        return new ConstTensor(type, shape, data);
    }

    private static ConstTensor Gather(ConstTensor data, ConstTensor indices, int axisAttr, OnnxNode node, OnnxModelFile file)
    {
        int axis = Axis(node, axisAttr, data.Rank, file);
        int outer = Ir.Shapes.Product(data.Shape[..axis]);
        int inner = Ir.Shapes.Product(data.Shape[(axis + 1)..]);
        int dim = data.Shape[axis];
        var shape = FoldableShape(data.Shape[..axis].Concat(indices.Shape).Concat(data.Shape[(axis + 1)..]).ToArray(), node, file);
        var result = new double[Ir.Shapes.Product(shape)];
        int at = 0;
        for (int o = 0; o < outer; o++)
            foreach (var raw in indices.Data)
            {
                int index = (int)raw < 0 ? (int)raw + dim : (int)raw;
                if (index < 0 || index >= dim) throw file.Error(node, $"gather index {raw} is out of range for size {dim}");
                Array.Copy(data.Data, (o * dim + index) * inner, result, at, inner);
                at += inner;
            }
        return data.With(shape, result);
    }

    private static ConstTensor Concat(IReadOnlyList<ConstTensor> parts, int axisAttr, OnnxNode node, OnnxModelFile file)
    {
        int rank = parts[0].Rank;
        int axis = Axis(node, axisAttr, rank, file);
        if (parts.Any(p => p.Type != parts[0].Type)) throw file.Error(node, "inputs have different element types");
        var shape = (int[])parts[0].Shape.Clone();
        foreach (var part in parts)
            if (part.Rank != rank || Enumerable.Range(0, rank).Any(d => d != axis && part.Shape[d] != shape[d]))
                throw file.Error(node, $"input of shape {Ir.Shapes.Format(part.Shape)} does not concatenate with {Ir.Shapes.Format(shape)} along axis {axis}");
        long length = parts.Sum(p => (long)p.Shape[axis]);
        if (length > int.MaxValue) throw file.Error(node, $"the concatenation is {length} long on axis {axis}");
        shape[axis] = (int)length;
        FoldableShape(shape, node, file);
        int outer = Ir.Shapes.Product(shape[..axis]);
        var result = new List<double>(Ir.Shapes.Product(shape));
        for (int o = 0; o < outer; o++)
            foreach (var part in parts)
            {
                int block = Ir.Shapes.Product(part.Shape[axis..]);
                result.AddRange(part.Data.AsSpan(o * block, block).ToArray());
            }
        return parts[0].With(shape, result.ToArray());
    }

    public static ConstTensor Transpose(ConstTensor x, int[] perm)
    {
        var shape = perm.Select(p => x.Shape[p]).ToArray();
        var inStrides = Ir.Shapes.DenseStrides(x.Shape);
        var result = new double[x.ElementCount];
        var index = new int[shape.Length];
        for (int i = 0; i < result.Length; i++)
        {
            int source = 0;
            for (int d = 0; d < shape.Length; d++) source += index[d] * inStrides[perm[d]];
            result[i] = x.Data[source];
            for (int d = shape.Length - 1; d >= 0; d--)
            {
                if (++index[d] < shape[d]) break;
                index[d] = 0;
            }
        }
        return x.With(shape, result);
    }

    private static ConstTensor Slice(ConstTensor x, IReadOnlyList<ConstTensor?> inputs, OnnxNode node, OnnxModelFile file)
    {
        foreach (var (axis, start, count, step) in ShapeOps.SliceRanges(node, x.Shape, inputs, file))
            x = SliceAxis(x, axis, start, count, step);
        return x;
    }

    private static ConstTensor SliceAxis(ConstTensor x, int axis, int start, int count, int step)
    {
        var shape = (int[])x.Shape.Clone();
        shape[axis] = count;
        int outer = Ir.Shapes.Product(x.Shape[..axis]);
        int inner = Ir.Shapes.Product(x.Shape[(axis + 1)..]);
        var result = new double[Ir.Shapes.Product(shape)];
        int at = 0;
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < count; i++)
            {
                Array.Copy(x.Data, (o * x.Shape[axis] + start + i * step) * inner, result, at, inner);
                at += inner;
            }
        return x.With(shape, result);
    }
}

/// <summary>NumPy-style broadcasting of constants.</summary>
public static class Broadcast
{
    public static int[] Shape(int[] a, int[] b, OnnxNode node, OnnxModelFile file)
    {
        int rank = Math.Max(a.Length, b.Length);
        var shape = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int da = i - (rank - a.Length) >= 0 ? a[i - (rank - a.Length)] : 1;
            int db = i - (rank - b.Length) >= 0 ? b[i - (rank - b.Length)] : 1;
            if (da != db && da != 1 && db != 1)
                throw file.Error(node, $"shapes {Ir.Shapes.Format(a)} and {Ir.Shapes.Format(b)} do not broadcast");
            // A dimension of 1 stretches to the other one, even to 0 (an empty slice stays empty).
            shape[i] = da == 1 ? db : da;
        }
        return ConstantEvaluator.FoldableShape(shape, node, file);
    }

    public static ConstTensor To(ConstTensor x, int[] shape)
    {
        if (x.Shape.SequenceEqual(shape)) return x;
        int offset = shape.Length - x.Rank;
        var sourceStrides = Ir.Shapes.DenseStrides(x.Shape);
        var result = new double[Ir.Shapes.Product(shape)];
        var index = new int[shape.Length];
        for (int i = 0; i < result.Length; i++)
        {
            int source = 0;
            for (int d = 0; d < x.Rank; d++)
                if (x.Shape[d] != 1) source += index[d + offset] * sourceStrides[d];
            result[i] = x.Data[source];
            for (int d = shape.Length - 1; d >= 0; d--)
            {
                if (++index[d] < shape[d]) break;
                index[d] = 0;
            }
        }
        return x.With(shape, result);
    }
}
