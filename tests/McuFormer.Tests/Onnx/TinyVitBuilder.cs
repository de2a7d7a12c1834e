using McuFormer.Model.Onnx;
using Onnx;
using static McuFormer.Model.Onnx.OnnxGraphBuilder;

namespace McuFormer.Tests.Onnx;

/// <summary>
/// Pieces of small ViTs written node by node the way the PyTorch exporters write them, with
/// seeded random weights: 3×16×16 image, patch 4 (16 tokens), embed 16, 2 heads of 8.
/// </summary>
public sealed class TinyVitBuilder
{
    public const int Tokens = 16, Embed = 16, Heads = 2, HeadDim = 8, Classes = 10;

    private readonly Random random = new(11);

    public TinyVitBuilder(string name = "tiny") => G = new OnnxGraphBuilder(name);

    public OnnxGraphBuilder G { get; }

    public string Weights(params int[] dims) => Weights(0.4, dims);

    public string Weights(double scale, params int[] dims) =>
        G.Floats(Enumerable.Range(0, dims.Aggregate(1, (a, b) => a * b)).Select(_ => (float)((random.NextDouble() * 2 - 1) * scale)).ToArray(), dims);

    /// <summary>image → Conv patch embedding → [1, 16 tokens, 16].</summary>
    public string PatchTokens()
    {
        G.Input("image", 1, 3, 16, 16);
        var conv = G.Node("Conv", ["image", Weights(0.2, Embed, 3, 4, 4), Weights(Embed)],
            [IntList("kernel_shape", 4, 4), IntList("strides", 4, 4)]);
        var flat = G.Node("Reshape", [conv, G.Ints(1, Embed, Tokens)]);
        return G.Node("Transpose", [flat], [IntList("perm", 0, 2, 1)]);
    }

    /// <summary>nn.Linear on the last axis: MatMul by Wᵀ, then Add bias.</summary>
    public string Linear(string x, int inFeatures, int outFeatures, bool bias = true)
    {
        var product = G.Node("MatMul", [x, Weights(inFeatures, outFeatures)]);
        return bias ? G.Node("Add", [product, Weights(outFeatures)]) : product;
    }

    public string LayerNorm(string x, int features, int axis = -1) =>
        G.Node("LayerNormalization", [x, Weights(features), Weights(features)], [Int("axis", axis), Float("epsilon", 1e-6f)]);

    /// <summary>timm's Attention: qkv linear, reshape [1, N, 3, H, d], permute, unbind, optional q/k LayerNorm over d.</summary>
    public string Attention(string x, int tokens, bool qkNorm = false)
    {
        var qkv = Linear(x, Embed, 3 * Embed);
        var split = G.Node("Reshape", [qkv, G.Ints(1, tokens, 3, Heads, HeadDim)]);
        var heads = G.Node("Transpose", [split], [IntList("perm", 2, 0, 3, 1, 4)]);
        var q = G.Node("Gather", [heads, G.IntScalar(0)], [Int("axis", 0)]);
        var k = G.Node("Gather", [heads, G.IntScalar(1)], [Int("axis", 0)]);
        var v = G.Node("Gather", [heads, G.IntScalar(2)], [Int("axis", 0)]);
        if (qkNorm)
        {
            q = LayerNorm(q, HeadDim);
            k = LayerNorm(k, HeadDim);
        }
        var scaled = G.Node("Mul", [q, G.Scalar(1 / MathF.Sqrt(HeadDim))]);
        var scores = G.Node("MatMul", [scaled, G.Node("Transpose", [k], [IntList("perm", 0, 1, 3, 2)])]);
        var attention = G.Node("Softmax", [scores], [Int("axis", -1)]);
        var context = G.Node("MatMul", [attention, v]);
        var merged = G.Node("Reshape", [G.Node("Transpose", [context], [IntList("perm", 0, 2, 1, 3)]), G.Ints(1, tokens, Embed)]);
        return Linear(merged, Embed, Embed);
    }

    /// <summary>fc1, GELU (the ONNX operator at opset 20, the erf chain before), fc2.</summary>
    public string Mlp(string x, int opset)
    {
        var hidden = Linear(x, Embed, 2 * Embed);
        var gelu = opset >= 20
            ? G.Node("Gelu", [hidden])
            : G.Node("Mul", [G.Node("Mul", [hidden, G.Node("Add", [G.Node("Erf", [G.Node("Div", [hidden, G.Scalar(MathF.Sqrt(2))])]), G.Scalar(1)])]), G.Scalar(0.5f)]);
        return Linear(gelu, 2 * Embed, Embed);
    }

    /// <summary>Pre-norm block: x + attn(norm(x)), then x + mlp(norm(x)), each branch optionally scaled per channel (LayerScale).</summary>
    public string Block(string x, int tokens, int opset, bool layerScale = false, bool qkNorm = false)
    {
        var attention = Attention(LayerNorm(x, Embed), tokens, qkNorm);
        if (layerScale) attention = G.Node("Mul", [attention, Weights(Embed)]);
        x = G.Node("Add", [x, attention]);
        var mlp = Mlp(LayerNorm(x, Embed), opset);
        if (layerScale) mlp = G.Node("Mul", [mlp, Weights(Embed)]);
        return G.Node("Add", [x, mlp]);
    }

    /// <summary>Mean over the token axis of [1, tokens, features], with its axes as the opset takes them.</summary>
    public string MeanTokens(string x, int opset) => opset >= 18
        ? G.Node("ReduceMean", [x, G.Ints(1)], [Int("keepdims", 0)])
        : G.Node("ReduceMean", [x], [IntList("axes", 1), Int("keepdims", 0)]);

    /// <summary>The classifier: Gemm on a [1, embed] row, named logits.</summary>
    public ModelProto Head(string pooled, int opset)
    {
        G.Node("Gemm", [pooled, Weights(Classes, Embed), Weights(Classes)], [Int("transB", 1)], output: "logits");
        G.Output("logits", 1, Classes);
        return G.Build("mcuformer-tests", opset);
    }
}
