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
        using var reference = new FloatReference(file, names);
        var estimator = new RangeEstimator();
        int passes = method == RangeMethod.Percentile ? 2 : 1;
        for (int pass = 0; pass < passes; pass++)
            for (int i = 0; i < calibration.Count; i++)
            {
                var outputs = reference.Run(calibration.Sample(i));
                foreach (var name in names)
                {
                    if (pass == 0) estimator.ObserveExtremes(name, outputs[name]);
                    else estimator.ObserveHistogram(name, outputs[name]);
                }
                progress?.Report((pass * calibration.Count + i + 1) / (double)(passes * calibration.Count));
            }
        return Quantizer.Quantize(graph, buffer => estimator.Range(buffer.Source!.Name, method, percentile), method, calibration.Count);
    }
}
