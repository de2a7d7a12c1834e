using McuFormer.Model.Ir;

namespace McuFormer.Model.Onnx.Lifters;

/// <summary>Conv, supported as the patch embedding only: kernel = stride over the model input.</summary>
internal sealed class PatchEmbeddingLifter(LiftContext context)
{
    public void LiftConv(OnnxNode node)
    {
        var inputBuffer = context.InputBuffer;
        var image = context.MaterializeInput(node, 0);
        if (image.Buffer != inputBuffer || !image.IsDenseRowMajor)
            throw context.Error(node, "Conv is supported only as the patch embedding applied to the model input");
        var weight = context.RequireConst(node, 1, "the convolution weight");
        var bias = context.ConstInput(node, 2);
        if (weight.Rank != 4 || weight.ElementCount == 0)
            throw context.Error(node, $"weight of shape {Shapes.Format(weight.Shape)} is not a non-empty [embed, channels, height, width] kernel");
        int embed = weight.Shape[0], channels = weight.Shape[1], kh = weight.Shape[2], kw = weight.Shape[3];
        if (bias is not null && bias.ElementCount != embed)
            throw context.Error(node, $"bias has {bias.ElementCount} values for {embed} output channels");
        var strides = Attr.Ints(context.File, node, "strides") ?? [1, 1];
        var dilations = Attr.Ints(context.File, node, "dilations") ?? [1, 1];
        var pads = Attr.Ints(context.File, node, "pads") ?? [0, 0, 0, 0];
        if (strides.Length != 2 || dilations.Length != 2 || pads.Length != 4)
            throw context.Error(node, $"strides, dilations and pads have {strides.Length}, {dilations.Length} and {pads.Length} values; a 2-D convolution has 2, 2 and 4");
        if (pads.Any(p => p < 0 || p >= kh))
            throw context.Error(node, $"pads [{string.Join(", ", pads)}] are not zero padding of less than a patch ({kh})");
        if (Attr.Int(context.File, node, "group", 1) != 1 || kh != kw || strides[0] != kh || strides[1] != kw || dilations.Any(d => d != 1))
            throw context.Error(node, $"only patch-embedding convolutions (kernel = stride, no groups or dilation) are supported; got kernel {kh}x{kw}, stride {strides[0]}x{strides[1]}");
        if (Attr.String(context.File, node, "auto_pad") is { } autoPad && autoPad is not ("NOTSET" or "VALID"))
            throw context.Error(node, $"auto_pad {autoPad} is not supported");
        int height = image.Shape[2], width = image.Shape[3];
        if (channels != image.Shape[1]) throw context.Error(node, $"weight expects {channels} channels, input has {image.Shape[1]}");
        int gridH = (height + pads[0] + pads[2] - kh) / kh + 1;
        int gridW = (width + pads[1] + pads[3] - kw) / kw + 1;
        var buffer = new ActivationBuffer(node.Name, [gridH * gridW, embed]);
        // The tokens are stored [grid_h·grid_w, embed]; the Conv's output is read as NCHW over them.
        var layout = new View(buffer, 0, [1, embed, gridH, gridW], [gridH * gridW * embed, 1, gridW * embed, embed]);
        var imageView = new View(inputBuffer, 0, inputBuffer.Shape, Shapes.DenseStrides(inputBuffer.Shape));
        context.EmitAndBind(new PatchEmbedOp(node.Name, buffer, imageView, weight.AsFloats(), bias?.AsFloats(), embed, kh, pads[0], pads[1], gridH, gridW),
            node.Outputs[0], layout);
    }
}
