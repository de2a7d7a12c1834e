
namespace McuFormer.Compiler.Validation;

/// <summary>What `mcuformer validate` measured: the int8 model on runtime-c against the float model on ONNX Runtime.</summary>
public sealed record ValidationReport
{
    public required string Model { get; init; }
    public required string Data { get; init; }
    public required int Samples { get; init; }
    /// <summary>Percent; null when the data has no labels.</summary>
    public double? Top1Float { get; init; }
    public double? Top1Int8 { get; init; }
    /// <summary>Percent of samples where int8 and float pick the same class.</summary>
    public required double Agreement { get; init; }
    public required double CosineMean { get; init; }
    public required double CosineMin { get; init; }
    public required CalibrationInfo Calibration { get; init; }
    public required int LayerSamples { get; init; }
    public required IReadOnlyList<LayerAgreement> Layers { get; init; }
    /// <summary>One line per layer whose cosine (or prefix-token cosine) falls below Validator.LayerCosineWarning.</summary>
    public required IReadOnlyList<string> Warnings { get; init; }
    public required double Seconds { get; init; }
}

public sealed record CalibrationInfo(
    string Data,
    int Samples,
    string Method);

/// <summary>
/// Mean cosine between one int8 buffer (dequantized) and the float value it stands for; for a
/// buffer whose prefix tokens (class, distillation, register) have their own quantization, also
/// the cosine of those rows alone, which the whole-tensor figure hides.
/// </summary>
public sealed record LayerAgreement(
    string Name,
    string Op,
    string Value,
    double Cosine,
    double? PrefixCosine = null);
