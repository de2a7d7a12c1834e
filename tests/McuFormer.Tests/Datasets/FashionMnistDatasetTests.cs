using McuFormer.Model.Datasets;

namespace McuFormer.Tests.Datasets;

/// <summary>Loads the real Fashion-MNIST shipped by the system package the project's CI installs.</summary>
public sealed class FashionMnistDatasetTests
{
    private const string FashionMnistFolder = "/usr/share/datasets/fashion-mnist";

    [Fact]
    public void TestSplitLoadsWithLimit()
    {
        Assert.True(Directory.Exists(FashionMnistFolder),
            $"{FashionMnistFolder} is missing: install the system package that ships Fashion-MNIST (CI installs it)");

        var dataset = DatasetLoader.Load(FashionMnistFolder, [1, 28, 28], DatasetSplit.Test, limit: 100);

        Assert.Equal(100, dataset.Count);
        Assert.Equal([1, 28, 28], dataset.SampleShape);
        Assert.True(dataset.HasLabels);
        // The first ten labels of the published t10k split.
        Assert.Equal([9, 2, 1, 1, 6, 1, 4, 6, 5, 7], Enumerable.Range(0, 10).Select(dataset.Label));
        float maximum = 0;
        for (int index = 0; index < dataset.Count; index++)
        {
            Assert.InRange(dataset.Label(index), 0, 9);
            foreach (float value in dataset.Sample(index))
            {
                Assert.InRange(value, 0f, 1f);
                maximum = Math.Max(maximum, value);
            }
        }
        Assert.Equal(1f, maximum);
        // The first test image's pixel bytes sum to 33456.
        float firstSum = 0;
        foreach (float value in dataset.Sample(0))
        {
            firstSum += value;
        }
        Assert.Equal(33456 / 255f, firstSum, 2);
    }
}
