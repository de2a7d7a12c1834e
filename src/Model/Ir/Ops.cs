namespace McuFormer.Model.Ir;

/// <summary>
/// One operator of the transformer graph, at the level the planner and code generator work:
/// each reads views of earlier buffers (and its own float parameters) and writes one new buffer.
/// </summary>
public abstract class Op
{
    protected Op(string name, ActivationBuffer output)
    {
        Name = name;
        Output = output;
    }

    public string Name { get; }
    public ActivationBuffer Output { get; }
    public abstract string Kind { get; }
    public abstract IReadOnlyList<View> Inputs { get; }
    /// <summary>Multiply-accumulates per inference.</summary>
    public abstract long Macs { get; }
    /// <summary>Learned parameters of the source model that this op carries (weights, biases, embeddings).</summary>
    public abstract long Parameters { get; }
    /// <summary>Bytes of constant data once quantized to int8 (weights) and int32 (biases, per-channel parameters).</summary>
    public abstract long ParameterBytes { get; }

    public override string ToString() => $"{Kind} {Name} -> {Output}";
}

/// <summary>Convolution with kernel = stride = patch over a CHW image; tokens out, row-major [grid_h·grid_w, embed].</summary>
public sealed class PatchEmbedOp(string name, ActivationBuffer output, View image, float[] weights, float[]? bias,
    int embed, int patch, int padTop, int padLeft, int gridH, int gridW) : Op(name, output)
{
    public View Image { get; } = image;
    /// <summary>[embed][channels][patch][patch]</summary>
    public float[] Weights { get; } = weights;
    public float[]? Bias { get; } = bias;
    public int Embed { get; } = embed;
    public int Patch { get; } = patch;
    public int PadTop { get; } = padTop;
    public int PadLeft { get; } = padLeft;
    public int GridH { get; } = gridH;
    public int GridW { get; } = gridW;
    public int Channels => Image.Shape[0];
    public override string Kind => "patch_embed";
    public override long Parameters => Weights.Length + (Bias?.Length ?? 0);
    public override IReadOnlyList<View> Inputs => [Image];
    public override long Macs => (long)GridH * GridW * Embed * Channels * Patch * Patch;
    public override long ParameterBytes => Weights.Length + Embed * (Bias is null ? 8L : 12L);
}

/// <summary>Fully connected layer applied to each row of a token matrix: [rows, in] → [rows, out].</summary>
public sealed class LinearOp(string name, ActivationBuffer output, View input, int rows, int rowStride,
    int inFeatures, int outFeatures, float[] weights, float[]? bias) : Op(name, output)
{
    public View Input { get; } = input;
    public int Rows { get; } = rows;
    public int InputRowStride { get; } = rowStride;
    public int InFeatures { get; } = inFeatures;
    public int OutFeatures { get; } = outFeatures;
    /// <summary>[out][in] row-major.</summary>
    public float[] Weights { get; } = weights;
    public float[]? Bias { get; } = bias;
    public override string Kind => "linear";
    public override long Parameters => Weights.Length + (Bias?.Length ?? 0);
    public override IReadOnlyList<View> Inputs => [Input];
    public override long Macs => (long)Rows * InFeatures * OutFeatures;
    public override long ParameterBytes => (long)InFeatures * OutFeatures + OutFeatures * (Bias is null ? 8L : 12L);

    /// <summary>The same layer over the same buffers with other parameters (a bias or scale folded in).</summary>
    public LinearOp WithParameters(float[] weights, float[]? bias) =>
        new(Name, Output, Input, Rows, InputRowStride, InFeatures, OutFeatures, weights, bias);
}

/// <summary>LayerNorm over the last axis of each row.</summary>
public sealed class LayerNormOp(string name, ActivationBuffer output, View input, int rows, int rowStride, int dim,
    float[] gamma, float[] beta, float epsilon) : Op(name, output)
{
    public View Input { get; } = input;
    public int Rows { get; } = rows;
    public int InputRowStride { get; } = rowStride;
    public int Dim { get; } = dim;
    public float[] Gamma { get; } = gamma;
    public float[] Beta { get; } = beta;
    public float Epsilon { get; } = epsilon;
    public override string Kind => "layernorm";
    public override long Parameters => 2L * Dim;
    public override IReadOnlyList<View> Inputs => [Input];
    public override long Macs => (long)Rows * Dim * 4;
    public override long ParameterBytes => Dim * 8L + 8;
}

/// <summary>
/// An element-wise function of one tensor (GELU in either form, or any other chain of unary
/// operations), evaluated on int8 through a 256-entry table.
/// </summary>
public sealed class ElementwiseOp(string name, ActivationBuffer output, View input, string function,
    Func<double, double> evaluate) : Op(name, output)
{
    public View Input { get; } = input;
    /// <summary>"gelu", "gelu_tanh" or "elementwise".</summary>
    public string Function { get; } = function;
    public Func<double, double> Evaluate { get; } = evaluate;
    public override string Kind => Function;
    public override long Parameters => 0;
    public override IReadOnlyList<View> Inputs => [Input];
    public override long Macs => 0;
    public override long ParameterBytes => 256;
}

/// <summary>
/// Batched product of two activations, alpha · A·B, one batch per attention head.
/// A is [batch, m, k], B is [batch, k, n] (any strides); the output is laid out [m, batch, n] so
/// that heads concatenate along the feature axis.
/// </summary>
public sealed class MatMulOp(string name, ActivationBuffer output, View a, View b, int batch, int m, int k, int n,
    int aBatchStride, int bBatchStride, double alpha) : Op(name, output)
{
    public View A { get; } = a;
    public View B { get; } = b;
    public int Batch { get; } = batch;
    public int M { get; } = m;
    public int K { get; } = k;
    public int N { get; } = n;
    public int ABatchStride { get; } = aBatchStride;
    public int BBatchStride { get; } = bBatchStride;
    /// <summary>Scalar folded in from the source model (the 1/√d of attention).</summary>
    public double Alpha { get; } = alpha;
    /// <summary>Rows of A and B as (row stride, column stride) over their last two axes.</summary>
    public (int Row, int Col) AStrides => (A.Strides[^2], A.Strides[^1]);
    public (int Row, int Col) BStrides => (B.Strides[^2], B.Strides[^1]);
    public override string Kind => "matmul";
    public override long Parameters => 0;
    public override IReadOnlyList<View> Inputs => [A, B];
    public override long Macs => (long)Batch * M * K * N;
    public override long ParameterBytes => 8;

    /// <summary>The same product over the same buffers with another scalar (a scale folded in).</summary>
    public MatMulOp WithAlpha(double alpha) => new(Name, Output, A, B, Batch, M, K, N, ABatchStride, BBatchStride, alpha);
}

/// <summary>Softmax over contiguous rows of the input buffer.</summary>
public sealed class SoftmaxOp(string name, ActivationBuffer output, View input, int rows, int length) : Op(name, output)
{
    public View Input { get; } = input;
    public int Rows { get; } = rows;
    public int Length { get; } = length;
    public override string Kind => "softmax";
    public override long Parameters => 0;
    public override IReadOnlyList<View> Inputs => [Input];
    public override long Macs => (long)Rows * Length * 2;
    public override long ParameterBytes => 512;
}

/// <summary>Element-wise sum of two activations with the same layout (residual connection).</summary>
public sealed class AddOp(string name, ActivationBuffer output, View a, View b) : Op(name, output)
{
    public View A { get; } = a;
    public View B { get; } = b;
    public override string Kind => "add";
    public override long Parameters => 0;
    public override IReadOnlyList<View> Inputs => [A, B];
    public override long Macs => 0;
    public override long ParameterBytes => 20;
}

/// <summary>Element-wise sum of an activation and a constant of the same shape (positional embedding).</summary>
public sealed class AddConstantOp(string name, ActivationBuffer output, View input, float[] constant) : Op(name, output)
{
    public View Input { get; } = input;
    /// <summary>One value per buffer element, in the buffer's physical order.</summary>
    public float[] Constant { get; } = constant;
    public override string Kind => "add_const";
    public override long Parameters => Constant.Length;
    public override IReadOnlyList<View> Inputs => [Input];
    public override long Macs => 0;
    public override long ParameterBytes => Constant.Length + 20;
}

/// <summary>Concatenation of activations and constants (the class token) into a new dense buffer.</summary>
public sealed class ConcatOp(string name, ActivationBuffer output, IReadOnlyList<ConcatPart> parts) : Op(name, output)
{
    public IReadOnlyList<ConcatPart> Parts { get; } = parts;
    public override string Kind => "concat";
    public override long Parameters => Parts.Sum(p => p.Constant?.Length ?? 0);
    public override IReadOnlyList<View> Inputs => Parts.Where(p => p.Input is not null).Select(p => p.Input!).ToList();
    public override long Macs => 0;
    public override long ParameterBytes => Parts.Sum(p => p.Constant?.Length ?? 0);
}

/// <summary>
/// One piece of a concatenation: where it lands in the output (a view of the output buffer) and
/// what fills it, either an activation view of the same shape or constant values in row-major order.
/// </summary>
public sealed record ConcatPart(View Destination, View? Input, float[]? Constant);

/// <summary>Mean over the token axis: [rows, dim] → [dim].</summary>
public sealed class MeanTokensOp(string name, ActivationBuffer output, View input, int rows, int rowStride, int dim) : Op(name, output)
{
    public View Input { get; } = input;
    public int Rows { get; } = rows;
    public int InputRowStride { get; } = rowStride;
    public int Dim { get; } = dim;
    public override string Kind => "mean_tokens";
    public override long Parameters => 0;
    public override IReadOnlyList<View> Inputs => [Input];
    public override long Macs => (long)Rows * Dim;
    public override long ParameterBytes => 8;
}

/// <summary>Copies a strided view into a dense row-major buffer (a layout change the next op needs).</summary>
public sealed class CopyOp(string name, ActivationBuffer output, View input) : Op(name, output)
{
    public View Input { get; } = input;
    public override string Kind => "copy";
    public override long Parameters => 0;
    public override IReadOnlyList<View> Inputs => [Input];
    public override long Macs => 0;
    public override long ParameterBytes => 0;
}
