using McuFormer.Model.Ir;

namespace McuFormer.Model.Onnx.Lifters;

/// <summary>What a value name of the source model stands for while the importer walks its nodes.</summary>
internal abstract record Value;

/// <summary>A value known at import time: an initializer, a Constant node or a fold of constants.</summary>
internal sealed record Constant(ConstTensor Tensor) : Value;

/// <summary>expr(source), where source is a view of a buffer holding the value named SourceName.</summary>
internal sealed record Activation(View Source, string SourceName, ElementwiseExpr Expr) : Value;
