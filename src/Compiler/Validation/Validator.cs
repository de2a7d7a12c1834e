using System.Diagnostics;
using McuFormer.Model.Datasets;
using McuFormer.Model.Ir;
using McuFormer.Model.Onnx;
using McuFormer.Model.Quantization;
using McuFormer.Pipeline.HostRuntime;

namespace McuFormer.Compiler.Validation;

public sealed record ValidationOptions(string ModelPath, string DataPath, int? Limit, string? CalibrationPath,
    int CalibrationSamples, RangeMethod RangeMethod, int LayerSamples);

/// <summary>
/// Quantizes a model, runs it through runtime-c on this host and through ONNX Runtime in float
/// on the same samples, and compares logits and every intermediate buffer.
/// </summary>
public static class Validator
{
    /// <summary>A layer whose int8 values agree less than this with float is named in a warning.</summary>
    public const double LayerCosineWarning = 0.99;

    public static ValidationReport Validate(ValidationOptions options, IProgress<(string Stage, double Fraction)>? progress = null)
    {
        var clock = Stopwatch.StartNew();
        var file = OnnxModelFile.Load(options.ModelPath);
        var graph = OnnxImporter.Import(file);
        var sampleShape = graph.Input.SampleShape;
        var data = DatasetLoader.Load(options.DataPath, sampleShape, DatasetSplit.Test, options.Limit);
        if (data.Count == 0) throw new DatasetException(options.DataPath, "no samples");
        var calibrationPath = options.CalibrationPath ?? options.DataPath;
        var calibration = DatasetLoader.Load(calibrationPath, sampleShape, DatasetSplit.Train, options.CalibrationSamples);

        var quantized = Calibrator.Calibrate(file, graph, calibration, options.RangeMethod,
            progress: new Progress<double>(f => progress?.Report(("calibrating", f))));
        var (floatLogits, intLogits) = RunAll(file, quantized, data, progress);

        int floatCorrect = 0, intCorrect = 0, agree = 0;
        double cosineSum = 0, cosineMin = double.PositiveInfinity;
        for (int i = 0; i < data.Count; i++)
        {
            int floatClass = ArgMax(floatLogits[i]), intClass = ArgMax(intLogits[i]);
            if (floatClass == data.Label(i)) floatCorrect++;
            if (intClass == data.Label(i)) intCorrect++;
            if (floatClass == intClass) agree++;
            double cosine = Cosine(floatLogits[i], intLogits[i]);
            cosineSum += cosine;
            cosineMin = Math.Min(cosineMin, cosine);
        }
        int layerSamples = Math.Min(options.LayerSamples, data.Count);
        var layers = LayerCosines(file, quantized, data, layerSamples);
        double Percent(int count) => 100.0 * count / data.Count;
        return new ValidationReport
        {
            Model = options.ModelPath,
            Data = data.Source,
            Samples = data.Count,
            Top1Float = data.HasLabels ? Percent(floatCorrect) : null,
            Top1Int8 = data.HasLabels ? Percent(intCorrect) : null,
            Agreement = Percent(agree),
            CosineMean = cosineSum / data.Count,
            CosineMin = cosineMin,
            Calibration = new CalibrationInfo(calibration.Source, calibration.Count, options.RangeMethod.ToString().ToLowerInvariant()),
            LayerSamples = layerSamples,
            Layers = layers,
            Warnings = Warnings(layers),
            Seconds = clock.Elapsed.TotalSeconds,
        };
    }

    /// <summary>Float logits from ONNX Runtime and dequantized int8 logits from runtime-c, per sample.</summary>
    private static (float[][] Float, float[][] Int8) RunAll(OnnxModelFile file, QuantizedModel model, Dataset data,
        IProgress<(string, double)>? progress)
    {
        var floatLogits = new float[data.Count][];
        var intLogits = new float[data.Count][];
        using var reference = new FloatReference(file, []);
        var outputQuant = model.OutputQuant;
        int done = 0;
        int workers = Math.Max(1, Math.Min(Environment.ProcessorCount, 4));
        Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers }, worker =>
        {
            using var executor = new HostExecutor(model);
            for (int i = worker; i < data.Count; i += workers)
            {
                floatLogits[i] = reference.Run(data.Sample(i))[file.Outputs[0]];
                intLogits[i] = executor.Run(data.Sample(i)).Select(q => (float)outputQuant.Dequantize(q)).ToArray();
                int finished = Interlocked.Increment(ref done);
                if (finished % 64 == 0 || finished == data.Count) progress?.Report(("running", finished / (double)data.Count));
            }
        });
        return (floatLogits, intLogits);
    }

    private static List<LayerAgreement> LayerCosines(OnnxModelFile file, QuantizedModel model, Dataset data, int samples)
    {
        var buffers = model.Graph.Ops.Select(o => o.Output).ToList();
        var sums = new double[buffers.Count];
        var prefixSums = new double[buffers.Count];
        if (samples > 0)
        {
            using var reference = new FloatReference(file, buffers.Select(b => b.Source!.Name).Distinct().ToList());
            using var executor = new HostExecutor(model);
            for (int i = 0; i < samples; i++)
            {
                var expected = reference.Run(data.Sample(i));
                executor.Run(data.Sample(i));
                for (int b = 0; b < buffers.Count; b++)
                {
                    var source = buffers[b].Source!;
                    var actual = model.Dequantize(source.Layout, executor.Read(source.Layout));
                    sums[b] += Cosine(expected[source.Name], actual);
                    // A split buffer is dense: its prefix rows are the value's first elements.
                    if (model.Prefixes.TryGetValue(buffers[b], out var prefix))
                        prefixSums[b] += Cosine(expected[source.Name].AsSpan(0, prefix.Elements), actual.AsSpan(0, prefix.Elements));
                }
            }
        }
        return model.Graph.Ops.Select((op, b) => new LayerAgreement(op.Name, op.Kind, op.Output.Source!.Name,
            samples > 0 ? sums[b] / samples : double.NaN,
            samples > 0 && model.Prefixes.ContainsKey(op.Output) ? prefixSums[b] / samples : null)).ToList();
    }

    private static List<string> Warnings(IEnumerable<LayerAgreement> layers)
    {
        var warnings = new List<string>();
        foreach (var layer in layers)
        {
            if (layer.Cosine < LayerCosineWarning)
                warnings.Add($"layer '{layer.Name}' ({layer.Op}): int8 cosine {layer.Cosine:F4} is below {LayerCosineWarning}");
            if (layer.PrefixCosine is { } prefix && prefix < LayerCosineWarning)
                warnings.Add($"layer '{layer.Name}' ({layer.Op}): int8 cosine of the class/prefix tokens {prefix:F4} is below {LayerCosineWarning}");
        }
        return warnings;
    }

    public static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
            if (values[i] > values[best]) best = i;
        return best;
    }

    /// <summary>Cosine similarity; two all-zero vectors count as identical.</summary>
    public static double Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            dot += (double)a[i] * b[i];
            na += (double)a[i] * a[i];
            nb += (double)b[i] * b[i];
        }
        if (na == 0 && nb == 0) return 1;
        if (na == 0 || nb == 0) return 0;
        return dot / Math.Sqrt(na * nb);
    }
}
