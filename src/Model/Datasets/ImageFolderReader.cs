using StbImageSharp;

namespace McuFormer.Model.Datasets;

/// <summary>
/// Reads PNG, JPEG and BMP images with StbImageSharp, either from one subfolder per class (the
/// torchvision ImageFolder layout) or, unlabelled, from a folder without subfolders.
/// </summary>
internal static class ImageFolderReader
{
    /// <summary>Largest image decoded: 4096x4096, more than a 12-megapixel photo; its samples take some hundreds of megabytes.</summary>
    public const long MaxPixels = 1L << 24;

    private static readonly HashSet<string> ImageExtensions = new(StringComparer.OrdinalIgnoreCase) { ".png", ".jpg", ".jpeg", ".bmp" };

    /// <summary>Whether a folder has the shape of an image dataset: class subfolders, or images directly.</summary>
    public static bool LooksLikeImageFolder(string folder) =>
        DataFile.Guard(folder, () => Directory.EnumerateDirectories(folder).Any()) || ImagesIn(folder).Length > 0;

    public static Dataset Load(string folder, int[] sampleShape, int? limit)
    {
        // Class index = position of the name in ordinal order over all subfolders, as torchvision
        // assigns it, so labels agree with a model trained on the same tree.
        string[] classFolders = DataFile.Guard(folder, () => Directory.EnumerateDirectories(folder).Order(StringComparer.Ordinal).ToArray());
        string[] classNames = [.. classFolders.Select(Path.GetFileName).Select(name => name!)];
        bool labelled = classFolders.Length > 0;
        string[][] imagesPerClass = labelled
            ? [.. classFolders.Select(ImagesIn)]
            : [ImagesIn(folder)];
        var chosen = Interleave(imagesPerClass, limit ?? int.MaxValue);
        if (chosen.Count == 0)
        {
            throw new DatasetException(folder, labelled
                ? "the class subfolders hold no PNG, JPEG or BMP images"
                : "holds no PNG, JPEG or BMP images and no class subfolders");
        }

        var samples = new float[chosen.Count][];
        var labels = new int[chosen.Count];
        for (int index = 0; index < chosen.Count; index++)
        {
            samples[index] = LoadImage(chosen[index].Path, sampleShape);
            labels[index] = chosen[index].ClassIndex;
        }
        return new Dataset(folder, sampleShape, samples, labelled ? labels : null, classNames);
    }

    /// <summary>
    /// Image files directly in a folder, in ordinal order. Nested folders are not searched: a
    /// symbolic link back up the tree would otherwise repeat images many times over.
    /// </summary>
    private static string[] ImagesIn(string folder) => DataFile.Guard(folder, () =>
        Directory.EnumerateFiles(folder)
            .Where(file => ImageExtensions.Contains(Path.GetExtension(file)))
            .Order(StringComparer.Ordinal)
            .ToArray());

    /// <summary>
    /// Takes images round-robin across classes (the first of each class, then the second, ...) so
    /// that a limited load for calibration covers every class instead of only the first ones.
    /// </summary>
    private static List<(string Path, int ClassIndex)> Interleave(string[][] imagesPerClass, int limit)
    {
        var chosen = new List<(string Path, int ClassIndex)>();
        int longest = imagesPerClass.Max(images => images.Length);
        for (int rank = 0; rank < longest && chosen.Count < limit; rank++)
        {
            for (int classIndex = 0; classIndex < imagesPerClass.Length && chosen.Count < limit; classIndex++)
            {
                if (rank < imagesPerClass[classIndex].Length)
                {
                    chosen.Add((imagesPerClass[classIndex][rank], classIndex));
                }
            }
        }
        return chosen;
    }

    private static float[] LoadImage(string path, int[] sampleShape)
    {
        byte[] encoded = DataFile.Guard(path, () =>
        {
            DataFile.RequireRegularFile(path);
            return File.ReadAllBytes(path);
        });
        CheckDimensions(encoded, path);
        ImageResult image;
        try
        {
            image = ImageResult.FromMemory(encoded, ColorComponents.Default);
        }
        catch (Exception e)
        {
            // The decoder is ported C: it reports bad data with InvalidOperationException, but a
            // malformed file can also surface as an indexing or arithmetic exception from inside it.
            throw new DatasetException(path, $"cannot decode image: {e.Message}", e);
        }
        int channels = (int)image.Comp;
        var interleaved = new float[image.Data.Length];
        for (int index = 0; index < interleaved.Length; index++)
        {
            interleaved[index] = image.Data[index] / 255f;
        }
        var planar = SampleConverter.InterleavedToPlanar(interleaved, image.Height, image.Width, channels);
        return new SampleConverter(channels, image.Height, image.Width, sampleShape, path).Convert(planar);
    }

    /// <summary>
    /// Reads the image's size from its header and refuses one over <see cref="MaxPixels"/> before it is
    /// decoded: a PNG of a few hundred kilobytes can hold a 20000x20000 image, gigabytes once decoded.
    /// </summary>
    private static void CheckDimensions(byte[] encoded, string path)
    {
        ImageInfo? info;
        try
        {
            info = ImageInfo.FromStream(new MemoryStream(encoded, writable: false));
        }
        catch (Exception e)
        {
            // The same ported C as the decoder, with the same ways of failing (see LoadImage).
            throw new DatasetException(path, $"cannot decode image: {e.Message}", e);
        }
        if (info is not { } header)
        {
            throw new DatasetException(path, "cannot decode image: not a PNG, JPEG or BMP image this decoder reads");
        }
        long pixels = (long)header.Width * header.Height;
        if (pixels > MaxPixels)
        {
            throw new DatasetException(path,
                $"the image is {header.Width}x{header.Height} ({pixels} pixels), more than the {MaxPixels} pixels mcuformer decodes; scale it down to about the model's input size");
        }
    }
}
