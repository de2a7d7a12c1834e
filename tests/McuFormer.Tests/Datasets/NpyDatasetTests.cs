using McuFormer.Model.Datasets;
using static McuFormer.Tests.Datasets.DatasetTestFiles;

namespace McuFormer.Tests.Datasets;

public sealed class NpyDatasetTests : IDisposable
{
    private readonly DatasetTestFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Float32ValuesAreTakenAsIsInEveryHeaderVersion(int majorVersion)
    {
        float[] values = [-1.5f, 0f, 2.25f, 1e6f, 0.125f, -3f, 7f, 8f];
        string inputs = _files.Write("calib.npy", Npy("<f4", [2, 1, 2, 2], Float32Bytes(values), majorVersion));
        _files.Write("calib_labels.npy", Npy("<i8", [2], Int64Bytes(4, 1)));

        var dataset = DatasetLoader.Load(inputs, [1, 2, 2]);

        Assert.Equal(2, dataset.Count);
        AssertClose(values[..4], dataset.Sample(0), 0);
        AssertClose(values[4..], dataset.Sample(1), 0);
        Assert.Equal(4, dataset.Label(0));
        Assert.Equal(1, dataset.Label(1));
    }

    [Fact]
    public void UnsignedBytesAreScaledToUnitRange()
    {
        string inputs = _files.Write("bytes.npy", Npy("|u1", [1, 4], [0, 51, 255, 102], majorVersion: 2));

        AssertClose([0f, 0.2f, 1f, 0.4f], DatasetLoader.Load(inputs, [1, 2, 2]).Sample(0));
    }

    [Fact]
    public void SignedBytesAreCastAsIs()
    {
        string inputs = _files.Write("int8.npy", Npy("|i1", [1, 1, 2, 2], [0x80, 0xff, 0, 127], majorVersion: 3));

        AssertClose([-128f, -1f, 0f, 127f], DatasetLoader.Load(inputs, [1, 2, 2]).Sample(0), 0);
    }

    [Fact]
    public void WideIntegersAndDoublesAreCast()
    {
        string int32 = _files.Write("int32.npy", Npy("<i4", [1, 4], Int32Bytes(-7, 0, 3, 1000)));
        string int64 = _files.Write("int64.npy", Npy("<i8", [1, 4], Int64Bytes(-7, 0, 3, 1000)));
        string float64 = _files.Write("float64.npy", Npy("<f8", [1, 4], Float64Bytes(0.5, -0.25, 3, 1e-3)));

        AssertClose([-7f, 0f, 3f, 1000f], DatasetLoader.Load(int32, [1, 2, 2]).Sample(0), 0);
        AssertClose([-7f, 0f, 3f, 1000f], DatasetLoader.Load(int64, [1, 2, 2]).Sample(0), 0);
        AssertClose([0.5f, -0.25f, 3f, 1e-3f], DatasetLoader.Load(float64, [1, 2, 2]).Sample(0), 0);
    }

    [Fact]
    public void InterleavedSamplesOfTheTargetSizeAreTransposedToPlanar()
    {
        // One 1x2 RGB image stored [N, H, W, C]: pixel 0 = (1, 2, 3), pixel 1 = (4, 5, 6).
        string inputs = _files.Write("hwc.npy", Npy("<f4", [1, 1, 2, 3], Float32Bytes(1, 2, 3, 4, 5, 6)));

        AssertClose([1f, 4f, 2f, 5f, 3f, 6f], DatasetLoader.Load(inputs, [3, 1, 2]).Sample(0), 0);
    }

    [Fact]
    public void FlatSamplesWithTheRightCountAreReshaped()
    {
        string inputs = _files.Write("flat.npy", Npy("<f4", [1, 6], Float32Bytes(1, 2, 3, 4, 5, 6)));

        AssertClose([1f, 2f, 3f, 4f, 5f, 6f], DatasetLoader.Load(inputs, [3, 1, 2]).Sample(0), 0);
    }

    [Fact]
    public void FolderWithXAndYLoadsAndFolderLimitApplies()
    {
        _files.Write("arrays/x.npy", Npy("<f4", [3, 1, 1, 1], Float32Bytes(0.1f, 0.2f, 0.3f)));
        _files.Write("arrays/y.npy", Npy("|u1", [3], [2, 0, 1]));

        var dataset = DatasetLoader.Load(_files.PathOf("arrays"), [1, 1, 1], limit: 2);

        Assert.Equal(2, dataset.Count);
        Assert.Equal(0.2f, dataset.Sample(1)[0]);
        Assert.Equal([2, 0], new[] { dataset.Label(0), dataset.Label(1) });
    }

    [Fact]
    public void FolderWithInputsAndLabelsLoads()
    {
        _files.Write("arrays/inputs.npy", Npy("<f4", [2, 1, 1, 1], Float32Bytes(0.5f, 0.75f)));
        _files.Write("arrays/labels.npy", Npy("<i4", [2], Int32Bytes(9, 8)));

        var dataset = DatasetLoader.Load(_files.PathOf("arrays"), [1, 1, 1]);

        Assert.Equal(9, dataset.Label(0));
        Assert.Equal(0.75f, dataset.Sample(1)[0]);
    }

    [Fact]
    public void FileWithoutLabelsIsUnlabelled()
    {
        string inputs = _files.Write("alone.npy", Npy("<f4", [1, 1, 1, 1], Float32Bytes(1)));

        var dataset = DatasetLoader.Load(inputs, [1, 1, 1]);

        Assert.False(dataset.HasLabels);
        Assert.Equal(-1, dataset.Label(0));
    }

    [Fact]
    public void FortranOrderFails()
    {
        string inputs = _files.Write("fortran.npy", Npy("<f4", [1, 4], Float32Bytes(1, 2, 3, 4), fortranOrder: true));

        AssertFails(() => DatasetLoader.Load(inputs, [1, 2, 2]), inputs, "Fortran order");
    }

    [Theory]
    [InlineData("<f2", "dtype <f2 is not supported")]
    [InlineData(">f4", "big-endian dtype >f4")]
    public void UnsupportedDtypeFails(string descr, string problem)
    {
        string inputs = _files.Write("odd.npy", Npy(descr, [1, 1], new byte[4]));

        AssertFails(() => DatasetLoader.Load(inputs, [1, 1, 1]), inputs, problem);
    }

    [Fact]
    public void FloatLabelsFail()
    {
        string inputs = _files.Write("data.npy", Npy("<f4", [1, 1], Float32Bytes(1)));
        string labels = _files.Write("data_labels.npy", Npy("<f4", [1], Float32Bytes(1)));

        AssertFails(() => DatasetLoader.Load(inputs, [1, 1, 1]), labels, "integer dtype", "<f4");
    }

    [Fact]
    public void NegativeLabelsFail()
    {
        string inputs = _files.Write("data.npy", Npy("<f4", [1, 1], Float32Bytes(1)));
        string labels = _files.Write("data_labels.npy", Npy("|i1", [1], [0xff]));

        AssertFails(() => DatasetLoader.Load(inputs, [1, 1, 1]), labels, "label -1 at index 0");
    }

    [Fact]
    public void LabelCountMismatchFails()
    {
        string inputs = _files.Write("data.npy", Npy("<f4", [2, 1], Float32Bytes(1, 2)));
        string labels = _files.Write("labels.npy", Npy("<i8", [3], Int64Bytes(0, 1, 2)));

        AssertFails(() => DatasetLoader.Load(inputs, [1, 1, 1]), labels, "holds 3 labels", "2 samples");
    }

    [Fact]
    public void TruncatedDataFailsEvenWithALimit()
    {
        string inputs = _files.Write("cut.npy", Npy("<f4", [3, 2], Float32Bytes(1, 2, 3, 4, 5)));

        AssertFails(() => DatasetLoader.Load(inputs, [1, 1, 2], limit: 1), inputs, "truncated");
    }

    [Fact]
    public void ShapeThatCannotMatchFails()
    {
        string inputs = _files.Write("five.npy", Npy("<f4", [1, 5], Float32Bytes(1, 2, 3, 4, 5)));

        AssertFails(() => DatasetLoader.Load(inputs, [1, 2, 2]), inputs, "per-sample shape (5)", "[1, 2, 2]");
    }

    [Fact]
    public void ScalarArrayFails()
    {
        string inputs = _files.Write("scalar.npy", Npy("<f4", [], Float32Bytes(1)));

        AssertFails(() => DatasetLoader.Load(inputs, [1, 1, 1]), inputs, "single value");
    }

    [Fact]
    public void UnknownFormatVersionFails()
    {
        byte[] file = Npy("<f4", [1, 1], Float32Bytes(1));
        file[6] = 4;
        string inputs = _files.Write("future.npy", file);

        AssertFails(() => DatasetLoader.Load(inputs, [1, 1, 1]), inputs, "version 4.0");
    }

    [Theory]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1}")]
    [InlineData("{'descr': '<f4', 'fortran_order': False}")]
    [InlineData("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1,)}")]
    [InlineData("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}")]
    public void MalformedHeaderFails(string header)
    {
        byte[] valid = Npy("<f4", [1, 1], Float32Bytes(1));
        byte[] file = [.. valid[..8], (byte)header.Length, 0, .. System.Text.Encoding.Latin1.GetBytes(header), .. Float32Bytes(1)];
        string inputs = _files.Write("malformed.npy", file);

        AssertFails(() => DatasetLoader.Load(inputs, [1, 1, 1]), inputs);
    }

    [Fact]
    public void GzippedNpyFails()
    {
        string inputs = _files.Write("packed.npy", Npy("<f4", [1, 1], Float32Bytes(1)), gzip: true);

        AssertFails(() => DatasetLoader.Load(inputs, [1, 1, 1]), inputs, "gzip-compressed .npy");
    }
}
