namespace McuFormer.Model.Quantization;

public enum RangeMethod { MinMax, Percentile }

/// <summary>
/// Activation ranges over calibration samples: plain min/max, or the percentile range that
/// ignores rare outliers (two passes: min/max, then a histogram inside them).
/// </summary>
public sealed class RangeEstimator
{
    private const int Bins = 4096;
    private readonly Dictionary<string, (double Min, double Max)> extremes = new();
    private readonly Dictionary<string, long[]> histograms = new();

    public void ObserveExtremes(string name, ReadOnlySpan<float> values)
    {
        var (min, max) = extremes.GetValueOrDefault(name, (double.PositiveInfinity, double.NegativeInfinity));
        foreach (var v in values)
        {
            if (v < min) min = v;
            if (v > max) max = v;
        }
        extremes[name] = (min, max);
    }

    public void ObserveHistogram(string name, ReadOnlySpan<float> values)
    {
        var (min, max) = extremes[name];
        if (!histograms.TryGetValue(name, out var histogram)) histograms[name] = histogram = new long[Bins];
        double width = (max - min) / Bins;
        if (width <= 0) return;
        foreach (var v in values)
            histogram[Math.Clamp((int)((v - min) / width), 0, Bins - 1)]++;
    }

    public (double Min, double Max) Range(string name, RangeMethod method, double percentile)
    {
        if (!extremes.TryGetValue(name, out var range)) throw new KeyNotFoundException($"no calibration data for '{name}'");
        if (method == RangeMethod.MinMax || !histograms.TryGetValue(name, out var histogram)) return range;
        long total = histogram.Sum();
        double tail = total * (100 - percentile) / 100 / 2;
        double width = (range.Max - range.Min) / Bins;
        long below = 0;
        int low = 0;
        while (low < Bins - 1 && below + histogram[low] <= tail) below += histogram[low++];
        long above = 0;
        int high = Bins - 1;
        while (high > low && above + histogram[high] <= tail) above += histogram[high--];
        return (range.Min + low * width, range.Min + (high + 1) * width);
    }
}
