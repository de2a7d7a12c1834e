using System.Diagnostics;
using Google.Protobuf;
using McuFormer.Model.Onnx;
using Onnx;
using static McuFormer.Model.Onnx.OnnxGraphBuilder;
using AttributeType = Onnx.AttributeProto.Types.AttributeType;

namespace McuFormer.Tests.Onnx;

/// <summary>
/// Models that break ONNX's rules or mcuformer's bounds, as found by fuzzing: each is refused with one line naming
/// the file, the node and what is wrong, never a crash, a hang or gigabytes allocated. They start from
/// <see cref="TestModels.PatchMeanHead"/>: Conv 'patch' → Reshape 'flatten' → Transpose 'to_tokens' → ReduceMean
/// 'pool' → Gemm 'head'.
/// </summary>
public sealed class HostileModelTests : IDisposable
{
    private readonly TempFolder folder = new();

    public void Dispose() => folder.Dispose();

    private static ModelProto Model() => TestModels.PatchMeanHead();

    private static NodeProto Node(ModelProto model, string name) => model.Graph.Node.Single(n => n.Name == name);

    private static TensorProto Initializer(ModelProto model, string name) => model.Graph.Initializer.Single(t => t.Name == name);

    private string Write(ModelProto model) => TestModels.Write(model, folder.Path);

    private ModelImportException Rejected(ModelProto model, params string[] fragments) => Rejected(Write(model), fragments);

    /// <summary>Importing the file fails with one line that starts with its path and holds every fragment.</summary>
    private static ModelImportException Rejected(string path, params string[] fragments)
    {
        var error = Assert.Throws<ModelImportException>(() => OnnxImporter.Import(path));
        Assert.StartsWith(path + ": ", error.Message);
        Assert.DoesNotContain('\n', error.Message);
        foreach (var fragment in fragments) Assert.Contains(fragment, error.Message);
        return error;
    }

    /// <summary>Rejected as <see cref="Rejected(string, string[])"/> is, having allocated no more than a small model takes.</summary>
    private void RejectedWithoutAllocating(ModelProto model, string fragment)
    {
        var path = Write(model);
        long before = GC.GetAllocatedBytesForCurrentThread();
        Rejected(path, fragment);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64 << 20, "the import allocated what the file only promised");
    }

    // ---- files -----------------------------------------------------------------------------------

    private static void MakeFifo(string path) => Process.Start("mkfifo", [path])!.WaitForExit();

    /// <summary>Imports on another thread; fails the test instead of waiting for ever on a file that blocks.</summary>
    private static ModelImportException RejectedWithinSeconds(string path, params string[] fragments)
    {
        var import = Task.Run(() => Rejected(path, fragments));
        Assert.True(import.Wait(TimeSpan.FromSeconds(30)), $"importing {path} still waits");
        return import.Result;
    }

    [Fact]
    public void ModelThatIsAPipeIsRejectedWithoutWaiting()
    {
        var path = Path.Combine(folder.Path, "model.onnx");
        MakeFifo(path);
        RejectedWithinSeconds(path, "is empty or not a regular file (a pipe, device or socket)");
    }

    [Fact]
    public void ModelThatLinksToADeviceIsRejectedWithoutReading()
    {
        var path = Path.Combine(folder.Path, "model.onnx");
        File.CreateSymbolicLink(path, "/dev/zero");
        RejectedWithinSeconds(path, "is empty or not a regular file");
    }

    [Fact]
    public void ModelThatIsAFolderIsRejected()
    {
        var path = Path.Combine(folder.Path, "model.onnx");
        Directory.CreateDirectory(path);
        Rejected(path, "is a folder");
    }

    /// <summary>The model with head.weight (320 bytes) in "weights.bin" beside it, after 16 other bytes.</summary>
    private (ModelProto Model, TensorProto Weight) WithExternalWeight()
    {
        var model = Model();
        var weight = Initializer(model, "head.weight");
        File.WriteAllBytes(Path.Combine(folder.Path, "weights.bin"), [.. new byte[16], .. weight.RawData.ToByteArray()]);
        weight.RawData = ByteString.Empty;
        weight.DataLocation = TensorProto.Types.DataLocation.External;
        weight.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = "weights.bin" });
        weight.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = "16" });
        weight.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = "320" });
        return (model, weight);
    }

    private static void SetExternal(TensorProto tensor, string key, string value) => tensor.ExternalData.Single(e => e.Key == key).Value = value;

    [Fact]
    public void ExternalDataInsideTheFolderIsRead()
    {
        var (model, _) = WithExternalWeight();
        Assert.Contains(OnnxImporter.Import(Write(model)).Ops, op => op.Name == "head");
    }

    [Theory]
    [InlineData("offset", "abc")]
    [InlineData("offset", "99999999999999999999")]
    [InlineData("offset", "1e3")]
    [InlineData("length", "-1")]
    [InlineData("length", " 320")]
    public void ExternalDataRangeThatIsNotAByteCountIsRejected(string key, string value)
    {
        var (model, weight) = WithExternalWeight();
        SetExternal(weight, key, value);
        Rejected(model, $"tensor 'head.weight' external data {key} '{value}' is not a byte count");
    }

    [Theory]
    [InlineData(long.MaxValue - 4, 16, "external data offset 9223372036854775803 lies beyond the end of 'weights.bin' (336 bytes)")]
    [InlineData(16, long.MaxValue, "external data range 16+9223372036854775807 lies outside 'weights.bin' (336 bytes)")]
    [InlineData(16, 321, "external data range 16+321 lies outside 'weights.bin' (336 bytes)")]
    [InlineData(0, 320, "external data holds 320 bytes")]
    public void ExternalDataRangeOutsideTheFileIsRejected(long offset, long length, string problem)
    {
        var (model, weight) = WithExternalWeight();
        SetExternal(weight, "offset", offset.ToString());
        SetExternal(weight, "length", length.ToString());
        if (offset == 0) weight.Dims[0] = 9;
        Rejected(model, "tensor 'head.weight'", problem);
    }

    [Fact]
    public void ExternalDataLengthIsCheckedBeforeReading()
    {
        var (model, weight) = WithExternalWeight();
        using (var big = new FileStream(Path.Combine(folder.Path, "big.bin"), FileMode.Create)) big.SetLength(3L << 30);
        SetExternal(weight, "location", "big.bin");
        SetExternal(weight, "offset", "0");
        SetExternal(weight, "length", "2147483648");
        RejectedWithoutAllocating(model, "tensor 'head.weight' external data holds 2147483648 bytes, expected 320 for shape [10, 8]");
    }

    [Fact]
    public void ExternalDataKeyGivenTwiceIsRejected()
    {
        var (model, weight) = WithExternalWeight();
        weight.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = "0" });
        Rejected(model, "tensor 'head.weight' names external data key 'offset' 2 times");
    }

    [Fact]
    public void ExternalDataThroughALinkOutOfTheFolderIsRejected()
    {
        var (model, weight) = WithExternalWeight();
        Directory.CreateSymbolicLink(Path.Combine(folder.Path, "etc"), "/etc");
        SetExternal(weight, "location", "etc/passwd");
        Rejected(model, "tensor 'head.weight' external data path 'etc/passwd' leaves the model's folder through a symbolic link (to /etc/passwd)");
    }

    [Fact]
    public void ExternalDataThroughALinkToAFileOutsideIsRejectedEvenWhenItFits()
    {
        var (model, weight) = WithExternalWeight();
        using var outside = new TempFolder();
        var data = Path.Combine(outside.Path, "weights.bin");
        File.Move(Path.Combine(folder.Path, "weights.bin"), data);
        File.CreateSymbolicLink(Path.Combine(folder.Path, "weights.bin"), data);
        Rejected(model, "external data path 'weights.bin' leaves the model's folder through a symbolic link");
    }

    [Fact]
    public void ExternalDataThroughALinkInsideTheFolderIsRead()
    {
        var (model, weight) = WithExternalWeight();
        Directory.CreateDirectory(Path.Combine(folder.Path, "data"));
        File.Move(Path.Combine(folder.Path, "weights.bin"), Path.Combine(folder.Path, "data", "weights.bin"));
        Directory.CreateDirectory(Path.Combine(folder.Path, "links"));
        File.CreateSymbolicLink(Path.Combine(folder.Path, "links", "weights.bin"), "../data/weights.bin");
        SetExternal(weight, "location", "links/weights.bin");
        Assert.Contains(OnnxImporter.Import(Write(model)).Ops, op => op.Name == "head");
    }

    [Fact]
    public void ExternalDataInAPipeIsRejectedWithoutWaiting()
    {
        var (model, weight) = WithExternalWeight();
        MakeFifo(Path.Combine(folder.Path, "pipe.bin"));
        SetExternal(weight, "location", "pipe.bin");
        RejectedWithinSeconds(Write(model), "tensor 'head.weight' external data file 'pipe.bin' is empty or not a regular file");
    }

    // ---- the format's rules ---------------------------------------------------------------------

    [Fact]
    public void AttributeGivenTwiceIsRejected()
    {
        var model = Model();
        Node(model, "to_tokens").Attribute.Add(IntList("perm", 0, 1, 2));
        Rejected(model, "node 'to_tokens' (Transpose, opset 17): attribute 'perm' is given more than once");
    }

    [Fact]
    public void InitializerDefinedTwiceIsRejected()
    {
        var model = Model();
        model.Graph.Initializer.Add(Initializer(model, "head.bias").Clone());
        Rejected(model, "initializer 'head.bias' is defined more than once");
    }

    [Fact]
    public void ValueWrittenTwiceIsRejected()
    {
        var model = Model();
        Node(model, "to_tokens").Output[0] = "embedded";
        Rejected(model, "node 'to_tokens' (Transpose, opset 17): writes 'embedded', which node 'patch' writes too");
    }

    [Theory]
    [InlineData("head", 1, 1, "1 inputs; the operator takes 2 to 3")]
    [InlineData("to_tokens", 2, 1, "2 inputs; the operator takes 1")]
    [InlineData("flatten", 2, 2, "2 outputs; the operator has 1")]
    [InlineData("pool", 1, 0, "the node has no output")]
    public void NodeWithTheWrongNumberOfInputsOrOutputsIsRejected(string name, int inputs, int outputs, string problem)
    {
        var model = Model();
        var node = Node(model, name);
        while (node.Input.Count > inputs) node.Input.RemoveAt(node.Input.Count - 1);
        while (node.Input.Count < inputs) node.Input.Add("head.bias");
        while (node.Output.Count > outputs) node.Output.RemoveAt(node.Output.Count - 1);
        while (node.Output.Count < outputs) node.Output.Add("extra");
        Rejected(model, $"node '{name}'", problem);
    }

    [Fact]
    public void AttributeOfAnotherTypeIsRejected()
    {
        var model = Model();
        var perm = Node(model, "to_tokens").Attribute.Single(a => a.Name == "perm");
        perm.Type = AttributeType.Float;
        Rejected(model, "node 'to_tokens' (Transpose, opset 17): attribute 'perm' is of type FLOAT, expected INTS");
    }

    [Fact]
    public void ConstantWhoseTensorIsMissingIsRejected()
    {
        var model = Model();
        model.Graph.Initializer.Remove(Initializer(model, "tokens_shape"));
        model.Graph.Node.Insert(0, TestModels.Node("shape", "Constant", [], ["tokens_shape"],
            new AttributeProto { Name = "value", Type = AttributeType.Tensor }));
        Rejected(model, "node 'shape' (Constant, opset 17): attribute 'value' holds no tensor");
    }

    [Fact]
    public void OutputWrittenByNoNodeIsRejected()
    {
        var model = Model();
        model.Graph.Output[0].Name = "nowhere";
        Rejected(model, "output 'nowhere' is written by no node");
    }

    [Fact]
    public void OutputThatIsTheInputIsRejected()
    {
        var model = Model();
        model.Graph.Output[0].Name = "input";
        Rejected(model, "output 'input' is the input as it is");
    }

    [Fact]
    public void OpsetBeyondTheIntRangeIsNotTruncated()
    {
        var model = Model();
        model.OpsetImport[0].Version = (1L << 32) + 17;
        Rejected(model, "opset 4294967313 is not supported");
    }

    // ---- sizes ---------------------------------------------------------------------------------

    [Theory]
    [InlineData(1L << 31, "has dimension 2147483648")]
    [InlineData(-1L, "has dimension -1")]
    [InlineData((1L << 32) + 10, "has dimension 4294967306")]
    public void InitializerDimensionOutsideTheIntRangeIsRejected(long dimension, string problem)
    {
        var model = Model();
        Initializer(model, "head.weight").Dims[0] = dimension;
        Rejected(model, "tensor 'head.weight'", problem);
    }

    [Fact]
    public void InitializerWhoseDimensionsMultiplyBeyondTheBoundIsRejectedBeforeAllocating()
    {
        var model = Model();
        var weight = Initializer(model, "head.weight");
        weight.Dims.Clear();
        weight.Dims.AddRange([65536, 65536, 3]);
        RejectedWithoutAllocating(model, "tensor 'head.weight' of shape [65536, 65536, 3] holds more than");
    }

    [Fact]
    public void InputDimensionBeyondTheIntRangeIsNotTruncated()
    {
        var model = Model();
        model.Graph.Input[0].Type.TensorType.Shape.Dim[3].DimValue = (1L << 32) + 28;
        Rejected(model, "input 'input' has dimension 3 of 4294967324");
    }

    [Fact]
    public void ReshapeTargetBeyondTheIntRangeIsNotTruncated()
    {
        var model = Model();
        Initializer(model, "tokens_shape").Int64Data[2] = (1L << 32) + 16;
        Rejected(model, "node 'flatten' (Reshape, opset 17): the target shape [1, 8, 4294967312] holds 4294967312");
    }

    [Theory]
    [InlineData(new long[] { 0, 1, 3 })]
    [InlineData(new long[] { 0, 0, 1 })]
    [InlineData(new long[] { 0, 2 })]
    [InlineData(new long[] { 0, 2, 1, 3 })]
    [InlineData(new long[] { 0, -1, 1 })]
    public void TransposePermThatIsNotAPermutationIsRejected(long[] perm)
    {
        var model = Model();
        var attribute = Node(model, "to_tokens").Attribute.Single(a => a.Name == "perm");
        attribute.Ints.Clear();
        attribute.Ints.AddRange(perm);
        Rejected(model, $"node 'to_tokens' (Transpose, opset 17): perm [{string.Join(", ", perm)}] is not a permutation of the 3 axes");
    }

    [Fact]
    public void PermBeyondTheIntRangeIsNotTruncated()
    {
        var model = Model();
        var attribute = Node(model, "to_tokens").Attribute.Single(a => a.Name == "perm");
        attribute.Ints[1] = (1L << 32) + 2;
        Rejected(model, "attribute 'perm' holds 4294967298, outside the int range");
    }

    [Theory]
    [InlineData(new long[] { 0 }, new long[] { 4 }, new long[] { 1, 2 }, "starts, ends, axes and steps have 1, 1, 2 and 1 values")]
    [InlineData(new long[] { 0, 0 }, new long[] { 4 }, new long[] { 1 }, "starts, ends, axes and steps have 2, 1, 1 and 2 values")]
    [InlineData(new long[] { 0, 0 }, new long[] { 4, 4 }, new long[] { 1, -2 }, "axes [1, -2] repeat an axis")]
    [InlineData(new long[] { 4 }, new long[] { 4 }, new long[] { 1 }, "the slice of [1, 16, 8] is empty")]
    public void SliceWhoseInputsDoNotAgreeIsRejected(long[] starts, long[] ends, long[] axes, string problem)
    {
        var model = Model();
        model.Graph.Initializer.AddRange([TestModels.Int64s("starts", starts), TestModels.Int64s("ends", ends), TestModels.Int64s("axes", axes)]);
        TestModels.InsertAfter(model, "to_tokens", TestModels.Node("cut", "Slice", ["tokens", "starts", "ends", "axes"], ["cut_tokens"]));
        Rejected(model, "node 'cut' (Slice, opset 17)", problem);
    }

    [Theory]
    [InlineData("ConstantOfShape")]
    [InlineData("Expand")]
    [InlineData("Tile")]
    public void ConstantTooLargeToFoldIsRejected(string op)
    {
        var model = Model();
        model.Graph.Initializer.AddRange([TestModels.Int64s("huge", 65536, 65536), new TensorProto
        {
            Name = "one", DataType = (int)TensorProto.Types.DataType.Float, Dims = { 1, 1 }, FloatData = { 1f },
        }]);
        string[] inputs = op == "ConstantOfShape" ? ["huge"] : ["one", "huge"];
        TestModels.InsertAfter(model, "to_tokens", TestModels.Node("big", op, inputs, ["big_value"]), TestModels.Node("scale", "Mul", ["tokens", "big_value"], ["scaled"]));
        Rejected(model, $"node 'big' ({op}, opset 17)", "would hold more than");
    }

    [Fact]
    public void EmptyConstantBroadcastAgainstOneStaysEmpty()
    {
        var model = Model();
        model.Graph.Initializer.AddRange([
            new TensorProto { Name = "empty", DataType = (int)TensorProto.Types.DataType.Float, Dims = { 0 } },
            new TensorProto { Name = "one", DataType = (int)TensorProto.Types.DataType.Float, Dims = { 1 }, FloatData = { 1f } },
        ]);
        TestModels.InsertAfter(model, "to_tokens", TestModels.Node("fold", "Mul", ["empty", "one"], ["still_empty"]),
            TestModels.Node("scale", "Mul", ["tokens", "still_empty"], ["scaled"]));
        Rejected(model, "node 'scale' (Mul, opset 17)", "constant of shape [0]");
    }

    [Fact]
    public void GraphOfMoreNodesThanTheBoundIsRejectedBeforeItIsRead()
    {
        var model = Model();
        var chain = Enumerable.Range(0, 200_000).Select(i => TestModels.Node($"relu_{i}", "Relu", [i == 0 ? "tokens" : $"r{i - 1}"], [$"r{i}"])).ToArray();
        TestModels.InsertAfter(model, "to_tokens", chain);
        Rejected(model, "the graph has 200005 nodes, more than the 16384 mcuformer reads");
    }

    [Fact]
    public void GraphOfMoreOpsThanThePlannerTakesIsRejected()
    {
        var model = Model();
        var softmaxes = Enumerable.Range(0, OnnxImporter.MaxOps + 1)
            .Select(i => TestModels.Node($"softmax_{i}", "Softmax", [i == 0 ? "tokens" : $"softmax_{i - 1}_out"], [$"softmax_{i}_out"])).ToArray();
        TestModels.InsertAfter(model, "to_tokens", softmaxes);
        Rejected(model, "(Softmax, opset 17): the graph lifts to more than 1024 ops here");
    }

    // ---- values --------------------------------------------------------------------------------

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity)]
    public void WeightThatIsNotFiniteIsRejected(float value)
    {
        var model = Model();
        var weight = Initializer(model, "head.weight");
        var bytes = weight.RawData.ToByteArray();
        BitConverter.TryWriteBytes(bytes.AsSpan(12), value);
        weight.RawData = ByteString.CopyFrom(bytes);
        Rejected(model, "node 'head' (Gemm, opset 17): its weights, biases or constants hold NaN or infinity");
    }
}
