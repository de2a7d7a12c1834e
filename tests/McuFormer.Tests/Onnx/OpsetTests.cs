using Google.Protobuf;
using McuFormer.Model.Ir;
using McuFormer.Model.Onnx;
using Microsoft.ML.OnnxRuntime;
using Onnx;
using static McuFormer.Model.Onnx.OnnxGraphBuilder;

namespace McuFormer.Tests.Onnx;

/// <summary>Operators as the ONNX spec defines them from opset 13 to 21, and constant folding as ONNX Runtime computes it.</summary>
public class OpsetTests
{
    private static ModelGraph ImportModel(ModelProto model)
    {
        using var folder = new TempFolder();
        return OnnxImporter.Import(TestModels.Write(model, folder.Path));
    }

    /// <summary>Outputs of a graph without inputs, by ONNX Runtime.</summary>
    private static float[] OnnxRuntimeConstant(ModelProto model)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL };
        using var session = new InferenceSession(model.ToByteArray(), options);
        using var runOptions = new RunOptions();
        using var results = session.Run(runOptions, Array.Empty<string>(), Array.Empty<OrtValue>(), [model.Graph.Output[0].Name]);
        return results[0].GetTensorDataAsSpan<float>().ToArray();
    }

    [Theory]
    [InlineData("none")]
    [InlineData("tanh")]
    public void GeluEvaluatesLikeOnnxRuntime(string approximate)
    {
        var values = Enumerable.Range(0, 2001).Select(i => -10f + i * 0.01f).ToArray();
        var g = new OnnxGraphBuilder("gelu");
        g.Input("x", values.Length);
        g.Node("Gelu", ["x"], [OnnxGraphBuilder.String("approximate", approximate)], output: "y");
        g.Output("y", values.Length);
        var model = g.Build("mcuformer-tests", 20);
        using var session = new InferenceSession(model.ToByteArray());
        using var runOptions = new RunOptions();
        using var input = OrtValue.CreateTensorValueFromMemory(values, [values.Length]);
        using var results = session.Run(runOptions, ["x"], [input], ["y"]);
        var expected = results[0].GetTensorDataAsSpan<float>().ToArray();
        var gelu = ElementwiseExpr.Gelu(approximate, ElementwiseExpr.Input);
        for (int i = 0; i < values.Length; i++)
        {
            double actual = gelu.Evaluate(values[i]);
            Assert.True(Math.Abs(actual - expected[i]) <= 1e-6 * Math.Max(1, Math.Abs(expected[i])),
                $"Gelu({values[i]}, {approximate}): {actual} vs ONNX Runtime {expected[i]}");
        }
        Assert.Equal(approximate == "tanh" ? "gelu_tanh" : "gelu", ActivationFunctions.Classify(gelu));
    }

    [Theory]
    [InlineData("none")]
    [InlineData("tanh")]
    public void GeluOperatorImportsAsItsTable(string approximate)
    {
        var vit = new TinyVitBuilder();
        var tokens = vit.PatchTokens();
        var hidden = vit.Linear(tokens, TinyVitBuilder.Embed, 2 * TinyVitBuilder.Embed);
        var gelu = vit.G.Node("Gelu", [hidden], [OnnxGraphBuilder.String("approximate", approximate)]);
        var back = vit.Linear(gelu, 2 * TinyVitBuilder.Embed, TinyVitBuilder.Embed);
        var pooled = vit.MeanTokens(back, 20);
        var graph = FloatGraphRunner.AssertImportMatchesOnnxRuntime(vit.Head(pooled, 20));
        Assert.Single(graph.Ops.OfType<ElementwiseOp>(), e => e.Function == (approximate == "tanh" ? "gelu_tanh" : "gelu"));
    }

    [Fact]
    public void GeluWithAnUnknownApproximationIsRejected()
    {
        var vit = new TinyVitBuilder();
        var gelu = vit.G.Node("Gelu", [vit.PatchTokens()], [OnnxGraphBuilder.String("approximate", "fast")]);
        var pooled = vit.MeanTokens(gelu, 20);
        var error = Assert.Throws<ModelImportException>(() => ImportModel(vit.Head(pooled, 20)));
        Assert.Contains("(Gelu, opset 20): approximate = \"fast\"", error.Message);
    }

    [Fact]
    public void ModOfConstantsFoldsWithOnnxSemantics()
    {
        var vit = new TinyVitBuilder();
        var tokens = vit.PatchTokens();
        // Integer Mod takes the divisor's sign (as Python's %), unlike C's remainder.
        long[] dividends = [-7, 7, -8, 9, 5, -5, 0, 12, -1, 3, 4, -9, 10, 11, -13, 14];
        long[] divisors = [3, -3, 3, -4, 5, 3, 7, 5, 4, -2, 3, 4, -3, 6, 5, 9];
        var mod = vit.G.Node("Mod", [vit.G.Ints(dividends), vit.G.Ints(divisors)]);
        var offset = vit.G.Node("Cast", [mod], [Int("to", (long)TensorProto.Types.DataType.Float)]);
        var shifted = vit.G.Node("Add", [tokens, offset]);
        var pooled = vit.MeanTokens(shifted, 17);
        var graph = FloatGraphRunner.AssertImportMatchesOnnxRuntime(vit.Head(pooled, 17));
        var added = graph.Ops.OfType<AddConstantOp>().Single();
        float[] expected = [2, -2, 1, -3, 0, 1, 0, 2, 3, -1, 1, 3, -2, 5, 2, 5];
        Assert.Equal(expected, added.Constant[..16]);
    }

    [Fact]
    public void MatMulOfConstantsFoldsToWhatOnnxRuntimeComputes()
    {
        var vit = new TinyVitBuilder();
        var tokens = vit.PatchTokens();
        var left = vit.Weights(3.0, 1, TinyVitBuilder.Tokens, 24);
        var right = vit.Weights(3.0, 24, TinyVitBuilder.Embed);
        var embedding = vit.G.Node("MatMul", [left, right], output: "embedding");
        var shifted = vit.G.Node("Add", [tokens, embedding]);
        var pooled = vit.MeanTokens(shifted, 17);
        var model = vit.Head(pooled, 17);
        var graph = FloatGraphRunner.AssertImportMatchesOnnxRuntime(model);

        var constantOnly = model.Clone();
        constantOnly.Graph.Input.Clear();
        constantOnly.Graph.Output.Clear();
        constantOnly.Graph.Output.Add(new ValueInfoProto { Name = "embedding" });
        var keep = constantOnly.Graph.Node.Single(n => n.Output.Contains("embedding"));
        constantOnly.Graph.Node.Clear();
        constantOnly.Graph.Node.Add(keep);
        Assert.Equal(OnnxRuntimeConstant(constantOnly), graph.Ops.OfType<AddConstantOp>().Single().Constant);
    }

    [Fact]
    public void ConstantOperatorOnnxRuntimeRefusesNamesNodeAndOperator()
    {
        var model = TestModels.PatchMeanHead();
        var node = new NodeProto { Name = "mystery", OpType = "NoSuchOperator" };
        node.Input.Add("head.bias");
        node.Output.Add("unused_by_onnx_runtime");
        model.Graph.Node.Insert(0, node);
        model.Graph.Node.Single(n => n.Name == "head").Input[2] = "unused_by_onnx_runtime";
        var error = Assert.Throws<ModelImportException>(() => ImportModel(model));
        Assert.Contains("node 'mystery' (NoSuchOperator, opset 17)", error.Message);
        Assert.Contains("ONNX Runtime cannot evaluate", error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Theory]
    [InlineData(17)]
    [InlineData(18)]
    public void ReduceMeanTakesItsAxesAsTheOpsetDefines(int opset)
    {
        var vit = new TinyVitBuilder();
        var tokens = vit.PatchTokens();
        var pooled = opset >= 18
            ? vit.G.Node("ReduceMean", [tokens, vit.G.Ints(-2)], [Int("keepdims", 0)])
            : vit.G.Node("ReduceMean", [tokens], [IntList("axes", -2), Int("keepdims", 0)]);
        var graph = FloatGraphRunner.AssertImportMatchesOnnxRuntime(vit.Head(pooled, opset));
        Assert.Single(graph.Ops.OfType<MeanTokensOp>());
    }

    [Fact]
    public void ReduceMeanWithoutAxesAndNoopIsIdentity()
    {
        var vit = new TinyVitBuilder();
        var tokens = vit.PatchTokens();
        var same = vit.G.Node("ReduceMean", [tokens], [Int("noop_with_empty_axes", 1)]);
        var pooled = vit.MeanTokens(same, 18);
        var graph = FloatGraphRunner.AssertImportMatchesOnnxRuntime(vit.Head(pooled, 18));
        Assert.Single(graph.Ops.OfType<MeanTokensOp>());
    }

    [Theory]
    [InlineData(18, false)]
    [InlineData(13, true)]
    [InlineData(13, false)]
    public void SplitFollowsTheOpset(int opset, bool sizesAsInput)
    {
        var vit = new TinyVitBuilder();
        var tokens = vit.PatchTokens();
        string[] parts = (opset, sizesAsInput) switch
        {
            // 16 features into 3: ⌈16/3⌉ = 6, 6 and a smaller last part of 4.
            (18, _) => vit.G.Node("Split", [tokens], 3, [Int("axis", 2), Int("num_outputs", 3)]),
            (_, true) => vit.G.Node("Split", [tokens, vit.G.Ints(4, 12)], 2, [Int("axis", 2)]),
            _ => vit.G.Node("Split", [tokens], 2, [Int("axis", 2)]),
        };
        var reordered = vit.G.Node("Concat", parts.Reverse().ToArray(), [Int("axis", 2)]);
        var pooled = vit.MeanTokens(reordered, opset);
        FloatGraphRunner.AssertImportMatchesOnnxRuntime(vit.Head(pooled, opset));
    }

    [Fact]
    public void SplitIntoUnevenPartsWithoutNumOutputsIsRejected()
    {
        var vit = new TinyVitBuilder();
        var parts = vit.G.Node("Split", [vit.PatchTokens()], 3, [Int("axis", 2)]);
        var pooled = vit.MeanTokens(vit.G.Node("Concat", parts, [Int("axis", 2)]), 13);
        var error = Assert.Throws<ModelImportException>(() => ImportModel(vit.Head(pooled, 13)));
        Assert.Contains("(Split, opset 13): axis 2 of size 16 does not split evenly into 3 outputs", error.Message);
    }

    [Theory]
    [InlineData(-1, true)]
    [InlineData(-1, false)]
    [InlineData(1, true)]
    public void LayerNormalizationNormalisesFromItsAxisOn(int axis, bool bias)
    {
        var vit = new TinyVitBuilder();
        var tokens = vit.PatchTokens();
        int[] normalized = axis == -1 ? [TinyVitBuilder.Embed] : [TinyVitBuilder.Tokens, TinyVitBuilder.Embed];
        string[] inputs = bias ? [tokens, vit.Weights(normalized), vit.Weights(normalized)] : [tokens, vit.Weights(normalized)];
        var norm = vit.G.Node("LayerNormalization", inputs, [Int("axis", axis), Float("epsilon", 1e-5f)]);
        var pooled = vit.MeanTokens(norm, 17);
        FloatGraphRunner.AssertImportMatchesOnnxRuntime(vit.Head(pooled, 17));
    }

    [Fact]
    public void CastOfAnActivationToDoubleAndBackChangesNothing()
    {
        var vit = new TinyVitBuilder();
        var wide = vit.G.Node("Cast", [vit.PatchTokens()], [Int("to", (long)TensorProto.Types.DataType.Double)]);
        var narrow = vit.G.Node("Cast", [wide], [Int("to", (long)TensorProto.Types.DataType.Float)]);
        FloatGraphRunner.AssertImportMatchesOnnxRuntime(vit.Head(vit.MeanTokens(narrow, 17), 17));
    }

    [Fact]
    public void CastOfAnActivationToIntegersIsRejected()
    {
        var vit = new TinyVitBuilder();
        var rounded = vit.G.Node("Cast", [vit.PatchTokens()], [Int("to", (long)TensorProto.Types.DataType.Int32)]);
        var back = vit.G.Node("Cast", [rounded], [Int("to", (long)TensorProto.Types.DataType.Float)]);
        var error = Assert.Throws<ModelImportException>(() => ImportModel(vit.Head(vit.MeanTokens(back, 17), 17)));
        Assert.Contains("(Cast, opset 17): casting an activation to Int32 is not supported", error.Message);
    }

    [Fact]
    public void Opset21IsAccepted()
    {
        var model = TestModels.PatchMeanHead();
        model.OpsetImport[0].Version = 21;
        model.IrVersion = 10;
        Assert.Equal([1, 10], ImportModel(model).Output.Shape);
    }

    [Fact]
    public void Opset22IsRefusedWithTheOpsetToExport()
    {
        var model = TestModels.PatchMeanHead();
        model.OpsetImport[0].Version = 22;
        var error = Assert.Throws<ModelImportException>(() => ImportModel(model));
        Assert.Contains("opset 22 is not supported (supported: 13 to 21); re-export with opset_version=21", error.Message);
    }
}
