using System.Text.Json;
using McuFormer.Model.Ir;
using McuFormer.Model.Onnx;
using McuFormer.Model.Quantization;
using McuFormer.Tests.Onnx;
using static McuFormer.Model.Onnx.OnnxGraphBuilder;

namespace McuFormer.Tests.Quantization;

/// <summary>The class, distillation and register tokens of the residual stream keep quantization parameters of their own.</summary>
public class PrefixTokenTests
{
    private static string Zoo(string file) => Path.Combine(TestModels.RepositoryRoot, "models", "zoo", file);

    [Theory]
    [InlineData("timm_reg4_o17.onnx", 5)]
    [InlineData("timm_distilled_o17.onnx", 2)]
    [InlineData("timm_noembedcls_o17.onnx", 1)]
    [InlineData("hf_eager_dyn18.onnx", 1)]
    public void ResidualStreamIsSplitAfterThePrefixRows(string file, int prefixRows)
    {
        var graph = OnnxImporter.Import(Zoo(file));
        var split = PrefixTokens.Find(graph);
        var concat = graph.Ops.OfType<ConcatOp>().Single();
        int features = concat.Output.Shape[^1];
        Assert.Contains(concat.Output, split.Keys);
        Assert.All(split.Values, elements => Assert.Equal(prefixRows * features, elements));
        // Every residual add of the blocks carries the split on to the final norm.
        Assert.All(graph.Ops.OfType<AddOp>().Where(a => a.Output.Shape.SequenceEqual(concat.Output.Shape)),
            add => Assert.Contains(add.Output, split.Keys));
        Assert.DoesNotContain(graph.Output.Buffer, split.Keys);
    }

    /// <summary>An op that reads both row groups at once (here a Tanh over every token) keeps that buffer per-tensor.</summary>
    [Fact]
    public void ABufferReadAcrossBothGroupsStaysPerTensor()
    {
        var b = new TinyVitBuilder("across");
        int tokens = TinyVitBuilder.Tokens + 1;
        var x = b.G.Node("Concat", [b.Weights(1, 1, TinyVitBuilder.Embed), b.PatchTokens()], [Int("axis", 1)]);
        var block = b.Block(b.G.Node("Add", [x, b.Weights(1, tokens, TinyVitBuilder.Embed)]), tokens, 17);
        var squashed = b.G.Node("Tanh", [block]);
        var pooled = b.G.Node("Gather", [b.LayerNorm(squashed, TinyVitBuilder.Embed), b.G.IntScalar(0)], [Int("axis", 1)]);
        using var temp = new TempFolder();
        var graph = OnnxImporter.Import(TestModels.Write(b.Head(pooled, 17), temp.Path));

        var split = PrefixTokens.Find(graph);
        var tanh = graph.Ops.OfType<ElementwiseOp>().Single(e => e.Input.Buffer.ElementCount == tokens * TinyVitBuilder.Embed);
        Assert.DoesNotContain(tanh.Input.Buffer, split.Keys);
        Assert.Contains(graph.Ops.OfType<ConcatOp>().Single().Output, split.Keys);
        Assert.Equal(TinyVitBuilder.Embed, split[graph.Ops.OfType<ConcatOp>().Single().Output]);
    }

    [Fact]
    public void ModelWithoutPrefixTokensIsNotSplit()
    {
        Assert.Empty(PrefixTokens.Find(OnnxImporter.Import(Zoo("timm_nocls_o17.onnx"))));
    }

    [Fact]
    public void LayerNormsAndAddsRunOncePerRowGroup()
    {
        var graph = OnnxImporter.Import(Zoo("timm_reg4_o17.onnx"));
        var model = Quantizer.ForPlanning(graph);
        foreach (var op in model.Ops)
        {
            switch (op)
            {
                // The final norm of a class-token model normalises that token only: one group.
                case QuantizedLayerNorm { LayerNorm.Rows: 1 } norm:
                    Assert.Single(norm.Segments);
                    break;
                case QuantizedLayerNorm norm when model.Prefixes.TryGetValue(norm.LayerNorm.Input.Buffer, out var prefix):
                    Assert.Equal(2, norm.Segments.Count);
                    Assert.Equal(prefix.Elements / norm.LayerNorm.Dim, norm.Segments[0].Rows);
                    Assert.Equal(norm.LayerNorm.Rows, norm.Segments.Sum(s => s.Rows));
                    break;
                case QuantizedAdd add when model.Prefixes.ContainsKey(add.Op.Output):
                    Assert.Equal(2, add.Segments.Count);
                    Assert.Equal(model.Prefixes[add.Op.Output].Elements, add.Segments[0].Count);
                    break;
            }
        }
        Assert.Contains(model.Ops, op => op is QuantizedLayerNorm { Segments.Count: 2 });
    }

    /// <summary>
    /// With LayerScale 1e-5 the class token barely moves through the blocks and spans less than
    /// one step of the patch tokens' scale; its own parameters keep it, and the logits, exact.
    /// </summary>
    [Fact]
    public void PrefixRowsKeepTheirPrecisionWhereThePatchTokensSetTheScale()
    {
        var model = Zoo("timm_ls1e5_o17.onnx");
        using var temp = new TempFolder();
        var range = ((0 - 0.485f) / 0.229f, (1 - 0.406f) / 0.225f);
        var data = Corpus.ExportChecks.RandomInputs(model, range, temp.Path, "data.npy", 8, seed: 1);
        var calibration = Corpus.ExportChecks.RandomInputs(model, range, temp.Path, "calibration.npy", 32, seed: 2);
        var result = CliRunner.Run("validate", model, "--data", data, "--calib", calibration, "--layer-samples", "8", "--json");
        Assert.True(result.ExitCode == 0, result.Stderr);
        var report = JsonDocument.Parse(result.Stdout).RootElement;
        var prefixCosines = report.GetProperty("layers").EnumerateArray()
            .Where(l => l.GetProperty("prefix_cosine").ValueKind == JsonValueKind.Number)
            .Select(l => l.GetProperty("prefix_cosine").GetDouble()).ToList();
        Assert.NotEmpty(prefixCosines);
        Assert.All(prefixCosines, c => Assert.True(c >= 0.999, result.Stdout));
        Assert.True(report.GetProperty("cosine_min").GetDouble() >= 0.999, result.Stdout);
        Assert.Empty(report.GetProperty("warnings").EnumerateArray());
    }
}
