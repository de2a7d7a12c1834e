using McuFormer.Model.Ir;
using static McuFormer.Model.Onnx.OnnxGraphBuilder;

namespace McuFormer.Tests.Onnx;

/// <summary>
/// The model variants timm and Hugging Face users export, written as the exporters write them,
/// imported into existing IR ops and checked in float against ONNX Runtime.
/// </summary>
public class TimmPatternTests
{
    private const int E = TinyVitBuilder.Embed, N = TinyVitBuilder.Tokens;

    /// <summary>Class token (and register tokens) concatenated before the patch tokens, positional embedding added after.</summary>
    private static string PrefixTokens(TinyVitBuilder vit, string tokens, int registers, bool embedBeforeConcat)
    {
        int prefix = 1 + registers;
        if (embedBeforeConcat) tokens = vit.G.Node("Add", [tokens, vit.Weights(1, N, E)]);
        var parts = new List<string> { vit.G.Node("Expand", [vit.Weights(1, 1, E), vit.G.Ints(1, 1, E)]) };
        if (registers > 0) parts.Add(vit.G.Node("Expand", [vit.Weights(1, registers, E), vit.G.Ints(1, registers, E)]));
        parts.Add(tokens);
        var sequence = vit.G.Node("Concat", [.. parts], [Int("axis", 1)]);
        return embedBeforeConcat ? sequence : vit.G.Node("Add", [sequence, vit.Weights(1, N + prefix, E)]);
    }

    private static string ClassToken(TinyVitBuilder vit, string x) =>
        vit.G.Node("Gather", [vit.LayerNorm(x, E), vit.G.IntScalar(0)], [Int("axis", 1)]);

    [Theory]
    [InlineData(17)]
    [InlineData(20)]
    public void LayerScaleFoldsIntoTheLinearBeforeIt(int opset)
    {
        var vit = new TinyVitBuilder();
        var x = vit.Block(PrefixTokens(vit, vit.PatchTokens(), 0, false), N + 1, opset, layerScale: true);
        var graph = FloatGraphRunner.AssertImportMatchesOnnxRuntime(vit.Head(ClassToken(vit, x), opset));
        Assert.DoesNotContain(graph.Ops, o => o.Kind is "copy" or "elementwise");
    }

    [Fact]
    public void LayerScaleAfterAReshapedGemmFoldsIntoIt()
    {
        var vit = new TinyVitBuilder();
        var tokens = vit.PatchTokens();
        var rows = vit.G.Node("Reshape", [tokens, vit.G.Ints(N, E)]);
        var projected = vit.G.Node("Gemm", [rows, vit.Weights(E, E), vit.Weights(E)], [Int("transB", 1)]);
        var back = vit.G.Node("Reshape", [projected, vit.G.Ints(1, N, E)]);
        var scaled = vit.G.Node("Mul", [vit.Weights(E), back]);
        var x = vit.G.Node("Add", [tokens, scaled]);
        var graph = FloatGraphRunner.AssertImportMatchesOnnxRuntime(vit.Head(vit.MeanTokens(x, 17), 17));
        Assert.Equal(2, graph.Ops.OfType<LinearOp>().Count());
    }

    [Fact]
    public void PerChannelScaleOfAHeadMajorViewFoldsIntoTheLinear()
    {
        const int H = TinyVitBuilder.Heads, D = TinyVitBuilder.HeadDim;
        var vit = new TinyVitBuilder();
        var tokens = vit.PatchTokens();
        var heads = vit.G.Node("Transpose", [vit.G.Node("Reshape", [vit.Linear(tokens, E, E), vit.G.Ints(1, N, H, D)])], [IntList("perm", 0, 2, 1, 3)]);
        var scaled = vit.G.Node("Mul", [heads, vit.Weights(1, H, 1, D)]);
        var back = vit.G.Node("Reshape", [vit.G.Node("Transpose", [scaled], [IntList("perm", 0, 2, 1, 3)]), vit.G.Ints(1, N, E)]);
        var x = vit.G.Node("Add", [tokens, back]);
        var graph = FloatGraphRunner.AssertImportMatchesOnnxRuntime(vit.Head(vit.MeanTokens(x, 17), 17));
        Assert.DoesNotContain(graph.Ops, o => o.Kind is "copy" or "elementwise");
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(4, false)]
    [InlineData(4, true)]
    [InlineData(0, true)]
    public void PrefixTokensConcatenateBeforeThePatchTokens(int registers, bool noEmbedClass)
    {
        var vit = new TinyVitBuilder();
        var x = vit.Block(PrefixTokens(vit, vit.PatchTokens(), registers, noEmbedClass), N + 1 + registers, 17);
        var graph = FloatGraphRunner.AssertImportMatchesOnnxRuntime(vit.Head(ClassToken(vit, x), 17));
        var concat = graph.Ops.OfType<ConcatOp>().Single();
        Assert.Equal(registers > 0 ? 3 : 2, concat.Parts.Count);
    }

    /// <summary>
    /// The first token of a LayerNorm's output: normalised alone when the norm is over the feature axis, as the
    /// whole when it is over the tokens too (a norm the token alone cannot reproduce).
    /// </summary>
    [Theory]
    [InlineData(-1)]
    [InlineData(1)]
    [InlineData(0)]
    public void FirstTokenOfANormIsNormalisedAloneOnlyWhenTheNormIsPerToken(int axis)
    {
        var vit = new TinyVitBuilder();
        var tokens = vit.PatchTokens();
        int[] normalized = axis switch { -1 => [E], 1 => [N, E], _ => [1, N, E] };
        var x = vit.G.Node("LayerNormalization", [tokens, vit.Weights(normalized), vit.Weights(normalized)], [Int("axis", axis)]);
        var graph = FloatGraphRunner.AssertImportMatchesOnnxRuntime(vit.Head(vit.G.Node("Gather", [x, vit.G.IntScalar(0)], [Int("axis", 1)]), 17));
        var norm = graph.Ops.OfType<LayerNormOp>().Single();
        Assert.Equal(1, norm.Rows);
        Assert.Equal(axis == -1 ? E : N * E, norm.Dim);
    }

    [Fact]
    public void DistillationTokenAveragesTwoHeads()
    {
        var vit = new TinyVitBuilder();
        var tokens = vit.PatchTokens();
        var sequence = vit.G.Node("Concat", [vit.Weights(1, 2, E), tokens], [Int("axis", 1)]);
        var x = vit.LayerNorm(vit.Block(vit.G.Node("Add", [sequence, vit.Weights(1, N + 2, E)]), N + 2, 17), E);
        var head = vit.G.Node("Gemm", [vit.G.Node("Gather", [x, vit.G.IntScalar(0)], [Int("axis", 1)]), vit.Weights(10, E), vit.Weights(10)], [Int("transB", 1)]);
        var distilled = vit.G.Node("Gemm", [vit.G.Node("Gather", [x, vit.G.IntScalar(1)], [Int("axis", 1)]), vit.Weights(10, E), vit.Weights(10)], [Int("transB", 1)]);
        vit.G.Node("Div", [vit.G.Node("Add", [head, distilled]), vit.G.Scalar(2)], output: "logits");
        vit.G.Output("logits", 1, 10);
        FloatGraphRunner.AssertImportMatchesOnnxRuntime(vit.G.Build("mcuformer-tests", 17));
    }

    [Fact]
    public void QkNormNormalisesEachHeadOfQueriesAndKeys()
    {
        var vit = new TinyVitBuilder();
        var x = vit.Block(vit.PatchTokens(), N, 17, qkNorm: true);
        var graph = FloatGraphRunner.AssertImportMatchesOnnxRuntime(vit.Head(vit.MeanTokens(x, 17), 17));
        Assert.Contains(graph.Ops.OfType<LayerNormOp>(), n => n.Dim == TinyVitBuilder.HeadDim && n.Rows == TinyVitBuilder.Heads * N);
    }

    [Theory]
    [InlineData(17)]
    [InlineData(18)]
    public void FcNormNormalisesTheMeanOfThePatchTokens(int opset)
    {
        var vit = new TinyVitBuilder();
        var x = vit.Block(PrefixTokens(vit, vit.PatchTokens(), 0, false), N + 1, opset);
        var patches = vit.G.Node("Slice", [x, vit.G.Ints(1), vit.G.Ints(long.MaxValue), vit.G.Ints(1)]);
        var graph = FloatGraphRunner.AssertImportMatchesOnnxRuntime(vit.Head(vit.LayerNorm(vit.MeanTokens(patches, opset), E), opset));
        Assert.Equal(N, graph.Ops.OfType<MeanTokensOp>().Single().Rows);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TanhGeluChainIsRecognised(bool cubeAsPow)
    {
        var vit = new TinyVitBuilder();
        var x = vit.Linear(vit.PatchTokens(), E, 2 * E);
        var cube = cubeAsPow ? vit.G.Node("Pow", [x, vit.G.Scalar(3)]) : vit.G.Node("Mul", [vit.G.Node("Mul", [x, x]), x]);
        var inner = vit.G.Node("Mul", [vit.G.Node("Add", [x, vit.G.Node("Mul", [cube, vit.G.Scalar(0.044715f)])]), vit.G.Scalar(MathF.Sqrt(2 / MathF.PI))]);
        var gelu = vit.G.Node("Mul", [vit.G.Node("Mul", [x, vit.G.Scalar(0.5f)]), vit.G.Node("Add", [vit.G.Node("Tanh", [inner]), vit.G.Scalar(1)])]);
        var graph = FloatGraphRunner.AssertImportMatchesOnnxRuntime(vit.Head(vit.MeanTokens(vit.Linear(gelu, 2 * E, E), 17), 17));
        Assert.Single(graph.Ops.OfType<ElementwiseOp>(), e => e.Function == "gelu_tanh");
    }

    /// <summary>
    /// timm's global_pool='map' (AttentionPoolLatent): a learned latent query attends over the
    /// tokens, then proj, a residual MLP with LayerNorm, and token 0. The query's linear folds to
    /// a constant; scores come from the keys as a linear with the query as weights.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AttentionPoolingWithALatentQuery(bool fusedAttentionScaling)
    {
        const int H = TinyVitBuilder.Heads, D = TinyVitBuilder.HeadDim;
        var vit = new TinyVitBuilder();
        var x = vit.LayerNorm(vit.Block(vit.PatchTokens(), N, 17), E);
        var g = vit.G;
        var latent = g.Node("Expand", [vit.Weights(1, 1, E), g.Ints(1, 1, 1)]);
        var q = g.Node("Transpose", [g.Node("Reshape", [vit.Linear(latent, E, E), g.Ints(1, 1, H, D)])], [IntList("perm", 0, 2, 1, 3)]);
        var kv = g.Node("Transpose", [g.Node("Reshape", [vit.Linear(x, E, 2 * E), g.Ints(1, N, 2, H, D)])], [IntList("perm", 2, 0, 3, 1, 4)]);
        var k = g.Node("Gather", [kv, g.IntScalar(0)], [Int("axis", 0)]);
        var v = g.Node("Gather", [kv, g.IntScalar(1)], [Int("axis", 0)]);
        var keys = g.Node("Transpose", [k], [IntList("perm", 0, 1, 3, 2)]);
        string scores;
        if (fusedAttentionScaling)
        {
            // The legacy exporter's scaled_dot_product_attention: both operands times √(1/√d), the scale computed from Shape.
            var scale = g.Node("Sqrt", [g.Node("Div", [g.Scalar(1), g.Node("Sqrt", [g.Node("Cast",
                [g.Node("Slice", [g.Node("Shape", [q]), g.Ints(-1), g.Ints(long.MaxValue)])], [Int("to", 1)])])])]);
            scores = g.Node("MatMul", [g.Node("Mul", [q, scale]), g.Node("Mul", [keys, scale])]);
        }
        else scores = g.Node("MatMul", [g.Node("Mul", [q, g.Scalar(1 / MathF.Sqrt(D))]), keys]);
        var context = g.Node("MatMul", [g.Node("Softmax", [scores], [Int("axis", -1)]), v]);
        var pooled = vit.Linear(g.Node("Reshape", [g.Node("Transpose", [context], [IntList("perm", 0, 2, 1, 3)]), g.Ints(1, 1, E)]), E, E);
        var refined = g.Node("Add", [pooled, vit.Mlp(vit.LayerNorm(pooled, E), 17)]);
        var token = g.Node("Gather", [refined, g.IntScalar(0)], [Int("axis", 1)]);
        var graph = FloatGraphRunner.AssertImportMatchesOnnxRuntime(vit.Head(token, 17));
        Assert.Contains(graph.Ops.OfType<LinearOp>(), l => l.InFeatures == E && l.OutFeatures == H && l.Rows == N);
    }
}
