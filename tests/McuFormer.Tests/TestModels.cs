using Google.Protobuf;
using Onnx;

namespace McuFormer.Tests;

/// <summary>Small ONNX models built in code, and paths to the committed fixtures.</summary>
public static class TestModels
{
    public static string RepositoryRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "McuFormer.sln"))) dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("repository root not found above " + AppContext.BaseDirectory);
        }
    }

    public static string Fixture => Path.Combine(RepositoryRoot, "models", "vit_fmnist.onnx");
    public static string Variants => Path.Combine(RepositoryRoot, "models", "variants");
    public const string FashionMnist = "/usr/share/datasets/fashion-mnist";

    private static TensorProto Floats(string name, int[] dims, Func<int, float> value)
    {
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        t.Dims.AddRange(dims.Select(d => (long)d));
        int count = dims.Aggregate(1, (a, b) => a * b);
        t.RawData = ByteString.CopyFrom(Enumerable.Range(0, count).SelectMany(i => BitConverter.GetBytes(value(i))).ToArray());
        return t;
    }

    public static TensorProto Int64s(string name, params long[] values)
    {
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
        t.Dims.Add(values.Length);
        t.Int64Data.AddRange(values);
        return t;
    }

    private static ValueInfoProto FloatValue(string name, params long[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims) shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1, Shape = shape } } };
    }

    public static NodeProto Node(string name, string op, string[] inputs, string[] outputs, params AttributeProto[] attributes)
    {
        var n = new NodeProto { Name = name, OpType = op };
        n.Input.AddRange(inputs);
        n.Output.AddRange(outputs);
        n.Attribute.AddRange(attributes);
        return n;
    }

    private static AttributeProto Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    private static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    /// <summary>
    /// An image (by default 28×28 gray) → patch embedding (by default 7×7: 16 tokens of 8) → mean
    /// over tokens → linear head of 10: the smallest model that goes through every stage. With
    /// pad, the patch embedding pads every side of the image by that many zero pixels.
    /// </summary>
    public static ModelProto PatchMeanHead(int channels = 1, int height = 28, int width = 28, int patch = 7, int pad = 0)
    {
        int tokens = (height + 2 * pad) / patch * ((width + 2 * pad) / patch);
        var graph = new GraphProto { Name = "patch_mean_head" };
        graph.Input.Add(FloatValue("input", 1, channels, height, width));
        graph.Output.Add(FloatValue("logits", 1, 10));
        graph.Initializer.Add(Floats("patch.weight", [8, channels, patch, patch], i => MathF.Sin(i * 0.37f) * 0.2f));
        graph.Initializer.Add(Floats("patch.bias", [8], i => 0.01f * i));
        graph.Initializer.Add(Int64s("tokens_shape", 1, 8, tokens));
        graph.Initializer.Add(Floats("head.weight", [10, 8], i => MathF.Cos(i * 0.91f)));
        graph.Initializer.Add(Floats("head.bias", [10], i => -0.05f * i));
        graph.Node.Add(Node("patch", "Conv", ["input", "patch.weight", "patch.bias"], ["embedded"],
            Ints("kernel_shape", patch, patch), Ints("strides", patch, patch), Ints("pads", pad, pad, pad, pad)));
        graph.Node.Add(Node("flatten", "Reshape", ["embedded", "tokens_shape"], ["flat"]));
        graph.Node.Add(Node("to_tokens", "Transpose", ["flat"], ["tokens"], Ints("perm", 0, 2, 1)));
        graph.Node.Add(Node("pool", "ReduceMean", ["tokens"], ["pooled"], Ints("axes", 1), Int("keepdims", 0)));
        graph.Node.Add(Node("head", "Gemm", ["pooled", "head.weight", "head.bias"], ["logits"], Int("transB", 1)));
        var model = new ModelProto { IrVersion = 8, Graph = graph, ProducerName = "mcuformer-tests" };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        return model;
    }

    /// <summary>The model with every node named nodeName(name) and every tensor tensorName(name), consistently.</summary>
    public static ModelProto Renamed(ModelProto model, Func<string, string> nodeName, Func<string, string> tensorName)
    {
        var renamed = model.Clone();
        var graph = renamed.Graph;
        foreach (var value in graph.Input.Concat(graph.Output).Concat(graph.ValueInfo)) value.Name = tensorName(value.Name);
        foreach (var tensor in graph.Initializer) tensor.Name = tensorName(tensor.Name);
        foreach (var node in graph.Node)
        {
            node.Name = nodeName(node.Name);
            for (int i = 0; i < node.Input.Count; i++) node.Input[i] = tensorName(node.Input[i]);
            for (int i = 0; i < node.Output.Count; i++) node.Output[i] = tensorName(node.Output[i]);
        }
        return renamed;
    }

    /// <summary>Inserts nodes after the node named, and makes the readers of its output read the last node's output instead.</summary>
    public static void InsertAfter(ModelProto model, string nodeName, params NodeProto[] nodes)
    {
        var graph = model.Graph;
        var node = graph.Node.Single(n => n.Name == nodeName);
        string value = node.Output[0], last = nodes[^1].Output[0];
        foreach (var reader in graph.Node)
            for (int i = 0; i < reader.Input.Count; i++)
                if (reader.Input[i] == value) reader.Input[i] = last;
        int at = graph.Node.IndexOf(node);
        for (int i = 0; i < nodes.Length; i++) graph.Node.Insert(at + 1 + i, nodes[i]);
    }

    public static string Write(ModelProto model, string folder, string name = "model.onnx")
    {
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, name);
        File.WriteAllBytes(path, model.ToByteArray());
        return path;
    }
}

/// <summary>A temporary folder removed after the test.</summary>
public sealed class TempFolder : IDisposable
{
    public TempFolder() => Directory.CreateDirectory(Path);
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "mcuformer-tests-" + Guid.NewGuid().ToString("N"));
    public string[] Files => Directory.GetFiles(Path, "*", SearchOption.AllDirectories);
    public void Dispose() => Directory.Delete(Path, recursive: true);
}
