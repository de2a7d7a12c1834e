using McuFormer.Model.Ir;
using McuFormer.Model.Onnx;

namespace McuFormer.Tests.Onnx;

public class ImportTests
{
    public static TheoryData<string> Variants()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(TestModels.Variants, "*.onnx").OrderBy(f => f, StringComparer.Ordinal))
            data.Add(Path.GetFileName(file));
        return data;
    }

    private static ModelGraph Import(string variant) => OnnxImporter.Import(Path.Combine(TestModels.Variants, variant));

    [Theory]
    [MemberData(nameof(Variants))]
    public void VariantImportsAsATransformerWithoutLayoutCopies(string variant)
    {
        var graph = Import(variant);
        var kinds = graph.Ops.Select(o => o.Kind).ToHashSet();
        Assert.Contains("patch_embed", kinds);
        Assert.Contains("layernorm", kinds);
        Assert.Contains("matmul", kinds);
        Assert.Contains("softmax", kinds);
        Assert.Contains("add", kinds);
        Assert.Contains(variant.Contains("tanh") ? "gelu_tanh" : "gelu", kinds);
        Assert.Contains(variant.Contains("mean") ? "mean_tokens" : "concat", kinds);
        // Head split, head merge and token reshapes must all have become views.
        Assert.DoesNotContain("copy", kinds);
        Assert.Equal([1, 10], graph.Output.Shape);
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void AttentionProductsAreBatchedPerHead(string variant)
    {
        var graph = Import(variant);
        var products = graph.Ops.OfType<MatMulOp>().ToList();
        Assert.NotEmpty(products);
        Assert.All(products, m => Assert.True(m.Batch > 1, $"{m.Name} runs {m.Batch} heads"));
        // Q·Kᵀ carries the 1/√d scale folded in from the graph; P·V does not.
        var scaled = products.Where(m => Math.Abs(m.Alpha - 1) > 1e-6).ToList();
        Assert.Equal(products.Count / 2, scaled.Count);
        Assert.All(scaled, m => Assert.Equal(1 / Math.Sqrt(m.K), m.Alpha, 1e-5));
    }

    [Fact]
    public void LowRankVariantKeepsEachFactorAsALinear()
    {
        var graph = Import("lowrank_cls_erf_opset17.onnx");
        var linears = graph.Ops.OfType<LinearOp>().ToList();
        // d→r (no bias), r→r (no bias), r→out (bias): a bias-free linear feeding a linear, twice in a row.
        Assert.Contains(linears, l => l.Bias is null && l.InFeatures > l.OutFeatures);
        Assert.Contains(linears, l => l.Bias is null && l.InFeatures == l.OutFeatures);
        Assert.True(linears.Count > 4 * 4, $"only {linears.Count} linears");
    }

    [Fact]
    public void NoBiasVariantImportsBiasFreeQkv()
    {
        var graph = Import("timm_cls_nobias_opset15.onnx");
        var qkv = graph.Ops.OfType<LinearOp>().Where(l => l.OutFeatures == 3 * l.InFeatures).ToList();
        Assert.NotEmpty(qkv);
        Assert.All(qkv, l => Assert.Null(l.Bias));
    }

    [Fact]
    public void FinalNormBeforeClassTokenPoolingNormalisesOnlyThatToken()
    {
        var graph = OnnxImporter.Import(TestModels.Fixture);
        var norms = graph.Ops.OfType<LayerNormOp>().ToList();
        Assert.Equal(1, norms[^1].Rows);
        Assert.All(norms[..^1], n => Assert.True(n.Rows > 1));
        var head = graph.Ops.OfType<LinearOp>().Last();
        Assert.Same(norms[^1].Output, head.Input.Buffer);
    }

    [Fact]
    public void FixtureMacsAndParamsMatchItsArchitecture()
    {
        var graph = OnnxImporter.Import(TestModels.Fixture);
        Assert.Equal(graph.Ops.OfType<LayerNormOp>().Count(), 2 * graph.Ops.OfType<SoftmaxOp>().Count() + 1);
        long weights = graph.Ops.OfType<LinearOp>().Sum(l => (long)l.InFeatures * l.OutFeatures);
        Assert.Equal(weights, graph.Ops.OfType<LinearOp>().Sum(l => l.Weights.Length));
        Assert.True(graph.Macs > weights, "every weight is used at least once per inference");
    }
}
