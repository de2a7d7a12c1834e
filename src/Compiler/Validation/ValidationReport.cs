using System.Text.Json.Serialization;

namespace McuFormer.Compiler.Validation;

/// <summary>What `mcuformer validate` measured: the int8 model on runtime-c against the float model on ONNX Runtime.</summary>
public sealed record ValidationReport
{
    [JsonPropertyName("model")] public required string Model { get; init; }
    [JsonPropertyName("data")] public required string Data { get; init; }
    [JsonPropertyName("samples")] public required int Samples { get; init; }
    /// <summary>Percent; null when the data has no labels.</summary>
    [JsonPropertyName("top1_float")] public double? Top1Float { get; init; }
    [JsonPropertyName("top1_int8")] public double? Top1Int8 { get; init; }
    /// <summary>Percent of samples where int8 and float pick the same class.</summary>
    [JsonPropertyName("agreement")] public required double Agreement { get; init; }
    [JsonPropertyName("cosine_mean")] public required double CosineMean { get; init; }
    [JsonPropertyName("cosine_min")] public required double CosineMin { get; init; }
    [JsonPropertyName("calibration")] public required CalibrationInfo Calibration { get; init; }
    [JsonPropertyName("layer_samples")] public required int LayerSamples { get; init; }
    [JsonPropertyName("layers")] public required IReadOnlyList<LayerAgreement> Layers { get; init; }
    /// <summary>One line per layer whose cosine (or prefix-token cosine) falls below Validator.LayerCosineWarning.</summary>
    [JsonPropertyName("warnings")] public required IReadOnlyList<string> Warnings { get; init; }
    [JsonPropertyName("seconds")] public required double Seconds { get; init; }
}

public sealed record CalibrationInfo(
    [property: JsonPropertyName("data")] string Data,
    [property: JsonPropertyName("samples")] int Samples,
    [property: JsonPropertyName("method")] string Method);

/// <summary>
/// Mean cosine between one int8 buffer (dequantized) and the float value it stands for; for a
/// buffer whose prefix tokens (class, distillation, register) have their own quantization, also
/// the cosine of those rows alone, which the whole-tensor figure hides.
/// </summary>
public sealed record LayerAgreement(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("op")] string Op,
    [property: JsonPropertyName("value")] string Value,
    [property: JsonPropertyName("cosine")] double Cosine,
    [property: JsonPropertyName("prefix_cosine")] double? PrefixCosine = null);
