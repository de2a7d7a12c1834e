using McuFormer.Model.Datasets;
using McuFormer.Model.Ir;
using McuFormer.Model.Onnx;

namespace McuFormer.Model.Quantization;

/// <summary>Quantizes a graph from activation ranges that ONNX Runtime observes on calibration samples.</summary>
public static class Calibrator
{
    public const double DefaultPercentile = 99.99;

    public static QuantizedModel Calibrate(OnnxModelFile file, ModelGraph graph, Dataset calibration, RangeMethod method,
        double percentile = DefaultPercentile, IProgress<double>? progress = null)
    {
        if (calibration.Count == 0) throw new DatasetException(calibration.Source, "no calibration samples");
        var names = graph.Buffers.Select(b => b.Source!.Name).Distinct().ToList();
        // A split buffer is dense, so its value's first elements are its prefix rows.
        var splitElements = PrefixTokens.Find(graph);
        var splits = splitElements.Select(s => (Name: s.Key.Source!.Name, Elements: s.Value)).Distinct().ToList();
        for (int i = 0; i < calibration.Count; i++)
            if (FirstNonFinite(calibration.Sample(i)) is { } value)
                throw new DatasetException(calibration.Source, $"calibration sample {i} holds {value}; samples must be finite");
        using var reference = new FloatReference(file, names);
        var estimator = new RangeEstimator();
        int passes = method == RangeMethod.Percentile ? 2 : 1;
        for (int pass = 0; pass < passes; pass++)
            for (int i = 0; i < calibration.Count; i++)
            {
                var outputs = reference.Run(calibration.Sample(i));
                void Observe(string key, ReadOnlySpan<float> values)
                {
                    if (pass == 0) estimator.ObserveExtremes(key, values);
                    else estimator.ObserveHistogram(key, values);
                }
                foreach (var name in names)
                {
                    if (pass == 0 && FirstNonFinite(outputs[name]) is { } value)
                        throw new ModelImportException($"{file.Path}: value '{name}' is {value} on calibration sample {i}: the float model overflows (weights or inputs too large)");
                    Observe(name, outputs[name]);
                }
                foreach (var (name, elements) in splits)
                {
                    Observe(GroupKey(name, elements, TokenGroup.Prefix), outputs[name].AsSpan(0, elements));
                    Observe(GroupKey(name, elements, TokenGroup.Rest), outputs[name].AsSpan(elements));
                }
                progress?.Report((pass * calibration.Count + i + 1) / (double)(passes * calibration.Count));
            }
        return Quantizer.Quantize(graph, (buffer, group) => estimator.Range(
            group == TokenGroup.All ? buffer.Source!.Name : GroupKey(buffer.Source!.Name, splitElements[buffer], group), method, percentile),
            method, calibration.Count);
    }

    private static float? FirstNonFinite(ReadOnlySpan<float> values)
    {
        foreach (var v in values)
            if (!float.IsFinite(v)) return v;
        return null;
    }

    /// <summary>The range estimator's key for one row group of a value; no ONNX value name contains a NUL.</summary>
    private static string GroupKey(string name, int prefixElements, TokenGroup group) => $"{name}\0{group}\0{prefixElements}";
}
