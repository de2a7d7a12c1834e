using Google.Protobuf;
using Onnx;

namespace McuFormer.Compiler.Bench;

/// <summary>
/// Builds a timm-style ViT as an ONNX model in memory, with deterministic random weights: a
/// benchmark model of any size (DeiT-tiny and larger) without committing a large file.
/// </summary>
public sealed record SyntheticVit(string Name, int Channels, int Height, int Width, int Patch, int Embed, int Depth, int Heads,
    int MlpRatio, int Classes)
{
    /// <summary>DeiT-tiny's transformer on a 240×240 RGB image with 16×16 patches: 225 patches + class token.</summary>
    public static readonly SyntheticVit DeitTiny240 = new("deit-tiny-240-p16", 3, 240, 240, 16, 192, 12, 3, 4, 1000);

    public ModelProto Build()
    {
        var random = new Random(240);
        var graph = new GraphProto { Name = Name };
        int tokens = Height / Patch * (Width / Patch) + 1, dh = Embed / Heads, hidden = Embed * MlpRatio;
        graph.Input.Add(Value("input", 1, Channels, Height, Width));
        graph.Output.Add(Value("logits", 1, Classes));
        int counter = 0;
        string Init(int[] dims, float scale)
        {
            var name = $"w{counter++}";
            var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
            t.Dims.AddRange(dims.Select(d => (long)d));
            var bytes = new byte[dims.Aggregate(1, (a, b) => a * b) * 4];
            for (int i = 0; i < bytes.Length; i += 4)
                BitConverter.TryWriteBytes(bytes.AsSpan(i), (float)((random.NextDouble() * 2 - 1) * scale));
            t.RawData = ByteString.CopyFrom(bytes);
            graph.Initializer.Add(t);
            return name;
        }
        string Ints(params long[] values)
        {
            var name = $"c{counter++}";
            var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
            t.Dims.Add(values.Length);
            t.Int64Data.AddRange(values);
            graph.Initializer.Add(t);
            return name;
        }
        string Scalar(float value)
        {
            var name = Init([], 0);
            graph.Initializer[^1].RawData = ByteString.CopyFrom(BitConverter.GetBytes(value));
            return name;
        }
        string Node(string op, string[] inputs, params AttributeProto[] attributes)
        {
            var output = $"v{counter++}";
            var node = new NodeProto { Name = $"{op}_{counter}", OpType = op };
            node.Input.AddRange(inputs);
            node.Output.Add(output);
            node.Attribute.AddRange(attributes);
            graph.Node.Add(node);
            return output;
        }
        string Linear(string x, int input, int output) =>
            Node("Add", [Node("MatMul", [x, Init([input, output], 1f / MathF.Sqrt(input))]), Init([output], 0.02f)]);
        string LayerNorm(string x) =>
            Node("LayerNormalization", [x, Init([Embed], 0.1f), Init([Embed], 0.1f)], Attr("axis", -1), Attr("epsilon", 1e-6f));

        var x = Node("Conv", ["input", Init([Embed, Channels, Patch, Patch], 1f / Patch), Init([Embed], 0.02f)],
            Attr("kernel_shape", Patch, Patch), Attr("strides", Patch, Patch));
        x = Node("Transpose", [Node("Reshape", [x, Ints(1, Embed, tokens - 1)])], Attr("perm", 0, 2, 1));
        x = Node("Concat", [Init([1, 1, Embed], 0.02f), x], Attr("axis", 1));
        x = Node("Add", [x, Init([1, tokens, Embed], 0.02f)]);
        for (int block = 0; block < Depth; block++)
        {
            var qkv = Node("Transpose", [Node("Reshape", [Linear(LayerNorm(x), Embed, 3 * Embed), Ints(1, tokens, 3, Heads, dh)])],
                Attr("perm", 2, 0, 3, 1, 4));
            string Part(long index) => Node("Gather", [qkv, Ints(index)], Attr("axis", 0));
            var (q, k, v) = (Part(0), Part(1), Part(2));
            var scores = Node("Mul", [Node("MatMul", [q, Node("Transpose", [k], Attr("perm", 0, 1, 2, 4, 3))]), Scalar(1f / MathF.Sqrt(dh))]);
            var attention = Node("MatMul", [Node("Softmax", [scores], Attr("axis", -1)), v]);
            attention = Node("Reshape", [Node("Transpose", [attention], Attr("perm", 0, 1, 3, 2, 4)), Ints(1, tokens, Embed)]);
            x = Node("Add", [x, Linear(attention, Embed, Embed)]);
            var h = Linear(LayerNorm(x), Embed, hidden);
            var gelu = Node("Mul", [Node("Mul", [h, Node("Add", [Node("Erf", [Node("Div", [h, Scalar(MathF.Sqrt(2))])]), Scalar(1)])]), Scalar(0.5f)]);
            x = Node("Add", [x, Linear(gelu, hidden, Embed)]);
        }
        var first = $"c{counter++}";
        graph.Initializer.Add(new TensorProto { Name = first, DataType = (int)TensorProto.Types.DataType.Int64, Int64Data = { 0 } });
        var cls = Node("Gather", [LayerNorm(x), first], Attr("axis", 1));
        var head = new NodeProto { Name = "head", OpType = "Gemm" };
        head.Input.AddRange([cls, Init([Classes, Embed], 0.05f), Init([Classes], 0.02f)]);
        head.Output.Add("logits");
        head.Attribute.Add(Attr("transB", 1));
        graph.Node.Add(head);
        var model = new ModelProto { IrVersion = 8, Graph = graph, ProducerName = "mcuformer-bench" };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        return model;
    }

    private static ValueInfoProto Value(string name, params long[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims) shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1, Shape = shape } } };
    }

    private static AttributeProto Attr(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name };
        if (values.Length == 1 && name is "axis" or "transB")
        {
            a.Type = AttributeProto.Types.AttributeType.Int;
            a.I = values[0];
        }
        else
        {
            a.Type = AttributeProto.Types.AttributeType.Ints;
            a.Ints.AddRange(values);
        }
        return a;
    }

    private static AttributeProto Attr(string name, float value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };
}
