using Onnx;
using AttributeType = Onnx.AttributeProto.Types.AttributeType;

namespace McuFormer.Model.Onnx;

/// <summary>
/// Typed access to node attributes with ONNX defaults. An attribute of another type than the operator's schema
/// gives, or an integer beyond the int range mcuformer computes in, is an error naming the node.
/// </summary>
public static class Attr
{
    /// <summary>An INT attribute as ONNX holds it, for values (not sizes or axes) that may exceed the int range.</summary>
    public static long Long(OnnxModelFile file, OnnxNode node, string name, long fallback) =>
        Get(file, node, name, AttributeType.Int) is { } a ? a.I : fallback;

    public static long[]? Longs(OnnxModelFile file, OnnxNode node, string name) =>
        Get(file, node, name, AttributeType.Ints) is { } a ? a.Ints.ToArray() : null;

    public static int Int(OnnxModelFile file, OnnxNode node, string name, int fallback) =>
        Get(file, node, name, AttributeType.Int) is { } a ? Narrow(file, node, name, a.I) : fallback;

    public static float Float(OnnxModelFile file, OnnxNode node, string name, float fallback) =>
        Get(file, node, name, AttributeType.Float) is { } a ? a.F : fallback;

    public static int[]? Ints(OnnxModelFile file, OnnxNode node, string name) =>
        Get(file, node, name, AttributeType.Ints) is { } a ? a.Ints.Select(v => Narrow(file, node, name, v)).ToArray() : null;

    public static float[]? Floats(OnnxModelFile file, OnnxNode node, string name) =>
        Get(file, node, name, AttributeType.Floats) is { } a ? a.Floats.ToArray() : null;

    public static string? String(OnnxModelFile file, OnnxNode node, string name) =>
        Get(file, node, name, AttributeType.String) is { } a ? a.S.ToStringUtf8() : null;

    public static TensorProto? Tensor(OnnxModelFile file, OnnxNode node, string name) =>
        Get(file, node, name, AttributeType.Tensor) is { } a ? a.T ?? throw file.Error(node, $"attribute '{name}' holds no tensor") : null;

    /// <summary>The "axis" attribute as an axis of a tensor of that rank (a negative one counts from the end).</summary>
    public static int Axis(OnnxModelFile file, OnnxNode node, int fallback, int rank) =>
        ConstantEvaluator.Axis(node, Int(file, node, "axis", fallback), rank, file);

    private static AttributeProto? Get(OnnxModelFile file, OnnxNode node, string name, AttributeType type)
    {
        if (!node.Attributes.TryGetValue(name, out var attribute)) return null;
        return attribute.Type == type ? attribute
            : throw file.Error(node, $"attribute '{name}' is of type {attribute.Type.ToString().ToUpperInvariant()}, expected {type.ToString().ToUpperInvariant()}");
    }

    private static int Narrow(OnnxModelFile file, OnnxNode node, string name, long value) =>
        value is >= int.MinValue and <= int.MaxValue ? (int)value : throw file.Error(node, $"attribute '{name}' holds {value}, outside the int range");
}
