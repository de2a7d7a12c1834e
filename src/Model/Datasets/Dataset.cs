namespace McuFormer.Model.Datasets;

/// <summary>
/// Samples already converted to the model's input shape, held in memory. Immutable: the sample
/// arrays are never written after loading, which lets <see cref="Take"/> share them.
/// </summary>
public sealed class Dataset
{
    private readonly float[][] _samples;
    private readonly int[]? _labels;
    private readonly int[] _sampleShape;
    private readonly IReadOnlyList<string> _classNames;

    internal Dataset(string source, int[] sampleShape, float[][] samples, int[]? labels, IReadOnlyList<string> classNames)
    {
        Source = source;
        _sampleShape = sampleShape;
        _samples = samples;
        _labels = labels;
        // Read-only wrapper: a plain array handed out as IReadOnlyList could be cast back and changed.
        _classNames = Array.AsReadOnly(classNames.ToArray());
    }

    /// <summary>The file or folder the samples came from, for messages.</summary>
    public string Source { get; }

    public int Count => _samples.Length;

    /// <summary>[C, H, W] as requested by the caller; a copy, so callers cannot change it.</summary>
    public int[] SampleShape => (int[])_sampleShape.Clone();

    public bool HasLabels => _labels is not null;

    /// <summary>Class folder names in label order for an image-folder dataset; empty for other formats.</summary>
    public IReadOnlyList<string> ClassNames => _classNames;

    /// <summary>The sample in CHW order; its length is the product of <see cref="SampleShape"/>.</summary>
    public ReadOnlySpan<float> Sample(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        return _samples[index];
    }

    /// <summary>The class index of the sample, or -1 when the dataset is unlabelled.</summary>
    public int Label(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        return _labels is null ? -1 : _labels[index];
    }

    /// <summary>The first <paramref name="count"/> samples, or all of them when there are fewer.</summary>
    public Dataset Take(int count) => Slice(0, count);

    /// <summary>Up to <paramref name="count"/> samples from <paramref name="offset"/> on (fewer when the data ends first).</summary>
    public Dataset Slice(int offset, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        int first = Math.Min(offset, Count), end = Math.Min(Count, first + count);
        return new Dataset(Source, _sampleShape, _samples[first..end], _labels?[first..end], _classNames);
    }
}
