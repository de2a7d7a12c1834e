using Google.Protobuf;
using Onnx;

namespace McuFormer.Model.Onnx;

/// <summary>One node of the source graph, detached from protobuf so that passes can rewrite the graph.</summary>
public sealed record OnnxNode(string Name, string OpType, string Domain, IReadOnlyList<string> Inputs, IReadOnlyList<string> Outputs,
    IReadOnlyDictionary<string, AttributeProto> Attributes)
{
    public bool HasInput(int i) => i < Inputs.Count && Inputs[i].Length > 0;
}

/// <summary>A parsed and checked ONNX file: its graph, opset, constants and the single image input.</summary>
public sealed class OnnxModelFile
{
    public const int MinOpset = 13;
    public const int MaxOpset = 21;

    private OnnxModelFile(string path, ModelProto proto, int opset, List<OnnxNode> nodes,
        Dictionary<string, ConstTensor> initializers, string inputName, int[] inputShape, IReadOnlyList<string> outputs)
    {
        Path = path;
        Proto = proto;
        Opset = opset;
        Nodes = nodes;
        Initializers = initializers;
        InputName = inputName;
        InputShape = inputShape;
        Outputs = outputs;
    }

    public string Path { get; }
    public ModelProto Proto { get; }
    public int Opset { get; }
    public List<OnnxNode> Nodes { get; }
    public Dictionary<string, ConstTensor> Initializers { get; }
    public string InputName { get; }
    public int[] InputShape { get; }
    public IReadOnlyList<string> Outputs { get; }
    public string FileName => System.IO.Path.GetFileName(Path);

    public IReadOnlyDictionary<string, string> Metadata =>
        Proto.MetadataProps.ToDictionary(p => p.Key, p => p.Value);

    public ModelImportException Error(string message) => new($"{Path}: {message}");

    public ModelImportException Error(OnnxNode node, string message) =>
        new($"{Path}: node '{node.Name}' ({node.OpType}, opset {Opset}): {message}");

    public static OnnxModelFile Load(string path)
    {
        if (!File.Exists(path)) throw new ModelImportException($"{path}: file not found");
        var bytes = File.ReadAllBytes(path);
        ModelProto proto;
        try
        {
            proto = ModelProto.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new ModelImportException($"{path}: not a readable ONNX model (truncated or not protobuf: {e.Message.TrimEnd('.')})");
        }
        if (proto.Graph is null || proto.Graph.Node.Count == 0 || proto.IrVersion <= 0)
            throw new ModelImportException($"{path}: not an ONNX model (no graph or IR version in the file)");

        var opsetEntry = proto.OpsetImport.FirstOrDefault(o => o.Domain is "" or "ai.onnx");
        if (opsetEntry is null) throw new ModelImportException($"{path}: the model imports no default ONNX opset");
        int opset = (int)opsetEntry.Version;
        var graph = proto.Graph;

        var nodes = graph.Node.Select((n, i) => new OnnxNode(
            n.Name.Length > 0 ? n.Name : $"{n.OpType}_{i}", n.OpType, n.Domain, n.Input.ToList(), n.Output.ToList(),
            n.Attribute.ToDictionary(a => a.Name))).ToList();

        if (opset < MinOpset || opset > MaxOpset)
            throw new ModelImportException($"{path}: opset {opset} is not supported (supported: {MinOpset} to {MaxOpset}); re-export with opset_version={Math.Clamp(opset, MinOpset, MaxOpset)}");
        var custom = nodes.FirstOrDefault(n => n.Domain is not ("" or "ai.onnx"));
        if (custom is not null)
            throw new ModelImportException($"{path}: node '{custom.Name}' ({custom.OpType}, opset {opset}): operator domain '{custom.Domain}' is not supported");

        var folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        var initializers = new Dictionary<string, ConstTensor>();
        foreach (var tensor in graph.Initializer)
            initializers[tensor.Name] = TensorReader.Read(tensor, folder, path);

        var realInputs = graph.Input.Where(i => !initializers.ContainsKey(i.Name)).ToList();
        if (realInputs.Count != 1)
            throw new ModelImportException($"{path}: expected exactly one input (the image), found {realInputs.Count}: {string.Join(", ", realInputs.Select(i => i.Name))}");
        var input = realInputs[0];
        var inputShape = StaticShape(input, path);
        if (inputShape.Length != 4 || inputShape[0] != 1)
            throw new ModelImportException($"{path}: input '{input.Name}' has shape {Ir.Shapes.Format(inputShape)}; expected an image batch [1, channels, height, width]");

        return new OnnxModelFile(path, proto, opset, nodes, initializers, input.Name, inputShape,
            graph.Output.Select(o => o.Name).ToList());
    }

    private static int[] StaticShape(ValueInfoProto value, string path)
    {
        var tensorType = value.Type?.TensorType;
        if (tensorType?.Shape is null)
            throw new ModelImportException($"{path}: input '{value.Name}' has no shape; export with static shapes");
        if (tensorType.ElemType != (int)TensorProto.Types.DataType.Float)
            throw new ModelImportException($"{path}: input '{value.Name}' is not float32");
        var dims = new int[tensorType.Shape.Dim.Count];
        for (int i = 0; i < dims.Length; i++)
        {
            var dim = tensorType.Shape.Dim[i];
            if (dim.ValueCase != TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue || dim.DimValue <= 0)
                throw new ModelImportException(
                    $"{path}: input '{value.Name}' has a dynamic dimension {i} ('{dim.DimParam}'); mcuformer needs static shapes (export without dynamic_axes)");
            dims[i] = (int)dim.DimValue;
        }
        return dims;
    }
}
