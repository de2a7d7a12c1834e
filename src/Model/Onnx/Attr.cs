namespace McuFormer.Model.Onnx;

/// <summary>Typed access to node attributes with ONNX defaults.</summary>
public static class Attr
{
    public static long Int(OnnxNode node, string name, long fallback) =>
        node.Attributes.TryGetValue(name, out var a) ? a.I : fallback;

    public static float Float(OnnxNode node, string name, float fallback) =>
        node.Attributes.TryGetValue(name, out var a) ? a.F : fallback;

    public static int[]? Ints(OnnxNode node, string name) =>
        node.Attributes.TryGetValue(name, out var a) ? a.Ints.Select(v => (int)v).ToArray() : null;

    public static string? String(OnnxNode node, string name) =>
        node.Attributes.TryGetValue(name, out var a) ? a.S.ToStringUtf8() : null;
}
