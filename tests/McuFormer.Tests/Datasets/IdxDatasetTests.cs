using McuFormer.Model.Datasets;
using static McuFormer.Tests.Datasets.DatasetTestFiles;

namespace McuFormer.Tests.Datasets;

public sealed class IdxDatasetTests : IDisposable
{
    // Three 2x2 images, pixel values chosen so that every sample and position differs.
    private static readonly byte[] ThreeImages = [0, 51, 102, 255, 10, 20, 30, 40, 200, 150, 100, 50];
    private static readonly byte[] ThreeLabels = [7, 0, 3];

    private readonly DatasetTestFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Theory]
    [InlineData(false, "")]
    [InlineData(true, ".gz")]
    public void SingleImagesFileFindsLabelsByNameAndScalesPixels(bool gzip, string extension)
    {
        string images = _files.Write($"train-images-idx3-ubyte{extension}", IdxImages(3, 2, 2, ThreeImages), gzip);
        _files.Write($"train-labels-idx1-ubyte{extension}", IdxLabels(ThreeLabels), gzip);

        var dataset = DatasetLoader.Load(images, [1, 2, 2]);

        Assert.Equal(images, dataset.Source);
        Assert.Equal(3, dataset.Count);
        Assert.Equal([1, 2, 2], dataset.SampleShape);
        Assert.True(dataset.HasLabels);
        Assert.Equal(ThreeLabels.Select(label => (int)label), Enumerable.Range(0, 3).Select(dataset.Label));
        AssertClose([0f, 0.2f, 0.4f, 1f], dataset.Sample(0));
        AssertClose([200 / 255f, 150 / 255f, 100 / 255f, 50 / 255f], dataset.Sample(2));
    }

    [Fact]
    public void GzipIsDetectedByMagicBytesNotByName()
    {
        string images = _files.Write("data-images-idx3-ubyte", IdxImages(3, 2, 2, ThreeImages), gzip: true);
        _files.Write("data-labels-idx1-ubyte", IdxLabels(ThreeLabels), gzip: true);

        var dataset = DatasetLoader.Load(images, [1, 2, 2]);

        Assert.Equal(3, dataset.Count);
        Assert.Equal(7, dataset.Label(0));
        AssertClose([10 / 255f, 20 / 255f, 30 / 255f, 40 / 255f], dataset.Sample(1));
    }

    [Fact]
    public void LabelsMayBeGzippedWhenImagesAreNot()
    {
        string images = _files.Write("t10k-images-idx3-ubyte", IdxImages(3, 2, 2, ThreeImages));
        _files.Write("t10k-labels-idx1-ubyte.gz", IdxLabels(ThreeLabels), gzip: true);

        Assert.Equal(3, DatasetLoader.Load(images, [1, 2, 2]).Label(2));
    }

    [Fact]
    public void ImagesFileWithoutLabelsIsUnlabelled()
    {
        string images = _files.Write("t10k-images-idx3-ubyte", IdxImages(3, 2, 2, ThreeImages));

        var dataset = DatasetLoader.Load(images, [1, 2, 2]);

        Assert.False(dataset.HasLabels);
        Assert.Equal(-1, dataset.Label(1));
    }

    [Fact]
    public void FolderSplitChoosesTrainOrTestFiles()
    {
        _files.Write("mnist/train-images-idx3-ubyte.gz", IdxImages(3, 2, 2, ThreeImages), gzip: true);
        _files.Write("mnist/train-labels-idx1-ubyte.gz", IdxLabels(ThreeLabels), gzip: true);
        _files.Write("mnist/t10k-images-idx3-ubyte", IdxImages(1, 2, 2, [255, 255, 255, 255]));
        _files.Write("mnist/t10k-labels-idx1-ubyte", IdxLabels([5]));
        string folder = _files.PathOf("mnist");

        var train = DatasetLoader.Load(folder, [1, 2, 2], DatasetSplit.Train);
        var test = DatasetLoader.Load(folder, [1, 2, 2], DatasetSplit.Test);

        Assert.Equal(3, train.Count);
        Assert.Equal(7, train.Label(0));
        Assert.Equal(1, test.Count);
        Assert.Equal(5, test.Label(0));
        AssertClose([1f, 1f, 1f, 1f], test.Sample(0));
    }

    [Fact]
    public void LimitStopsReadingBeforeTruncatedGzipData()
    {
        // The header promises 3 images but only 2 are present: a limit of 2 must never reach the gap.
        string images = _files.Write("cut-images-idx3-ubyte", IdxImages(3, 2, 2, ThreeImages[..8]), gzip: true);
        _files.Write("cut-labels-idx1-ubyte", IdxLabels(ThreeLabels), gzip: true);

        var limited = DatasetLoader.Load(images, [1, 2, 2], limit: 2);

        Assert.Equal(2, limited.Count);
        Assert.Equal([7, 0], new[] { limited.Label(0), limited.Label(1) });
        AssertFails(() => DatasetLoader.Load(images, [1, 2, 2]), images, "image 2", "ends early");
    }

    [Fact]
    public void TruncatedPlainFileFailsEvenWithALimit()
    {
        string images = _files.Write("cut-images-idx3-ubyte", IdxImages(3, 2, 2, ThreeImages[..8]));

        AssertFails(() => DatasetLoader.Load(images, [1, 2, 2], limit: 1), images, "truncated", "3 images of 2x2");
    }

    [Fact]
    public void TruncatedHeaderFails()
    {
        string images = _files.Write("short-images-idx3-ubyte", IdxImages(3, 2, 2, ThreeImages)[..9]);

        AssertFails(() => DatasetLoader.Load(images, [1, 2, 2]), images, "ends early", "IDX header");
    }

    [Fact]
    public void LabelCountMismatchFails()
    {
        string images = _files.Write("train-images-idx3-ubyte", IdxImages(3, 2, 2, ThreeImages));
        string labels = _files.Write("train-labels-idx1-ubyte", IdxLabels([1, 2]));

        AssertFails(() => DatasetLoader.Load(images, [1, 2, 2]), labels, "holds 2 labels", "3 images");
    }

    [Fact]
    public void WrongMagicInLabelsFileFails()
    {
        string images = _files.Write("train-images-idx3-ubyte", IdxImages(3, 2, 2, ThreeImages));
        string labels = _files.Write("train-labels-idx1-ubyte", Idx(0x00000802, [3, 1], ThreeLabels));

        AssertFails(() => DatasetLoader.Load(images, [1, 2, 2]), labels, "not an IDX labels file", "0x00000802");
    }

    [Fact]
    public void LabelsFilePassedAsImagesFails()
    {
        string labels = _files.Write("train-labels-idx1-ubyte", IdxLabels(ThreeLabels));

        AssertFails(() => DatasetLoader.Load(labels, [1, 2, 2]), labels, "is an IDX labels file");
    }

    [Fact]
    public void NonByteElementTypeFails()
    {
        string images = _files.Write("float-images-idx3-ubyte", Idx(0x00000D03, [1, 1, 1], [0, 0, 0, 0]));

        AssertFails(() => DatasetLoader.Load(images, [1, 1, 1]), images, "element type 0x0D");
    }

    [Fact]
    public void CorruptGzipFails()
    {
        byte[] gzip = Gzip(IdxImages(3, 2, 2, ThreeImages));
        gzip.AsSpan(10).Fill(0xff);
        string images = _files.Write("bad-images-idx3-ubyte.gz", gzip);

        AssertFails(() => DatasetLoader.Load(images, [1, 2, 2]), images);
    }

    [Fact]
    public void HugeDimensionsInAGzippedHeaderFailWithoutAllocating()
    {
        string images = _files.Write("huge-images-idx3-ubyte", IdxImages(2_000_000_000, 60_000, 60_000, []), gzip: true);

        AssertFails(() => DatasetLoader.Load(images, [1, 2, 2]), images, "elements");
    }

    [Fact]
    public void FolderWithOnlyTheOtherSplitFails()
    {
        _files.Write("mnist/train-images-idx3-ubyte", IdxImages(3, 2, 2, ThreeImages));
        string folder = _files.PathOf("mnist");

        AssertFails(() => DatasetLoader.Load(folder, [1, 2, 2], DatasetSplit.Test), folder, "t10k-images-idx3-ubyte", "Test split");
    }

    [Fact]
    public void ShapeThatCannotMatchFails()
    {
        string images = _files.Write("train-images-idx3-ubyte", IdxImages(3, 2, 2, ThreeImages));

        AssertFails(() => DatasetLoader.Load(images, [2, 2, 2]), images, "2 channel(s)");
    }
}
