namespace McuFormer.Model.Datasets;

/// <summary>
/// Reads IDX files, the format MNIST and Fashion-MNIST ship in: a big-endian magic number
/// 0x0000TTDD (TT element type, DD dimension count), DD big-endian int32 sizes, then the data.
/// Only unsigned-byte images [N][H][W] and labels [N] are supported.
/// </summary>
internal static class IdxReader
{
    private const int UnsignedByteType = 0x08;
    private const int ImagesMagic = 0x00000803;
    private const int LabelsMagic = 0x00000801;

    /// <summary>Whether the content starts like an IDX file (two zero bytes), so IDX errors are reported for it.</summary>
    public static bool LooksLikeIdx(ReadOnlySpan<byte> prefix) => prefix is [0, 0, _, _, ..];

    /// <param name="labelsPath">Labels file, or null for an unlabelled dataset.</param>
    public static Dataset Load(string imagesPath, string? labelsPath, int[] sampleShape, int? limit)
    {
        using var images = DataFile.Open(imagesPath);
        var imageDimensions = ReadHeader(images, imagesPath, ImagesMagic, "images");
        int imageCount = imageDimensions[0];
        int height = imageDimensions[1];
        int width = imageDimensions[2];
        long headerBytes = 4 + 4 * imageDimensions.Length;
        long imageBytes = (long)height * width;
        DataFile.CheckSampleSize(imageBytes, imagesPath);
        DataFile.CheckLength(images, imagesPath, headerBytes + imageCount * imageBytes, $"{imageCount} images of {height}x{width}");

        using var labels = labelsPath is null ? null : DataFile.Open(labelsPath);
        if (labels is not null)
        {
            int labelCount = ReadHeader(labels, labelsPath!, LabelsMagic, "labels")[0];
            if (labelCount != imageCount)
            {
                throw new DatasetException(labelsPath!, $"holds {labelCount} labels but {imagesPath} holds {imageCount} images");
            }
            DataFile.CheckLength(labels, labelsPath!, 8 + labelCount, $"{labelCount} labels");
        }

        int loadCount = Math.Min(imageCount, limit ?? int.MaxValue);
        DataFile.CheckLoad(loadCount, imageBytes, imagesPath, $"images of {height}x{width}");
        var convert = ArraySampleLayout.Plan([height, width], sampleShape, imagesPath);
        var samples = ReadImages(images, imagesPath, loadCount, (int)imageBytes, convert);
        int[]? labelValues = labels is null ? null : ReadLabels(labels, labelsPath!, loadCount);
        return new Dataset(imagesPath, sampleShape, samples, labelValues, []);
    }

    /// <summary>Validates the magic number and returns the dimension sizes.</summary>
    private static int[] ReadHeader(DataFile.Content content, string path, int expectedMagic, string kind)
    {
        int magic = DataFile.ReadInt32BigEndian(content, path, "the IDX magic number");
        if (magic != expectedMagic)
        {
            throw new DatasetException(path, DescribeWrongMagic(magic, expectedMagic, kind));
        }
        var dimensions = new int[magic & 0xff];
        for (int index = 0; index < dimensions.Length; index++)
        {
            dimensions[index] = DataFile.ReadInt32BigEndian(content, path, "the IDX header");
            // Sizes are unsigned in the format; a negative int32 means a size of 2^31 or more.
            if (dimensions[index] <= 0)
            {
                throw new DatasetException(path,
                    $"IDX dimension {index} has size {(uint)dimensions[index]}; sizes must be between 1 and {int.MaxValue}");
            }
        }
        return dimensions;
    }

    private static string DescribeWrongMagic(int magic, int expectedMagic, string kind)
    {
        int elementType = (magic >> 8) & 0xff;
        if (magic >>> 16 == 0 && elementType != UnsignedByteType)
        {
            return $"IDX element type 0x{elementType:X2} is not supported; only unsigned bytes (0x08) are";
        }
        return magic switch
        {
            ImagesMagic => $"is an IDX images file, expected {kind}",
            LabelsMagic => $"is an IDX labels file, expected {kind} (pass the images file; its labels are found by name)",
            _ => $"not an IDX {kind} file: magic number 0x{magic:X8}, expected 0x{expectedMagic:X8}",
        };
    }

    private static float[][] ReadImages(DataFile.Content images, string path, int count, int imageBytes, Func<float[], float[]> convert)
    {
        // Grown sample by sample rather than sized from the header, which a corrupt gzipped file
        // could inflate to billions; a lying header then ends as a truncation error.
        var samples = new List<float[]>();
        var pixels = new byte[imageBytes];
        for (int index = 0; index < count; index++)
        {
            DataFile.ReadExactly(images, pixels, path, $"image {index}");
            var values = new float[imageBytes];
            for (int pixel = 0; pixel < imageBytes; pixel++)
            {
                values[pixel] = pixels[pixel] / 255f;
            }
            samples.Add(convert(values));
        }
        return [.. samples];
    }

    private static int[] ReadLabels(DataFile.Content labels, string path, int count)
    {
        var bytes = new byte[count];
        DataFile.ReadExactly(labels, bytes, path, $"{count} labels");
        return [.. bytes.Select(label => (int)label)];
    }
}
