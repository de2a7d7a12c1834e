using McuFormer.Nas.Materialize;
using Onnx;

namespace McuFormer.Compiler.Bench;

/// <summary>
/// A timm-style ViT with deterministic random weights, written as ONNX in memory: a benchmark
/// model of any size (DeiT-tiny and larger) without committing a large file.
/// </summary>
public sealed record SyntheticVit(string Name, int Channels, int Height, int Width, int Patch, int Embed, int Depth, int Heads,
    int MlpRatio, int Classes)
{
    /// <summary>DeiT-tiny's transformer on a 240×240 RGB image with 16×16 patches: 225 patches + class token.</summary>
    public static readonly SyntheticVit DeitTiny240 = new("deit-tiny-240-p16", 3, 240, 240, 16, 192, 12, 3, 4, 1000);

    public ModelProto Build()
    {
        var random = new Random(240);
        float[] Values(int count, float scale) => [.. Enumerable.Range(0, count).Select(_ => (float)((random.NextDouble() * 2 - 1) * scale))];
        DenseLayer Dense(int input, int output) => new(input, output, Values(input * output, 1f / MathF.Sqrt(input)), Values(output, 0.02f));
        LayerNormWeights Norm() => new(Values(Embed, 0.1f), Values(Embed, 0.1f));
        int tokens = Height / Patch * (Width / Patch) + 1, hidden = Embed * MlpRatio;
        var blocks = Enumerable.Range(0, Depth).Select(_ => new VitBlockWeights(Heads, Norm(), LinearChain.Dense(Dense(Embed, 3 * Embed)),
            LinearChain.Dense(Dense(Embed, Embed)), Norm(), LinearChain.Dense(Dense(Embed, hidden)), LinearChain.Dense(Dense(hidden, Embed)))).ToList();
        var weights = new VitWeights(Name, Channels, Height, Width, Patch, Embed, Embed / Heads, 1e-6f,
            Values(Embed * Channels * Patch * Patch, 1f / Patch), Values(Embed, 0.02f), Values(Embed, 0.02f), Values(tokens * Embed, 0.02f),
            blocks, Norm(), new DenseLayer(Embed, Classes, Values(Classes * Embed, 0.05f), Values(Classes, 0.02f)));
        return VitOnnxWriter.Write(weights, "mcuformer-bench");
    }
}
