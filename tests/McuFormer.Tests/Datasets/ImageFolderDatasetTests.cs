using McuFormer.Model.Datasets;
using static McuFormer.Tests.Datasets.DatasetTestFiles;

namespace McuFormer.Tests.Datasets;

public sealed class ImageFolderDatasetTests : IDisposable
{
    private readonly DatasetTestFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void ClassIndexIsOrdinalPositionOfTheSubfolder()
    {
        // Ordinal order puts upper case first: "Zebra" < "ant" < "bee".
        _files.Write("pets/bee/0.png", Png(1, 1, 1, [30]));
        _files.Write("pets/Zebra/0.png", Png(1, 1, 1, [10]));
        _files.Write("pets/ant/0.png", Png(1, 1, 1, [20]));
        _files.Write("pets/ant/notes.txt", "not an image"u8.ToArray());

        var dataset = DatasetLoader.Load(_files.PathOf("pets"), [1, 1, 1]);

        Assert.Equal(["Zebra", "ant", "bee"], dataset.ClassNames);
        Assert.Equal(3, dataset.Count);
        for (int index = 0; index < 3; index++)
        {
            Assert.Equal(index, dataset.Label(index));
            Assert.Equal((index + 1) * 10 / 255f, dataset.Sample(index)[0], 6);
        }
    }

    [Fact]
    public void LimitTakesImagesRoundRobinAcrossClasses()
    {
        _files.Write("digits/a/0.png", Png(1, 1, 1, [0]));
        _files.Write("digits/a/1.png", Png(1, 1, 1, [1]));
        _files.Write("digits/a/2.png", Png(1, 1, 1, [2]));
        _files.Write("digits/b/0.png", Png(1, 1, 1, [100]));
        _files.Write("digits/c/0.png", Png(1, 1, 1, [200]));
        _files.Write("digits/c/1.png", Png(1, 1, 1, [201]));

        var dataset = DatasetLoader.Load(_files.PathOf("digits"), [1, 1, 1], limit: 4);

        Assert.Equal([0, 1, 2, 0], Enumerable.Range(0, dataset.Count).Select(dataset.Label));
        Assert.Equal([0, 100, 200, 1], Enumerable.Range(0, dataset.Count).Select(index => (int)Math.Round(dataset.Sample(index)[0] * 255)));
    }

    [Fact]
    public void RgbImageBecomesGrayByBt601Luma()
    {
        _files.Write("colours/only/0.png", Png(3, 1, 3, [255, 0, 0, 0, 255, 0, 10, 20, 30]));

        var sample = DatasetLoader.Load(_files.PathOf("colours"), [1, 1, 3]).Sample(0);

        AssertClose([0.299f, 0.587f, (0.299f * 10 + 0.587f * 20 + 0.114f * 30) / 255], sample);
    }

    [Fact]
    public void GrayImageIsReplicatedIntoRgb()
    {
        _files.Write("grays/only/0.png", Png(2, 1, 1, [51, 102]));

        var sample = DatasetLoader.Load(_files.PathOf("grays"), [3, 1, 2]).Sample(0);

        AssertClose([0.2f, 0.4f, 0.2f, 0.4f, 0.2f, 0.4f], sample);
    }

    [Fact]
    public void AlphaIsDropped()
    {
        _files.Write("alpha/rgba/0.png", Png(1, 1, 4, [51, 102, 153, 0]));
        _files.Write("alpha/graya/0.png", Png(1, 1, 2, [204, 0]));

        var dataset = DatasetLoader.Load(_files.PathOf("alpha"), [3, 1, 1]);

        Assert.Equal(["graya", "rgba"], dataset.ClassNames);
        AssertClose([0.8f, 0.8f, 0.8f], dataset.Sample(0));
        AssertClose([0.2f, 0.4f, 0.6f], dataset.Sample(1));
    }

    [Fact]
    public void InterleavedPixelsBecomePlanarAndAreResized()
    {
        // A 2x2 RGB image whose red channel is [[0, 51], [102, 153]] is downscaled to 1x1: each
        // channel becomes the mean of its four pixels (half-pixel centres sample the exact middle).
        _files.Write("resize/only/0.png", Png(2, 2, 3, [0, 10, 20, 51, 10, 20, 102, 10, 20, 153, 10, 220]));

        var sample = DatasetLoader.Load(_files.PathOf("resize"), [3, 1, 1]).Sample(0);

        AssertClose([76.5f / 255, 10f / 255, 70f / 255], sample);
    }

    [Fact]
    public void BmpImagesAreDecoded()
    {
        _files.Write("bitmaps/only/0.bmp", Bmp(2, 1, [255, 0, 0, 0, 0, 255]));

        var sample = DatasetLoader.Load(_files.PathOf("bitmaps"), [3, 1, 2]).Sample(0);

        AssertClose([1f, 0f, 0f, 0f, 0f, 1f], sample);
    }

    [Fact]
    public void FolderOfImagesWithoutSubfoldersIsUnlabelled()
    {
        _files.Write("flat/b.png", Png(1, 1, 1, [255]));
        _files.Write("flat/a.PNG", Png(1, 1, 1, [0]));

        var dataset = DatasetLoader.Load(_files.PathOf("flat"), [1, 1, 1]);

        Assert.False(dataset.HasLabels);
        Assert.Empty(dataset.ClassNames);
        Assert.Equal([0f, 1f], new[] { dataset.Sample(0)[0], dataset.Sample(1)[0] });
    }

    [Fact]
    public void CorruptImageFailsNamingTheImage()
    {
        _files.Write("broken/cat/0.png", Png(1, 1, 1, [0]));
        string corrupt = _files.Write("broken/dog/0.png", [0x89, (byte)'P', (byte)'N', (byte)'G', 1, 2, 3]);

        AssertFails(() => DatasetLoader.Load(_files.PathOf("broken"), [1, 1, 1]), corrupt, "cannot decode image");
    }

    [Fact]
    public void ClassFoldersWithoutImagesFail()
    {
        _files.Write("empty/cat/readme.txt", "nothing here"u8.ToArray());
        string folder = _files.PathOf("empty");

        AssertFails(() => DatasetLoader.Load(folder, [1, 1, 1]), folder, "no PNG, JPEG or BMP images");
    }

    [Fact]
    public void ChannelCountOtherThanGrayOrRgbFails()
    {
        string image = _files.Write("four/only/0.png", Png(1, 1, 3, [1, 2, 3]));

        AssertFails(() => DatasetLoader.Load(_files.PathOf("four"), [2, 1, 1]), image, "2 channel(s)");
    }

    [Fact]
    public void SingleImageFileFails()
    {
        string image = _files.Write("one.png", Png(1, 1, 1, [0]));

        AssertFails(() => DatasetLoader.Load(image, [1, 1, 1]), image, "single image");
    }
}
