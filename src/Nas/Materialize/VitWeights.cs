namespace McuFormer.Nas.Materialize;

/// <summary>A dense linear y = x Wᵀ + b; <see cref="Weight"/> is [Out, In] row-major (PyTorch's layout).</summary>
public sealed record DenseLayer(int In, int Out, float[] Weight, float[]? Bias)
{
    public long Parameters => (long)In * Out + (Bias?.Length ?? 0);
}

/// <summary>One transformer linear as deployed: a single dense layer, or a low-rank chain in → r → out.</summary>
public sealed record LinearChain(IReadOnlyList<DenseLayer> Layers)
{
    public int In => Layers[0].In;
    public int Out => Layers[^1].Out;
    public static LinearChain Dense(DenseLayer layer) => new([layer]);
}

public sealed record LayerNormWeights(float[] Scale, float[] Bias);

/// <summary>A pre-norm block; attention has <see cref="Heads"/> heads of the model's head dim.</summary>
public sealed record VitBlockWeights(int Heads, LayerNormWeights Norm1, LinearChain Qkv, LinearChain Projection,
    LayerNormWeights Norm2, LinearChain Fc1, LinearChain Fc2);

/// <summary>
/// Everything needed to write a class-token ViT as ONNX: patch embedding ([Embed, Channels, Patch, Patch]),
/// class token, positions ([1 + patches, Embed]), blocks, final norm and head ([Classes, Embed]).
/// </summary>
public sealed record VitWeights(string Name, int Channels, int Height, int Width, int Patch, int Embed, int HeadDim,
    float LayerNormEpsilon, float[] PatchWeight, float[] PatchBias, float[] ClassToken, float[] Positions,
    IReadOnlyList<VitBlockWeights> Blocks, LayerNormWeights Norm, DenseLayer Head)
{
    public int Patches => Height / Patch * (Width / Patch);
    public int Tokens => Patches + 1;
    public int Classes => Head.Out;
}
