using McuFormer.Model.Datasets;
using static McuFormer.Tests.Datasets.DatasetTestFiles;

namespace McuFormer.Tests.Datasets;

/// <summary>Bilinear resizing and channel conversion, checked against values worked out by hand.</summary>
public sealed class SampleConversionTests : IDisposable
{
    private readonly DatasetTestFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void UpscalingUsesHalfPixelCentresClampedAtTheEdges()
    {
        // Source [[0, 1], [2, 3]] to 4x4: output index i samples source position (i + 0.5) / 2 - 0.5,
        // i.e. -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1), on each axis.
        string inputs = _files.Write("small.npy", Npy("<f4", [1, 2, 2], Float32Bytes(0, 1, 2, 3)));
        float[] weights = [0f, 0.25f, 0.75f, 1f];
        float[] expected = [.. from y in weights from x in weights select x + 2 * y];

        AssertClose(expected, DatasetLoader.Load(inputs, [1, 4, 4]).Sample(0));
    }

    [Fact]
    public void DownscalingByTwoAveragesEachTwoByTwoBlock()
    {
        float[] source = [.. Enumerable.Range(0, 16).Select(value => (float)value)];
        string inputs = _files.Write("large.npy", Npy("<f4", [1, 1, 4, 4], Float32Bytes(source)));

        AssertClose([2.5f, 4.5f, 10.5f, 12.5f], DatasetLoader.Load(inputs, [1, 2, 2]).Sample(0));
    }

    [Fact]
    public void GrayIdxImagesAreReplicatedAndResizedForAnRgbModel()
    {
        string images = _files.Write("gray-images-idx3-ubyte", IdxImages(1, 1, 2, [0, 255]));

        // 1x2 to 1x4: columns sample source positions 0 (clamped), 0.25, 0.75, 1 (clamped).
        float[] row = [0f, 0.25f, 0.75f, 1f];
        AssertClose([.. row, .. row, .. row], DatasetLoader.Load(images, [3, 1, 4]).Sample(0));
    }

    [Fact]
    public void PlanarRgbArraysBecomeGrayAndAreResized()
    {
        // [C, H, W] = [3, 1, 1] of (1, 0.5, 0) to a 1x2 gray image: luma replicated by the resize.
        string inputs = _files.Write("rgb.npy", Npy("<f4", [1, 3, 1, 1], Float32Bytes(1, 0.5f, 0)));
        float luma = 0.299f + 0.587f * 0.5f;

        AssertClose([luma, luma], DatasetLoader.Load(inputs, [1, 1, 2]).Sample(0));
    }

    [Fact]
    public void InterleavedRgbArraysOfAnotherSizeAreConverted()
    {
        // [H, W, C] = [2, 2, 3], the same two pixels on both rows: (0, 0.2, 0.4) and (1, 0.6, 0.8), shrunk to one pixel.
        float[] row = [0, 0.2f, 0.4f, 1, 0.6f, 0.8f];
        string inputs = _files.Write("hwc.npy", Npy("<f4", [1, 2, 2, 3], Float32Bytes([.. row, .. row])));

        AssertClose([0.5f, 0.4f, 0.6f], DatasetLoader.Load(inputs, [3, 1, 1]).Sample(0));
    }
}
