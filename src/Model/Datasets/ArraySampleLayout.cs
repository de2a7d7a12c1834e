namespace McuFormer.Model.Datasets;

/// <summary>
/// Decides once per array file how its per-sample shape (the dimensions after the sample count)
/// becomes the model's [C, H, W], and returns the conversion to apply to every sample.
/// </summary>
internal static class ArraySampleLayout
{
    /// <param name="sampleDimensions">Dimensions of one sample, in C order.</param>
    /// <param name="targetShape">The model's [C, H, W].</param>
    /// <param name="path">File named in the error when the shapes cannot be matched.</param>
    /// <returns>A function from one sample's values (C order) to the model's CHW values.</returns>
    public static Func<float[], float[]> Plan(long[] sampleDimensions, int[] targetShape, string path)
    {
        long sampleElements = DataFile.Product(sampleDimensions, path);
        if (sampleElements == 0)
        {
            throw new DatasetException(path, $"per-sample shape ({string.Join(", ", sampleDimensions)}) holds no values");
        }
        DataFile.CheckSampleSize(sampleElements, path);
        long targetElements = DataFile.Product(targetShape.Select(dimension => (long)dimension), path);
        int targetChannels = targetShape[0];

        // Arrays saved from NumPy/TensorFlow pipelines are usually NHWC; a plain reshape would
        // interleave colour channels into rows, so the exact HWC form of the target is transposed.
        if (IsInterleavedFormOf(sampleDimensions, targetShape))
        {
            return sample => SampleConverter.InterleavedToPlanar(sample, targetShape[1], targetShape[2], targetChannels);
        }
        if (sampleElements == targetElements)
        {
            return sample => sample;
        }

        // Otherwise the sample must read as an image that can be resized and colour-converted.
        // Only 1 and 3 channels are accepted here: a 2- or 4-plane array is more likely other data
        // than an image with alpha, and silently dropping a plane would corrupt it.
        // When both readings fit (say [3, 4, 1]), CHW wins: it is the model's own layout.
        bool readsAsPlanar = sampleDimensions is [1 or 3, _, _];
        bool readsAsInterleaved = !readsAsPlanar && sampleDimensions is [_, _, 1 or 3];
        switch (sampleDimensions)
        {
            case [var height, var width]:
                return new SampleConverter(1, (int)height, (int)width, targetShape, path).Convert;
            case [var channels, var height, var width] when readsAsPlanar:
                return new SampleConverter((int)channels, (int)height, (int)width, targetShape, path).Convert;
            case [var height, var width, var channels] when readsAsInterleaved:
                var converter = new SampleConverter((int)channels, (int)height, (int)width, targetShape, path);
                return sample => converter.Convert(SampleConverter.InterleavedToPlanar(sample, (int)height, (int)width, (int)channels));
            default:
                throw new DatasetException(path,
                    $"per-sample shape ({string.Join(", ", sampleDimensions)}) cannot be converted to the model's "
                    + $"[{string.Join(", ", targetShape)}]: it neither has {targetElements} elements nor reads as an "
                    + "[H, W], [C, H, W] or [H, W, C] image with 1 or 3 channels");
        }
    }

    /// <summary>Whether the sample is [H, W, C] for the target [C, H, W] (and not the target itself).</summary>
    private static bool IsInterleavedFormOf(long[] sampleDimensions, int[] targetShape) =>
        sampleDimensions is [var height, var width, var channels]
        && channels > 1
        && channels == targetShape[0] && height == targetShape[1] && width == targetShape[2]
        && !sampleDimensions.SequenceEqual(targetShape.Select(dimension => (long)dimension));
}
