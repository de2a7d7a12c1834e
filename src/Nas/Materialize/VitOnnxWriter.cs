using McuFormer.Model.Onnx;
using Onnx;
using static McuFormer.Model.Onnx.OnnxGraphBuilder;

namespace McuFormer.Nas.Materialize;

/// <summary>
/// Writes <see cref="VitWeights"/> as a static batch-1 ONNX graph (opset 17) in the layout PyTorch's
/// exporter produces for a timm-style ViT: Conv patch embedding, class-token Concat, position Add,
/// LayerNormalization, MatMul+Add linears, erf GELU, per-head attention, class-token Gather, Gemm head.
/// </summary>
public static class VitOnnxWriter
{
    public const string InputName = "input";
    public const string OutputName = "logits";

    public static ModelProto Write(VitWeights vit, string producer = "mcuformer")
    {
        var g = new OnnxGraphBuilder(vit.Name);
        g.Input(InputName, 1, vit.Channels, vit.Height, vit.Width);
        g.Output(OutputName, 1, vit.Classes);
        int tokens = vit.Tokens, embed = vit.Embed;

        string LayerNorm(string x, LayerNormWeights norm) =>
            g.Node("LayerNormalization", [x, g.Floats(norm.Scale, embed), g.Floats(norm.Bias, embed)],
                [Int("axis", -1), Float("epsilon", vit.LayerNormEpsilon)]);

        string Linear(string x, LinearChain chain)
        {
            foreach (var layer in chain.Layers)
            {
                x = g.Node("MatMul", [x, g.Floats(Transpose(layer.Weight, layer.Out, layer.In), layer.In, layer.Out)]);
                if (layer.Bias is not null) x = g.Node("Add", [x, g.Floats(layer.Bias, layer.Out)]);
            }
            return x;
        }

        var x = g.Node("Conv", [InputName, g.Floats(vit.PatchWeight, embed, vit.Channels, vit.Patch, vit.Patch), g.Floats(vit.PatchBias, embed)],
            [IntList("kernel_shape", vit.Patch, vit.Patch), IntList("strides", vit.Patch, vit.Patch)]);
        x = g.Node("Transpose", [g.Node("Reshape", [x, g.Ints(1, embed, vit.Patches)])], [IntList("perm", 0, 2, 1)]);
        x = g.Node("Concat", [g.Floats(vit.ClassToken, 1, 1, embed), x], [Int("axis", 1)]);
        x = g.Node("Add", [x, g.Floats(vit.Positions, 1, tokens, embed)]);
        foreach (var block in vit.Blocks)
        {
            int heads = block.Heads, inner = heads * vit.HeadDim;
            var qkv = g.Node("Reshape", [Linear(LayerNorm(x, block.Norm1), block.Qkv), g.Ints(1, tokens, 3, heads, vit.HeadDim)]);
            qkv = g.Node("Transpose", [qkv], [IntList("perm", 2, 0, 3, 1, 4)]);
            string Part(long index) => g.Node("Gather", [qkv, g.IntScalar(index)], [Int("axis", 0)]);
            var (q, k, v) = (Part(0), Part(1), Part(2));
            var keysT = g.Node("Transpose", [k], [IntList("perm", 0, 1, 3, 2)]);
            var scores = g.Node("Mul", [g.Node("MatMul", [q, keysT]), g.Scalar(1f / MathF.Sqrt(vit.HeadDim))]);
            var context = g.Node("MatMul", [g.Node("Softmax", [scores], [Int("axis", -1)]), v]);
            context = g.Node("Reshape", [g.Node("Transpose", [context], [IntList("perm", 0, 2, 1, 3)]), g.Ints(1, tokens, inner)]);
            x = g.Node("Add", [x, Linear(context, block.Projection)]);
            var hidden = Linear(LayerNorm(x, block.Norm2), block.Fc1);
            var erf = g.Node("Erf", [g.Node("Div", [hidden, g.Scalar(MathF.Sqrt(2))])]);
            var gelu = g.Node("Mul", [g.Node("Mul", [hidden, g.Node("Add", [erf, g.Scalar(1)])]), g.Scalar(0.5f)]);
            x = g.Node("Add", [x, Linear(gelu, block.Fc2)]);
        }
        var classToken = g.Node("Gather", [LayerNorm(x, vit.Norm), g.IntScalar(0)], [Int("axis", 1)]);
        g.Node("Gemm", [classToken, g.Floats(vit.Head.Weight, vit.Head.Out, vit.Head.In), g.Floats(vit.Head.Bias!, vit.Head.Out)],
            [Int("transB", 1)], OutputName);
        return g.Build(producer);
    }

    private static float[] Transpose(float[] matrix, int rows, int columns)
    {
        var result = new float[matrix.Length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < columns; c++)
                result[c * rows + r] = matrix[r * columns + c];
        return result;
    }
}
