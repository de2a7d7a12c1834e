namespace McuFormer.Model.Onnx;

/// <summary>
/// The source model cannot be imported; the message is one line naming file, node, op and opset. Line breaks in it
/// (a value name may hold one) become spaces.
/// </summary>
public sealed class ModelImportException(string message) : Exception(message.ReplaceLineEndings(" "));
