using Google.Protobuf;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace McuFormer.Fuzz;

/// <summary>Edits of an ONNX graph that the structured mutations share.</summary>
internal static class GraphEdits
{
    /// <summary>Operators whose output is an activation in every committed model (never a folded constant).</summary>
    private static readonly HashSet<string> ComputeOps = ["MatMul", "Gemm", "Add", "LayerNormalization", "Softmax", "Conv", "Gelu", "Erf", "Mul"];

    public static T Pick<T>(this Random random, IReadOnlyList<T> items) => items[random.Next(items.Count)];

    /// <summary>A value that a compute node writes, or null when the graph has none.</summary>
    public static string? ActivationValue(GraphProto graph, Random random)
    {
        var produced = graph.Node.Where(n => ComputeOps.Contains(n.OpType) && n.Output.Count > 0).Select(n => n.Output[0]).ToList();
        return produced.Count == 0 ? null : random.Pick(produced);
    }

    /// <summary>
    /// Inserts nodes that read <paramref name="value"/> right after the node that writes it, and makes every
    /// other reader (and the graph output) read their last output instead.
    /// </summary>
    /// <param name="build">the nodes to insert, given the value; returns them and the value they end in</param>
    public static void InsertAfter(GraphProto graph, string value, Func<string, (List<NodeProto> Nodes, string Output)> build)
    {
        var (nodes, output) = build(value);
        foreach (var node in graph.Node)
            for (int i = 0; i < node.Input.Count; i++)
                if (node.Input[i] == value) node.Input[i] = output;
        foreach (var graphOutput in graph.Output.Where(o => o.Name == value)) graphOutput.Name = output;
        int producer = graph.Node.ToList().FindIndex(n => n.Output.Contains(value));
        for (int i = 0; i < nodes.Count; i++) graph.Node.Insert(producer + 1 + i, nodes[i]);
    }

    public static NodeProto Node(string op, string name, IEnumerable<string> inputs, params string[] outputs)
    {
        var node = new NodeProto { Name = name, OpType = op };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        return node;
    }

    public static TensorProto Int64s(string name, params long[] values)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)DataType.Int64 };
        tensor.Dims.Add(values.Length);
        tensor.Int64Data.AddRange(values);
        return tensor;
    }

    public static TensorProto FloatScalar(string name, float value) =>
        new() { Name = name, DataType = (int)DataType.Float, RawData = ByteString.CopyFrom(BitConverter.GetBytes(value)) };

    /// <summary>The float initializers stored in the file itself (raw or typed).</summary>
    public static List<TensorProto> InlineFloats(GraphProto graph) =>
        graph.Initializer.Where(t => t.DataType == (int)DataType.Float && t.DataLocation != TensorProto.Types.DataLocation.External).ToList();

    /// <summary>
    /// An initializer stored as external data: one that already is, or a float initializer moved into a new
    /// data file of the case (name "weights.bin", after some leading bytes). Null when the graph has neither.
    /// </summary>
    public static TensorProto? ExternalTensor(FuzzCase fuzzCase, Random random)
    {
        var graph = fuzzCase.Model.Graph;
        var external = graph.Initializer.Where(t => t.DataLocation == TensorProto.Types.DataLocation.External).ToList();
        if (external.Count > 0) return random.Pick(external);
        var inline = InlineFloats(graph).Where(t => t.RawData.Length > 0).ToList();
        if (inline.Count == 0) return null;
        var tensor = random.Pick(inline);
        var bytes = tensor.RawData.ToByteArray();
        fuzzCase.Files["weights.bin"] = [.. new byte[16], .. bytes];
        tensor.RawData = ByteString.Empty;
        tensor.DataLocation = TensorProto.Types.DataLocation.External;
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = "weights.bin" });
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = "16" });
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = bytes.Length.ToString() });
        return tensor;
    }

    /// <summary>Sets (or adds) an external-data entry of the tensor.</summary>
    public static void SetExternal(TensorProto tensor, string key, string value)
    {
        var entry = tensor.ExternalData.FirstOrDefault(e => e.Key == key);
        if (entry is null) tensor.ExternalData.Add(new StringStringEntryProto { Key = key, Value = value });
        else entry.Value = value;
    }

    /// <summary>Removes every external-data entry of the key.</summary>
    public static void RemoveExternal(TensorProto tensor, string key)
    {
        foreach (var entry in tensor.ExternalData.Where(e => e.Key == key).ToList()) tensor.ExternalData.Remove(entry);
    }

    /// <summary>Renames a value everywhere the graph names it.</summary>
    public static void Rename(GraphProto graph, string from, string to)
    {
        foreach (var node in graph.Node)
        {
            for (int i = 0; i < node.Input.Count; i++)
                if (node.Input[i] == from) node.Input[i] = to;
            for (int i = 0; i < node.Output.Count; i++)
                if (node.Output[i] == from) node.Output[i] = to;
        }
        foreach (var value in graph.Input.Concat(graph.Output).Where(v => v.Name == from)) value.Name = to;
        foreach (var tensor in graph.Initializer.Where(t => t.Name == from)) tensor.Name = to;
    }
}
