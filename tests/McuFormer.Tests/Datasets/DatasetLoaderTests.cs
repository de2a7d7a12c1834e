using McuFormer.Model.Datasets;
using static McuFormer.Tests.Datasets.DatasetTestFiles;

namespace McuFormer.Tests.Datasets;

/// <summary>Behaviour common to every format: argument checks, format detection and the Dataset API.</summary>
public sealed class DatasetLoaderTests : IDisposable
{
    private readonly DatasetTestFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void MissingPathFails()
    {
        string missing = Path.Combine(_files.Root, "nowhere");

        AssertFails(() => DatasetLoader.Load(missing, [1, 28, 28]), missing, "no such file or folder");
    }

    [Fact]
    public void EmptyFileFails()
    {
        string empty = _files.Write("empty.bin", []);

        AssertFails(() => DatasetLoader.Load(empty, [1, 1, 1]), empty, "empty");
    }

    [Theory]
    [InlineData(false, "unknown format")]
    [InlineData(true, "gzip content is not an IDX file")]
    public void UnknownFileFormatFails(bool gzip, string problem)
    {
        string text = _files.Write("notes.txt", "just some text"u8.ToArray(), gzip);

        AssertFails(() => DatasetLoader.Load(text, [1, 1, 1]), text, problem);
    }

    [Fact]
    public void FolderWithoutAnyDatasetFails()
    {
        _files.Write("misc/readme.txt", "hello"u8.ToArray());
        string folder = _files.PathOf("misc");

        AssertFails(() => DatasetLoader.Load(folder, [1, 1, 1]), folder, "no dataset found");
    }

    [Theory]
    [InlineData(new[] { 1, 28 })]
    [InlineData(new[] { 1, 0, 28 })]
    [InlineData(new[] { 1, 1, 28, 28 })]
    public void SampleShapeMustBeChwWithPositiveSizes(int[] sampleShape)
    {
        string inputs = _files.Write("one.npy", Npy("<f4", [1, 1], Float32Bytes(1)));

        AssertFails(() => DatasetLoader.Load(inputs, sampleShape), inputs, "must be [C, H, W]");
    }

    [Fact]
    public void LimitBelowOneFails()
    {
        string inputs = _files.Write("one.npy", Npy("<f4", [1, 1], Float32Bytes(1)));

        AssertFails(() => DatasetLoader.Load(inputs, [1, 1, 1], limit: 0), inputs, "limit");
    }

    [Fact]
    public void TakeKeepsTheFirstSamplesAndLabels()
    {
        string inputs = _files.Write("four.npy", Npy("<f4", [4, 1], Float32Bytes(10, 20, 30, 40)));
        _files.Write("four_labels.npy", Npy("|u1", [4], [3, 2, 1, 0]));
        var dataset = DatasetLoader.Load(inputs, [1, 1, 1]);

        var firstTwo = dataset.Take(2);

        Assert.Equal(2, firstTwo.Count);
        Assert.Equal(20f, firstTwo.Sample(1)[0]);
        Assert.Equal(2, firstTwo.Label(1));
        Assert.Equal(4, dataset.Take(10).Count);
        Assert.Throws<ArgumentOutOfRangeException>(() => firstTwo.Sample(2).ToArray());
    }

    [Fact]
    public void SampleShapeIsTheCallersShapeAndCannotBeChangedThroughTheDataset()
    {
        int[] requested = [1, 1, 1];
        string inputs = _files.Write("one.npy", Npy("<f4", [1, 1], Float32Bytes(1)));
        var dataset = DatasetLoader.Load(inputs, requested);

        requested[0] = 9;
        dataset.SampleShape[0] = 9;

        Assert.Equal([1, 1, 1], dataset.SampleShape);
    }
}
