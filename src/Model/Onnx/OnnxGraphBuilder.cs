using Google.Protobuf;
using Onnx;

namespace McuFormer.Model.Onnx;

/// <summary>
/// Writes an ONNX graph node by node with float and int64 initializers and generated value
/// names: enough to emit the ViTs the search materialises and the benchmarks generate.
/// </summary>
public sealed class OnnxGraphBuilder
{
    private readonly GraphProto _graph;
    private int _counter;

    public OnnxGraphBuilder(string name) => _graph = new GraphProto { Name = name };

    public void Input(string name, params long[] dims) => _graph.Input.Add(Value(name, dims));

    public void Output(string name, params long[] dims) => _graph.Output.Add(Value(name, dims));

    /// <summary>A float initializer holding <paramref name="values"/> (row-major) with the given dimensions.</summary>
    public string Floats(ReadOnlySpan<float> values, params int[] dims)
    {
        long count = dims.Aggregate(1L, (a, b) => a * b);
        if (count != values.Length)
            throw new ArgumentException($"{values.Length} values do not fill dimensions [{string.Join(", ", dims)}]");
        var name = $"w{_counter++}";
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        tensor.Dims.AddRange(dims.Select(d => (long)d));
        var bytes = new byte[values.Length * sizeof(float)];
        for (int i = 0; i < values.Length; i++)
            BitConverter.TryWriteBytes(bytes.AsSpan(i * sizeof(float)), values[i]);
        tensor.RawData = ByteString.CopyFrom(bytes);
        _graph.Initializer.Add(tensor);
        return name;
    }

    public string Scalar(float value) => Floats([value]);

    public string Ints(params long[] values)
    {
        var name = $"c{_counter++}";
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
        tensor.Dims.Add(values.Length);
        tensor.Int64Data.AddRange(values);
        _graph.Initializer.Add(tensor);
        return name;
    }

    /// <summary>A 0-d int64 initializer (a Gather index that drops the axis).</summary>
    public string IntScalar(long value)
    {
        var name = $"c{_counter++}";
        _graph.Initializer.Add(new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64, Int64Data = { value } });
        return name;
    }

    /// <summary>Appends a node and returns its output name (<paramref name="output"/> or a generated one).</summary>
    public string Node(string op, string[] inputs, AttributeProto[]? attributes = null, string? output = null)
    {
        output ??= $"v{_counter++}";
        Append(op, inputs, [output], attributes);
        return output;
    }

    /// <summary>Appends a node with several outputs (Split) and returns their generated names.</summary>
    public string[] Node(string op, string[] inputs, int outputs, AttributeProto[]? attributes = null)
    {
        var names = Enumerable.Range(0, outputs).Select(_ => $"v{_counter++}").ToArray();
        Append(op, inputs, names, attributes);
        return names;
    }

    private void Append(string op, string[] inputs, string[] outputs, AttributeProto[]? attributes)
    {
        var node = new NodeProto { Name = $"{op}_{_counter++}", OpType = op };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        if (attributes is not null) node.Attribute.AddRange(attributes);
        _graph.Node.Add(node);
    }

    public ModelProto Build(string producer, int opset = 17)
    {
        // The IR version that ONNX released with the opset: 8 up to opset 18, 9 for 19 and 20, 10 for 21.
        var model = new ModelProto { IrVersion = opset >= 21 ? 10 : opset >= 19 ? 9 : 8, Graph = _graph, ProducerName = producer };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        return model;
    }

    public static AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto IntList(string name, params long[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.AddRange(values);
        return attribute;
    }

    public static AttributeProto Float(string name, float value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    public static AttributeProto String(string name, string value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(value) };

    private static ValueInfoProto Value(string name, long[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims) shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1, Shape = shape } } };
    }
}
