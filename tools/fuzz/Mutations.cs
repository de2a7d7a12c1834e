using System.Buffers.Binary;
using Google.Protobuf;
using Onnx;
using static McuFormer.Fuzz.GraphEdits;
using AttributeType = Onnx.AttributeProto.Types.AttributeType;
using DataType = Onnx.TensorProto.Types.DataType;

namespace McuFormer.Fuzz;

/// <summary>One way to break a model. Weight is how often it is drawn relative to the others.</summary>
public sealed record Mutation(string Name, int Weight, Action<FuzzCase, Random> Apply);

/// <summary>The mutations: byte flips and truncations of the file, and structured edits of its graph and files.</summary>
public static class Mutations
{
    public static readonly IReadOnlyList<Mutation> All =
    [
        new("flip-bytes", 10, FlipBytes),
        new("truncate", 5, Truncate),
        new("duplicate-attribute", 4, DuplicateAttribute),
        new("duplicate-initializer", 4, DuplicateInitializer),
        new("duplicate-external-key", 3, DuplicateExternalKey),
        new("huge-dim", 8, HugeDim),
        new("bad-external-range", 5, BadExternalRange),
        new("bad-external-location", 3, BadExternalLocation),
        new("perm-out-of-range", 4, PermOutOfRange),
        new("slice-length-mismatch", 4, SliceLengthMismatch),
        new("wrong-arity", 6, WrongArity),
        new("wrong-attribute-type", 5, WrongAttributeType),
        new("extreme-attribute", 4, ExtremeAttribute),
        new("nudged-attribute", 6, NudgedAttribute),
        new("bad-output", 4, BadOutput),
        new("non-finite-weights", 5, NonFiniteWeights),
        new("non-finite-calibration", 2, NonFiniteCalibration),
        new("odd-input-name", 4, OddInputName),
        new("deep-chain", 2, DeepChain),
        new("add-dag-chain", 2, AddDagChain),
        new("long-op-chain", 2, LongOpChain),
        new("huge-folded-constant", 3, HugeFoldedConstant),
        new("external-symlink", 3, ExternalSymlink),
        new("external-fifo", 1, ExternalFifo),
        new("model-not-regular", 2, ModelNotRegular),
        new("oversized-external", 2, OversizedExternal),
        new("bad-opset", 2, BadOpset),
        new("broken-ssa", 3, BrokenSsa),
    ];

    /// <summary>Draws a mutation by weight.</summary>
    public static Mutation Draw(Random random)
    {
        int ticket = random.Next(All.Sum(m => m.Weight));
        foreach (var mutation in All)
            if ((ticket -= mutation.Weight) < 0) return mutation;
        throw new InvalidOperationException("weights changed while drawing");
    }

    /// <summary>Integers that break size arithmetic: zero, negatives, and values at and beyond 2^31, 2^32 and 2^63.</summary>
    private static readonly long[] ExtremeIntegers =
        [0, -1, -2, -7, int.MaxValue, 1L << 31, (1L << 32) - 1, (1L << 32) + 28, 1L << 40, 3037000500, long.MaxValue, long.MinValue, 65536];

    private static readonly float[] HostileFloats =
        [float.NaN, float.PositiveInfinity, float.NegativeInfinity, 1e38f, -1e38f, float.MaxValue, 1e-45f, 1e-38f, 0f];

    private static void FlipBytes(FuzzCase c, Random random)
    {
        int flips = 1 + random.Next(8);
        c.ByteMutations.Add(bytes =>
        {
            var flipped = (byte[])bytes.Clone();
            for (int i = 0; i < flips; i++) flipped[random.Next(flipped.Length)] ^= (byte)(1 + random.Next(255));
            return flipped;
        });
    }

    private static void Truncate(FuzzCase c, Random random) => c.ByteMutations.Add(bytes => bytes[..random.Next(bytes.Length)]);

    private static void DuplicateAttribute(FuzzCase c, Random random)
    {
        var nodes = c.Model.Graph.Node.Where(n => n.Attribute.Count > 0).ToList();
        if (nodes.Count == 0) return;
        var node = random.Pick(nodes);
        var copy = random.Pick(node.Attribute).Clone();
        if (random.Next(2) == 0)
        {
            copy.I += 1;
            copy.Ints.Add(1);
        }
        node.Attribute.Add(copy);
    }

    private static void DuplicateInitializer(FuzzCase c, Random random)
    {
        var graph = c.Model.Graph;
        if (graph.Initializer.Count == 0) return;
        var copy = random.Pick(graph.Initializer).Clone();
        if (random.Next(2) == 0) copy.Dims.Add(2);
        graph.Initializer.Insert(random.Next(graph.Initializer.Count + 1), copy);
    }

    private static void DuplicateExternalKey(FuzzCase c, Random random)
    {
        if (ExternalTensor(c, random) is not { ExternalData.Count: > 0 } tensor) return;
        var entry = random.Pick(tensor.ExternalData).Clone();
        if (random.Next(2) == 0) entry.Value = entry.Key == "location" ? "other.bin" : "0";
        tensor.ExternalData.Add(entry);
    }

    private static void HugeDim(FuzzCase c, Random random)
    {
        var graph = c.Model.Graph;
        if (graph.Input.Count == 0 || graph.Initializer.Count == 0) return;
        long value = random.Pick(ExtremeIntegers);
        switch (random.Next(4))
        {
            case 0:
                var dims = graph.Input[0].Type?.TensorType?.Shape?.Dim;
                if (dims is not { Count: > 0 }) return;
                dims[random.Next(dims.Count)].DimValue = value;
                break;
            case 1:
                var tensor = random.Pick(graph.Initializer);
                if (tensor.Dims.Count == 0 || random.Next(3) == 0) tensor.Dims.Add(value);
                else if (random.Next(2) == 0) tensor.Dims[random.Next(tensor.Dims.Count)] = value;
                else
                {
                    // Each dimension fits an int, their product does not.
                    tensor.Dims.Clear();
                    tensor.Dims.AddRange([65536, 65536, random.Next(2) == 0 ? 1 : 3]);
                }
                break;
            default:
                // Shape arithmetic: a value of an int64 initializer (a Reshape target, Slice bounds, axes, ...).
                var shapes = graph.Initializer.Where(t => t.DataType == (int)DataType.Int64 && (t.Int64Data.Count > 0 || t.RawData.Length >= 8)).ToList();
                if (shapes.Count == 0) return;
                var shape = random.Pick(shapes);
                if (shape.Int64Data.Count > 0) shape.Int64Data[random.Next(shape.Int64Data.Count)] = value;
                else
                {
                    var raw = shape.RawData.ToByteArray();
                    BinaryPrimitives.WriteInt64LittleEndian(raw.AsSpan(8 * random.Next(raw.Length / 8)), value);
                    shape.RawData = ByteString.CopyFrom(raw);
                }
                break;
        }
    }

    private static void BadExternalRange(FuzzCase c, Random random)
    {
        if (ExternalTensor(c, random) is not { } tensor) return;
        string[] bad = ["", "-1", "abc", "1.5", " 12", "0x10", "+5", "1e9", "٣", "99999999999999999999", "9223372036854775807", "2147483648", "4294967296"];
        switch (random.Next(3))
        {
            case 0: SetExternal(tensor, "offset", random.Pick(bad)); break;
            case 1: SetExternal(tensor, "length", random.Pick(bad)); break;
            default:
                // offset + length overflows a long.
                SetExternal(tensor, "offset", (long.MaxValue - 4).ToString());
                SetExternal(tensor, "length", "16");
                break;
        }
    }

    private static void BadExternalLocation(FuzzCase c, Random random)
    {
        if (ExternalTensor(c, random) is not { } tensor) return;
        c.Files["sub/inside.bin"] = new byte[64];
        string[] locations = ["", "/etc/passwd", "../../../etc/passwd", "a\0b", "missing.bin", ".", "sub", "sub/", new string('d', 300), "sub/../sub/inside.bin"];
        SetExternal(tensor, "location", random.Pick(locations));
    }

    private static void PermOutOfRange(FuzzCase c, Random random)
    {
        var graph = c.Model.Graph;
        var transposes = graph.Node.Where(n => n.OpType == "Transpose").ToList();
        NodeProto node;
        if (transposes.Count > 0) node = random.Pick(transposes);
        else
        {
            if (ActivationValue(graph, random) is not { } value) return;
            node = Node("Transpose", "fuzz_transpose", [value], "fuzz_transposed");
            InsertAfter(graph, value, v => ([node], "fuzz_transposed"));
        }
        var perm = node.Attribute.FirstOrDefault(a => a.Name == "perm");
        if (perm is null) node.Attribute.Add(perm = new AttributeProto { Name = "perm", Type = AttributeType.Ints, Ints = { 1, 0 } });
        int rank = perm.Ints.Count;
        long[] broken = random.Next(6) switch
        {
            0 => [.. Enumerable.Range(0, rank - 1).Select(i => (long)i), rank],
            1 => [.. Enumerable.Repeat(0L, rank)],
            2 => [-1, .. Enumerable.Range(1, rank - 1).Select(i => (long)i)],
            3 => [.. Enumerable.Range(0, rank - 1).Select(i => (long)i)],
            4 => [.. Enumerable.Range(0, rank + 1).Select(i => (long)i)],
            _ => [.. Enumerable.Range(0, rank).Select(i => (1L << 32) + i)],
        };
        perm.Ints.Clear();
        perm.Ints.AddRange(broken);
    }

    private static void SliceLengthMismatch(FuzzCase c, Random random)
    {
        var graph = c.Model.Graph;
        var slices = graph.Node.Where(n => n.OpType == "Slice" && n.Input.Count >= 3).ToList();
        NodeProto node;
        if (slices.Count > 0) node = random.Pick(slices);
        else
        {
            if (ActivationValue(graph, random) is not { } value) return;
            graph.Initializer.AddRange([Int64s("fuzz_starts", 0), Int64s("fuzz_ends", 1), Int64s("fuzz_axes", -1)]);
            node = Node("Slice", "fuzz_slice", [value, "fuzz_starts", "fuzz_ends", "fuzz_axes"], "fuzz_sliced");
            InsertAfter(graph, value, v => ([node], "fuzz_sliced"));
        }
        int input = 1 + random.Next(4);
        while (node.Input.Count <= input) node.Input.Add("");
        long[] values = random.Next(5) switch
        {
            0 => [],
            1 => [0, 1],
            2 => [0, 1, 2, 3, 4],
            3 => [-1, -1],
            _ => [random.Pick(ExtremeIntegers)],
        };
        var name = $"fuzz_slice_input_{input}";
        graph.Initializer.Add(Int64s(name, values));
        node.Input[input] = name;
    }

    private static void WrongArity(FuzzCase c, Random random)
    {
        var graph = c.Model.Graph;
        var node = random.Pick(graph.Node);
        switch (random.Next(6))
        {
            case 0: if (node.Input.Count > 0) node.Input.RemoveAt(node.Input.Count - 1); break;
            case 1: node.Input.Clear(); break;
            case 2: node.Input.Add(random.Pick(graph.Node).Output.FirstOrDefault() ?? "fuzz_missing"); break;
            case 3: node.Output.Clear(); break;
            case 4: node.Output.Add($"fuzz_extra_output_{random.Next(100)}"); break;
            default: if (node.Input.Count > 0) node.Input[random.Next(node.Input.Count)] = ""; break;
        }
    }

    private static void WrongAttributeType(FuzzCase c, Random random)
    {
        var nodes = c.Model.Graph.Node.Where(n => n.Attribute.Count > 0).ToList();
        if (nodes.Count == 0) return;
        var attributes = random.Pick(nodes).Attribute;
        int index = random.Next(attributes.Count);
        var original = attributes[index];
        var type = random.Pick(new[] { AttributeType.Float, AttributeType.Int, AttributeType.String, AttributeType.Tensor, AttributeType.Graph, AttributeType.Floats, AttributeType.Ints, AttributeType.Undefined });
        switch (random.Next(3))
        {
            case 0:
                // Another type, with a value in that type's field only.
                var changed = new AttributeProto { Name = original.Name, Type = type };
                switch (type)
                {
                    case AttributeType.Float: changed.F = 1.5f; break;
                    case AttributeType.Int: changed.I = 3; break;
                    case AttributeType.String: changed.S = ByteString.CopyFromUtf8("x"); break;
                    case AttributeType.Tensor: changed.T = FloatScalar("t", 2f); break;
                    case AttributeType.Graph: changed.G = new GraphProto { Name = "g" }; break;
                    case AttributeType.Floats: changed.Floats.Add(1.5f); break;
                    case AttributeType.Ints: changed.Ints.AddRange([1, 2]); break;
                }
                attributes[index] = changed;
                break;
            case 1:
                // Another type named, the value left in the old type's field.
                original.Type = type;
                break;
            default:
                // The type kept, no value.
                attributes[index] = new AttributeProto { Name = original.Name, Type = original.Type };
                break;
        }
    }

    private static void ExtremeAttribute(FuzzCase c, Random random)
    {
        var attributes = c.Model.Graph.Node.SelectMany(n => n.Attribute).Where(a => a.Type is AttributeType.Int or AttributeType.Ints).ToList();
        if (attributes.Count == 0) return;
        var attribute = random.Pick(attributes);
        long value = random.Pick(ExtremeIntegers);
        if (attribute.Type == AttributeType.Int) attribute.I = value;
        else if (attribute.Ints.Count > 0) attribute.Ints[random.Next(attribute.Ints.Count)] = value;
        else attribute.Ints.Add(value);
    }

    /// <summary>An integer attribute set to a small value, -3 to 3: another axis, perm entry, flag or size that is still plausible.</summary>
    private static void NudgedAttribute(FuzzCase c, Random random)
    {
        var attributes = c.Model.Graph.Node.SelectMany(n => n.Attribute).Where(a => a.Type is AttributeType.Int or AttributeType.Ints).ToList();
        if (attributes.Count == 0) return;
        var attribute = random.Pick(attributes);
        long value = random.Next(-3, 4);
        if (attribute.Type == AttributeType.Int) attribute.I = value;
        else if (attribute.Ints.Count > 0) attribute.Ints[random.Next(attribute.Ints.Count)] = value;
    }

    private static void BadOutput(FuzzCase c, Random random)
    {
        var graph = c.Model.Graph;
        if (graph.Output.Count == 0 || graph.Input.Count == 0 || graph.Initializer.Count == 0) return;
        var output = graph.Output[0];
        switch (random.Next(6))
        {
            case 0: output.Name = "produced_by_no_node"; break;
            case 1: output.Name = graph.Input[0].Name; break;
            case 2: output.Name = random.Pick(graph.Initializer).Name; break;
            case 3: graph.Output.Add(output.Clone()); break;
            case 4: graph.Output.Clear(); break;
            default: output.Name = ""; break;
        }
    }

    private static void NonFiniteWeights(FuzzCase c, Random random)
    {
        var tensors = InlineFloats(c.Model.Graph);
        if (tensors.Count == 0) return;
        var tensor = random.Pick(tensors);
        float value = random.Pick(HostileFloats);
        bool all = random.Next(3) == 0;
        if (tensor.FloatData.Count > 0)
        {
            for (int i = 0; i < tensor.FloatData.Count; i++)
                if (all || random.Next(tensor.FloatData.Count) == 0) tensor.FloatData[i] = value;
        }
        else
        {
            var raw = tensor.RawData.ToByteArray();
            int count = raw.Length / 4;
            for (int i = 0; i < count; i++)
                if (all || random.Next(count) == 0 || i == count - 1) BinaryPrimitives.WriteSingleLittleEndian(raw.AsSpan(4 * i), value);
            tensor.RawData = ByteString.CopyFrom(raw);
        }
        if (random.Next(5) < 2) c.Command = CaseCommand.Compile;
    }

    private static void NonFiniteCalibration(FuzzCase c, Random random)
    {
        c.Command = CaseCommand.Compile;
        c.Calibration = CalibrationSamples.NonFinite;
    }

    private static void OddInputName(FuzzCase c, Random random)
    {
        var graph = c.Model.Graph;
        if (graph.Output.Count == 0 || graph.Input.Count == 0 || graph.Initializer.Count == 0) return;
        var input = graph.Input[0];
        switch (random.Next(4))
        {
            case 0:
                graph.Input.Add(input.Clone());
                break;
            case 1:
                var extra = input.Clone();
                extra.Name = "fuzz_second_input";
                graph.Input.Add(extra);
                break;
            default:
                string[] names = ["", " ", "x\0y", "ünï ☃", new string('n', 5000), "../../x", "input:0", "\n", graph.Output[0].Name,
                    random.Pick(graph.Initializer).Name, random.Pick(graph.Node).Output.FirstOrDefault() ?? "x"];
                Rename(graph, input.Name, random.Pick(names));
                break;
        }
    }

    private static void DeepChain(FuzzCase c, Random random)
    {
        var graph = c.Model.Graph;
        if (ActivationValue(graph, random) is not { } value) return;
        int length = random.Pick(new[] { 2_000, 10_000, 200_000 });
        var op = random.Pick(new[] { "Relu", "Neg", "Abs", "Sigmoid", "Tanh" });
        InsertAfter(graph, value, x =>
        {
            var nodes = new List<NodeProto>(length);
            for (int i = 0; i < length; i++)
            {
                var output = $"fuzz_chain_{i}";
                nodes.Add(Node(op, $"fuzz_chain_node_{i}", [x], output));
                x = output;
            }
            return (nodes, x);
        });
    }

    private static void AddDagChain(FuzzCase c, Random random)
    {
        var graph = c.Model.Graph;
        if (ActivationValue(graph, random) is not { } value) return;
        int length = 20 + random.Next(45);
        var op = random.Pick(new[] { "Add", "Add", "Mul", "Sub" });
        InsertAfter(graph, value, x =>
        {
            var nodes = new List<NodeProto>(length);
            for (int i = 0; i < length; i++)
            {
                var output = $"fuzz_dag_{i}";
                nodes.Add(Node(op, $"fuzz_dag_node_{i}", [x, x], output));
                x = output;
            }
            return (nodes, x);
        });
    }

    /// <summary>Thousands of ops that each write a buffer: softmaxes, or residual adds of one softmax that stays alive throughout.</summary>
    private static void LongOpChain(FuzzCase c, Random random)
    {
        var graph = c.Model.Graph;
        if (ActivationValue(graph, random) is not { } value) return;
        int length = random.Pick(new[] { 300, 3_000, 30_000 });
        bool residual = random.Next(2) == 0;
        InsertAfter(graph, value, x =>
        {
            var nodes = new List<NodeProto>(length + 1) { Node("Softmax", "fuzz_op_chain_softmax", [x], "fuzz_op_chain_softmax_out") };
            for (int i = 0; i < length; i++)
            {
                var output = $"fuzz_op_chain_{i}";
                nodes.Add(residual ? Node("Add", $"fuzz_op_chain_node_{i}", [x, "fuzz_op_chain_softmax_out"], output) : Node("Softmax", $"fuzz_op_chain_node_{i}", [x], output));
                x = output;
            }
            return (nodes, x);
        });
    }

    /// <summary>
    /// A constant folded at import that would hold billions of values: ConstantOfShape, Expand and Range (folded by
    /// mcuformer) or Tile (folded by ONNX Runtime), reduced to one value that an activation is multiplied by.
    /// </summary>
    private static void HugeFoldedConstant(FuzzCase c, Random random)
    {
        var graph = c.Model.Graph;
        if (ActivationValue(graph, random) is not { } value || graph.Node.Any(n => n.Name == "fuzz_big")) return;
        long size = random.Pick(new[] { 1L << 12, 1L << 16, 1L << 31, 1L << 40, -3 });
        var big = random.Next(4) switch
        {
            0 => Node("ConstantOfShape", "fuzz_big", ["fuzz_big_shape"], "fuzz_big_out"),
            1 => Node("Expand", "fuzz_big", ["fuzz_one", "fuzz_big_shape"], "fuzz_big_out"),
            2 => Node("Range", "fuzz_big", ["fuzz_zero", "fuzz_limit", "fuzz_step"], "fuzz_big_out"),
            _ => Node("Tile", "fuzz_big", ["fuzz_one", "fuzz_big_shape"], "fuzz_big_out"),
        };
        graph.Initializer.AddRange([Int64s("fuzz_big_shape", size, size), FloatScalar("fuzz_zero", 0), FloatScalar("fuzz_one", 1),
            FloatScalar("fuzz_limit", size * 1e3f), FloatScalar("fuzz_step", 1e-3f), Int64s("fuzz_first", 0), Int64s("fuzz_one_element", 1)]);
        graph.Initializer.Single(t => t.Name == "fuzz_one").Dims.AddRange([1, 1]);
        InsertAfter(graph, value, x =>
        ([
            big,
            Node("Slice", "fuzz_big_slice", ["fuzz_big_out", "fuzz_first", "fuzz_one_element", "fuzz_first"], "fuzz_big_first"),
            Node("Mul", "fuzz_big_scale", [x, "fuzz_big_first"], "fuzz_big_scaled"),
        ], "fuzz_big_scaled"));
    }

    private static void ExternalSymlink(FuzzCase c, Random random)
    {
        if (ExternalTensor(c, random) is not { } tensor) return;
        var location = tensor.ExternalData.FirstOrDefault(e => e.Key == "location")?.Value ?? "weights.bin";
        switch (random.Next(5))
        {
            case 0:
                c.Links["etc"] = "/etc";
                SetExternal(tensor, "location", "etc/passwd");
                break;
            case 1:
                c.Links["outside.bin"] = "/etc/passwd";
                SetExternal(tensor, "location", "outside.bin");
                break;
            case 2:
                // A link that stays inside the folder: the data must still be read.
                c.Links["inside/link.bin"] = "../" + location;
                SetExternal(tensor, "location", "inside/link.bin");
                break;
            case 3:
                c.Links["loop1.bin"] = "loop2.bin";
                c.Links["loop2.bin"] = "loop1.bin";
                SetExternal(tensor, "location", "loop1.bin");
                break;
            default:
                c.Links["zero.bin"] = "/dev/zero";
                SetExternal(tensor, "location", "zero.bin");
                break;
        }
    }

    private static void ExternalFifo(FuzzCase c, Random random)
    {
        if (ExternalTensor(c, random) is not { } tensor) return;
        c.Fifos.Add("pipe.bin");
        SetExternal(tensor, "location", "pipe.bin");
    }

    private static void ModelNotRegular(FuzzCase c, Random random)
    {
        // Whatever an earlier mutation put at the model's path gives way.
        c.Files.Remove(c.ModelName);
        c.Files.Remove(c.ModelName + "/inside");
        c.Links.Remove(c.ModelName);
        c.Fifos.Remove(c.ModelName);
        c.ModelReplaced = true;
        switch (random.Next(6))
        {
            case 0: c.Fifos.Add(c.ModelName); break;
            case 1: c.Links[c.ModelName] = "/dev/zero"; break;
            case 2: c.Files[c.ModelName + "/inside"] = []; break;
            case 3: c.Files[c.ModelName] = []; break;
            case 4: c.Links[c.ModelName] = "/etc/passwd"; break;
            default: c.Links[c.ModelName] = "missing-target.onnx"; break;
        }
    }

    private static void OversizedExternal(FuzzCase c, Random random)
    {
        if (ExternalTensor(c, random) is not { } tensor) return;
        c.SparseFiles["big.bin"] = 3L << 30;
        SetExternal(tensor, "location", "big.bin");
        SetExternal(tensor, "offset", "0");
        long length = random.Pick(new[] { 1L << 31, 3_000_000_000L, int.MaxValue, 1L << 30 });
        if (random.Next(3) == 0) RemoveExternal(tensor, "length");
        else SetExternal(tensor, "length", length.ToString());
        if (random.Next(2) == 0)
        {
            // Dimensions that agree with the length, so only a size bound stops the read.
            tensor.Dims.Clear();
            tensor.Dims.Add(length / 4);
        }
    }

    private static void BadOpset(FuzzCase c, Random random)
    {
        var opset = c.Model.OpsetImport.FirstOrDefault(o => o.Domain is "" or "ai.onnx");
        if (opset is null || random.Next(3) == 0) c.Model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });
        else opset.Version = random.Pick(new[] { (1L << 32) + 17, -1, 0, long.MaxValue, 22, 12 });
    }

    private static void BrokenSsa(FuzzCase c, Random random)
    {
        var graph = c.Model.Graph;
        var nodes = graph.Node.Where(n => n.Input.Count > 0 && n.Output.Count > 0).ToList();
        if (nodes.Count == 0 || graph.Input.Count == 0 || graph.Initializer.Count == 0) return;
        var node = random.Pick(nodes);
        switch (random.Next(5))
        {
            case 0: node.Output[0] = node.Input[0]; break;
            case 1: node.Output[0] = random.Pick(nodes).Output[0]; break;
            case 2: node.Output[0] = graph.Input[0].Name; break;
            case 3: node.Output[0] = random.Pick(graph.Initializer).Name; break;
            default:
                // Two nodes swapped: a reader before its writer.
                int i = random.Next(graph.Node.Count), j = random.Next(graph.Node.Count);
                (graph.Node[i], graph.Node[j]) = (graph.Node[j], graph.Node[i]);
                break;
        }
    }
}
