namespace McuFormer.Model.Datasets;

/// <summary>
/// Loads calibration and validation samples from IDX files (MNIST style, optionally gzipped),
/// .npy arrays, or folders of images, converted to the model's [C, H, W] input.
/// </summary>
public static class DatasetLoader
{
    /// <summary>Content prefix long enough to tell the supported formats apart.</summary>
    private const int SniffLength = 8;

    /// <summary>Loads a dataset, converting every sample to <paramref name="sampleShape"/>.</summary>
    /// <param name="path">An IDX images file, a .npy file, or a folder holding one of the supported layouts.</param>
    /// <param name="sampleShape">The model's input shape [C, H, W] without the batch dimension.</param>
    /// <param name="split">Which files of a folder holding both MNIST splits to read; other layouts ignore it.</param>
    /// <param name="limit">Largest number of samples to load (the first ones); null loads all. Samples past it are not decoded.</param>
    /// <exception cref="DatasetException">The path is missing or its content is not a loadable dataset.</exception>
    public static Dataset Load(string path, int[] sampleShape, DatasetSplit split = DatasetSplit.Test, int? limit = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(sampleShape);
        if (sampleShape.Length != 3 || sampleShape.Any(dimension => dimension <= 0))
        {
            throw new DatasetException(path, $"the sample shape [{string.Join(", ", sampleShape)}] must be [C, H, W] with positive sizes");
        }
        DataFile.CheckSampleSize(DataFile.Product(sampleShape.Select(dimension => (long)dimension), path), path);
        if (limit is < 1)
        {
            throw new DatasetException(path, $"the sample limit must be at least 1, not {limit}");
        }
        // Private copy: the Dataset keeps it, and the caller's array may change later.
        int[] shape = [.. sampleShape];
        if (Directory.Exists(path))
        {
            return LoadFolder(path, shape, split, limit);
        }
        if (File.Exists(path))
        {
            return LoadFile(path, shape, limit);
        }
        throw new DatasetException(path, "no such file or folder");
    }

    private static Dataset LoadFile(string path, int[] sampleShape, int? limit)
    {
        var (prefix, isCompressed) = DataFile.ReadPrefix(path, SniffLength);
        if (prefix.Length == 0)
        {
            throw new DatasetException(path, isCompressed ? "gzip content is empty" : "file is empty");
        }
        if (IdxReader.LooksLikeIdx(prefix))
        {
            return IdxReader.Load(path, FindIdxLabels(path), sampleShape, limit);
        }
        if (NpyHeader.LooksLikeNpy(prefix))
        {
            return NpyReader.Load(path, NpyReader.FindLabels(path), sampleShape, limit);
        }
        if (LooksLikeImage(prefix))
        {
            throw new DatasetException(path, "is a single image; pass a folder of images (with one subfolder per class for labels)");
        }
        throw new DatasetException(path, isCompressed
            ? "unknown format: the gzip content is not an IDX file"
            : "unknown format: expected an IDX file (optionally gzipped), a .npy array, or a folder of images");
    }

    private static Dataset LoadFolder(string folder, int[] sampleShape, DatasetSplit split, int? limit)
    {
        string splitPrefix = IdxSplitPrefix(split);
        string? idxImages = FindGzipOrPlain(Path.Combine(folder, $"{splitPrefix}-images-idx3-ubyte"));
        if (idxImages is not null)
        {
            return IdxReader.Load(idxImages, FindGzipOrPlain(Path.Combine(folder, $"{splitPrefix}-labels-idx1-ubyte")), sampleShape, limit);
        }
        var otherSplit = split == DatasetSplit.Train ? DatasetSplit.Test : DatasetSplit.Train;
        if (FindGzipOrPlain(Path.Combine(folder, $"{IdxSplitPrefix(otherSplit)}-images-idx3-ubyte")) is not null)
        {
            throw new DatasetException(folder, $"has no {splitPrefix}-images-idx3-ubyte(.gz) for the {split} split");
        }

        string? npyInputs = NpyReader.FolderInputNames.Select(name => Path.Combine(folder, name)).FirstOrDefault(File.Exists);
        if (npyInputs is not null)
        {
            return NpyReader.Load(npyInputs, NpyReader.FindLabels(npyInputs), sampleShape, limit);
        }
        if (ImageFolderReader.LooksLikeImageFolder(folder))
        {
            return ImageFolderReader.Load(folder, sampleShape, limit);
        }
        throw new DatasetException(folder,
            $"no dataset found: expected {splitPrefix}-images-idx3-ubyte(.gz), x.npy or inputs.npy, class subfolders of images, or images");
    }

    // MNIST names its test split "t10k".
    private static string IdxSplitPrefix(DatasetSplit split) => split == DatasetSplit.Train ? "train" : "t10k";

    /// <summary>
    /// The labels of a single IDX images file: its name with "images-idx3" replaced by "labels-idx1",
    /// with or without ".gz"; null (unlabelled) when the name has no such part or the file is missing.
    /// </summary>
    private static string? FindIdxLabels(string imagesPath)
    {
        string imagesName = Path.GetFileName(imagesPath);
        if (!imagesName.Contains("images-idx3", StringComparison.Ordinal))
        {
            return null;
        }
        string labelsName = imagesName.Replace("images-idx3", "labels-idx1", StringComparison.Ordinal);
        string withoutGzip = labelsName.EndsWith(".gz", StringComparison.Ordinal) ? labelsName[..^3] : labelsName;
        return FindGzipOrPlain(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(imagesPath))!, withoutGzip));
    }

    /// <summary><paramref name="plainPath"/> if it exists, else that path with ".gz" if it exists, else null.</summary>
    private static string? FindGzipOrPlain(string plainPath) =>
        File.Exists(plainPath) ? plainPath
        : File.Exists(plainPath + ".gz") ? plainPath + ".gz"
        : null;

    private static bool LooksLikeImage(ReadOnlySpan<byte> prefix) =>
        prefix.StartsWith((ReadOnlySpan<byte>)[0x89, (byte)'P', (byte)'N', (byte)'G'])
        || prefix.StartsWith((ReadOnlySpan<byte>)[0xff, 0xd8, 0xff])
        || prefix.StartsWith("BM"u8);
}
