namespace McuFormer.Model.Datasets;

/// <summary>Reads samples [N, ...] from a .npy file and, when present, integer labels [N] from another.</summary>
internal static class NpyReader
{
    /// <summary>Input file names recognised in a folder, in order of preference.</summary>
    public static readonly string[] FolderInputNames = ["x.npy", "inputs.npy"];

    /// <summary>
    /// The labels file for an inputs file, or null: "&lt;stem&gt;_labels.npy" beside it, then for the
    /// folder names x.npy/inputs.npy also "y.npy", then "labels.npy".
    /// </summary>
    public static string? FindLabels(string inputsPath)
    {
        string folder = Path.GetDirectoryName(Path.GetFullPath(inputsPath))!;
        string fileName = Path.GetFileName(inputsPath);
        List<string> candidates = [$"{Path.GetFileNameWithoutExtension(fileName)}_labels.npy"];
        if (FolderInputNames.Contains(fileName))
        {
            candidates.Add("y.npy");
        }
        candidates.Add("labels.npy");
        return candidates
            .Where(candidate => candidate != fileName)
            .Select(candidate => Path.Combine(folder, candidate))
            .FirstOrDefault(File.Exists);
    }

    public static Dataset Load(string inputsPath, string? labelsPath, int[] sampleShape, int? limit)
    {
        using var inputs = OpenArray(inputsPath, out var header);
        if (header.Shape.Length == 0)
        {
            throw new DatasetException(inputsPath, "holds a single value; expected an array of samples [N, ...]");
        }
        long sampleCount = header.Shape[0];
        if (sampleCount == 0)
        {
            throw new DatasetException(inputsPath, "holds no samples (its first dimension is 0)");
        }
        long[] sampleDimensions = header.Shape[1..];
        var convert = ArraySampleLayout.Plan(sampleDimensions, sampleShape, inputsPath);
        int sampleElements = (int)DataFile.Product(sampleDimensions, inputsPath);
        CheckDataLength(inputs, header, inputsPath);

        NpyHeader? labelsHeader = null;
        using var labels = labelsPath is null ? null : OpenArray(labelsPath, out labelsHeader);
        if (labels is not null)
        {
            CheckLabelsHeader(labelsHeader!, labelsPath!, sampleCount, inputsPath);
            CheckDataLength(labels, labelsHeader!, labelsPath!);
        }

        int loadCount = (int)Math.Min(sampleCount, limit ?? int.MaxValue);
        DataFile.CheckLoad(loadCount, sampleElements, inputsPath, "samples");
        var samples = new float[loadCount][];
        var bytes = new byte[sampleElements * header.ItemSize];
        for (int index = 0; index < loadCount; index++)
        {
            DataFile.ReadExactly(inputs, bytes, inputsPath, $"sample {index}");
            var values = new float[sampleElements];
            header.DecodeValues(bytes, values);
            samples[index] = convert(values);
        }
        int[]? labelValues = labels is null ? null : ReadLabels(labels, labelsHeader!, labelsPath!, loadCount);
        return new Dataset(inputsPath, sampleShape, samples, labelValues, []);
    }

    private static DataFile.Content OpenArray(string path, out NpyHeader header)
    {
        var content = DataFile.Open(path);
        try
        {
            // The length checks that keep a corrupt header from causing huge reads need the plain file.
            if (content.IsCompressed)
            {
                throw new DatasetException(path, "gzip-compressed .npy files are not supported; decompress it first");
            }
            header = NpyHeader.Read(content, path);
            return content;
        }
        catch
        {
            content.Dispose();
            throw;
        }
    }

    private static void CheckDataLength(DataFile.Content content, NpyHeader header, string path)
    {
        long dataBytes = DataFile.Product([.. header.Shape, header.ItemSize], path);
        DataFile.CheckLength(content, path, content.Stream.Position + dataBytes,
            $"an array of shape ({string.Join(", ", header.Shape)}) of {header.Descr}");
    }

    private static void CheckLabelsHeader(NpyHeader labels, string labelsPath, long sampleCount, string inputsPath)
    {
        if (!labels.IsInteger)
        {
            throw new DatasetException(labelsPath, $"labels must have an integer dtype, found {labels.Descr}");
        }
        if (labels.Shape.Length != 1)
        {
            throw new DatasetException(labelsPath, $"labels must have shape [N], found ({string.Join(", ", labels.Shape)})");
        }
        if (labels.Shape[0] != sampleCount)
        {
            throw new DatasetException(labelsPath, $"holds {labels.Shape[0]} labels but {inputsPath} holds {sampleCount} samples");
        }
    }

    private static int[] ReadLabels(DataFile.Content labels, NpyHeader header, string path, int count)
    {
        var bytes = new byte[count * header.ItemSize];
        DataFile.ReadExactly(labels, bytes, path, $"{count} labels");
        var values = new int[count];
        for (int index = 0; index < count; index++)
        {
            long label = header.DecodeInteger(bytes.AsSpan(index * header.ItemSize, header.ItemSize));
            // -1 is how Dataset says "unlabelled", so a negative label would be misread downstream.
            if (label is < 0 or > int.MaxValue)
            {
                throw new DatasetException(path, $"label {label} at index {index} is not a class index (0 to {int.MaxValue})");
            }
            values[index] = (int)label;
        }
        return values;
    }
}
