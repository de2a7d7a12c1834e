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

    /// <summary>The folder holding the model, against which its external data paths are read.</summary>
    public string Folder => FolderOf(Path);

    private static string FolderOf(string path) => System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;

    /// <summary>The largest model file mcuformer reads: what protobuf can parse. Larger weights belong in external data.</summary>
    public const long MaxFileBytes = int.MaxValue;

    /// <summary>
    /// The most nodes a graph may have: a ViT-H export, shape arithmetic included, has a few thousand. Each node
    /// folded in ONNX Runtime costs a session, so many more would take minutes.
    /// </summary>
    public const int MaxNodes = 1 << 14;

    /// <summary>The most constant values of all initializers together (2 GiB as doubles).</summary>
    public const long MaxConstantElements = 1L << 28;

    public IReadOnlyDictionary<string, string> Metadata =>
        Proto.MetadataProps.ToDictionary(p => p.Key, p => p.Value);

    public ModelImportException Error(string message) => new($"{Path}: {message}");

    public ModelImportException Error(OnnxNode node, string message) => NodeError(Path, Opset, node, message);

    private static ModelImportException NodeError(string path, int opset, OnnxNode node, string message) =>
        new($"{path}: node '{node.Name}' ({node.OpType}, opset {opset}): {message}");

    /// <summary>A tensor of the model (an initializer or an attribute), its external data read from beside the model.</summary>
    public ConstTensor ReadTensor(TensorProto tensor) => TensorReader.Read(tensor, Folder, Path);

    /// <exception cref="ModelImportException">the file is missing, not a regular file, not ONNX, or breaks a rule of the format that the importer relies on</exception>
    public static OnnxModelFile Load(string path)
    {
        var bytes = ReadFile(path);
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

        if (proto.Graph.Node.Count > MaxNodes)
            throw new ModelImportException($"{path}: the graph has {proto.Graph.Node.Count} nodes, more than the {MaxNodes} mcuformer reads");
        var opsetEntries = proto.OpsetImport.Where(o => o.Domain is "" or "ai.onnx").ToList();
        if (opsetEntries.Count == 0) throw new ModelImportException($"{path}: the model imports no default ONNX opset");
        if (opsetEntries.Count > 1)
            throw new ModelImportException($"{path}: the model imports the default ONNX opset {opsetEntries.Count} times ({string.Join(", ", opsetEntries.Select(o => o.Version))})");
        long opsetVersion = opsetEntries[0].Version;
        if (opsetVersion < MinOpset || opsetVersion > MaxOpset)
            throw new ModelImportException($"{path}: opset {opsetVersion} is not supported (supported: {MinOpset} to {MaxOpset}); re-export with opset_version={Math.Clamp(opsetVersion, MinOpset, MaxOpset)}");
        int opset = (int)opsetVersion;
        var graph = proto.Graph;

        var nodes = new List<OnnxNode>(graph.Node.Count);
        foreach (var (n, i) in graph.Node.Select((n, i) => (n, i)))
        {
            var attributes = new Dictionary<string, AttributeProto>();
            var node = new OnnxNode(n.Name.Length > 0 ? n.Name : $"{n.OpType}_{i}", n.OpType, n.Domain, n.Input.ToList(), n.Output.ToList(), attributes);
            foreach (var attribute in n.Attribute)
                if (!attributes.TryAdd(attribute.Name, attribute))
                    throw NodeError(path, opset, node, $"attribute '{attribute.Name}' is given more than once");
            nodes.Add(node);
        }

        var custom = nodes.FirstOrDefault(n => n.Domain is not ("" or "ai.onnx"));
        if (custom is not null) throw NodeError(path, opset, custom, $"operator domain '{custom.Domain}' is not supported");
        foreach (var node in nodes)
            if (OperatorArity.Check(node) is { } problem) throw NodeError(path, opset, node, problem);

        var initializerNames = new HashSet<string>();
        foreach (var tensor in graph.Initializer)
            if (!initializerNames.Add(tensor.Name)) throw new ModelImportException($"{path}: initializer '{tensor.Name}' is defined more than once");
        var realInputs = graph.Input.Where(i => !initializerNames.Contains(i.Name)).ToList();
        if (realInputs.Count != 1)
            throw new ModelImportException($"{path}: expected exactly one input (the image), found {realInputs.Count}: {string.Join(", ", realInputs.Select(i => $"'{i.Name}'"))}");
        var input = realInputs[0];
        if (input.Name.Length == 0) throw new ModelImportException($"{path}: the input has an empty name");
        CheckSingleAssignment(path, opset, nodes, input.Name, initializerNames);

        long constantElements = graph.Initializer.Sum(t => Ir.Shapes.Count(TensorReader.Shape(t, path)));
        if (constantElements > MaxConstantElements)
            throw new ModelImportException($"{path}: the initializers hold {constantElements} values, more than the {MaxConstantElements} mcuformer takes");
        var initializers = graph.Initializer.ToDictionary(t => t.Name, t => TensorReader.Read(t, FolderOf(path), path));

        var inputShape = StaticShape(input, path);
        if (inputShape.Length != 4 || inputShape[0] != 1)
            throw new ModelImportException($"{path}: input '{input.Name}' has shape {Ir.Shapes.Format(inputShape)}; expected an image batch [1, channels, height, width]");

        return new OnnxModelFile(path, proto, opset, nodes, initializers, input.Name, inputShape,
            graph.Output.Select(o => o.Name).ToList());
    }

    /// <summary>The model file's bytes: a regular file (through any links) of at most <see cref="MaxFileBytes"/>.</summary>
    private static byte[] ReadFile(string path)
    {
        try
        {
            var file = RegularFile.RealPath(path);
            var (length, problem) = RegularFile.Length(file);
            if (problem is not null) throw new ModelImportException($"{path}: file {problem}");
            if (length > MaxFileBytes)
                throw new ModelImportException($"{path}: the file has {length} bytes, more than the {MaxFileBytes} an ONNX file holds (store large weights as external data)");
            return RegularFile.Read(file, 0, (int)length);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelImportException($"{path}: cannot read the file: {e.Message}");
        }
    }

    /// <summary>
    /// Every value has one definition, as ONNX requires: each output of a node is written by that node alone, and
    /// never names the input or an initializer.
    /// </summary>
    private static void CheckSingleAssignment(string path, int opset, List<OnnxNode> nodes, string inputName, HashSet<string> initializerNames)
    {
        var writers = new Dictionary<string, OnnxNode>();
        foreach (var node in nodes)
            foreach (var output in node.Outputs.Where(o => o.Length > 0))
            {
                if (output == inputName) throw NodeError(path, opset, node, $"writes '{output}', the model's input");
                if (initializerNames.Contains(output)) throw NodeError(path, opset, node, $"writes '{output}', which an initializer defines");
                if (!writers.TryAdd(output, node)) throw NodeError(path, opset, node, $"writes '{output}', which node '{writers[output].Name}' writes too");
            }
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
            if (dim.ValueCase != TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue)
                throw new ModelImportException(
                    $"{path}: input '{value.Name}' has a dynamic dimension {i} ('{dim.DimParam}'); mcuformer needs static shapes (export without dynamic_axes)");
            if (dim.DimValue <= 0)
                throw new ModelImportException($"{path}: input '{value.Name}' has dimension {i} of {dim.DimValue}; dimensions must be positive");
            if (dim.DimValue > OnnxImporter.MaxActivationElements)
                throw new ModelImportException($"{path}: input '{value.Name}' has dimension {i} of {dim.DimValue}, more than the {OnnxImporter.MaxActivationElements} elements an input may hold");
            dims[i] = (int)dim.DimValue;
        }
        if (Ir.Shapes.Count(dims) > OnnxImporter.MaxActivationElements)
            throw new ModelImportException($"{path}: input '{value.Name}' of shape {Ir.Shapes.Format(dims)} holds more than the {OnnxImporter.MaxActivationElements} elements an input may hold");
        return dims;
    }
}
