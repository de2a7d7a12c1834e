using Google.Protobuf;
using McuFormer.Model.Datasets;
using McuFormer.Model.Onnx;
using McuFormer.Model.Quantization;
using McuFormer.Tests.Datasets;
using Onnx;

namespace McuFormer.Tests.Quantization;

/// <summary>
/// Values no int8 scale represents, in the weights, the calibration samples or the float model's activations,
/// and input names ONNX Runtime may refuse: each is rejected with one line naming the file, never a crash.
/// </summary>
public sealed class HostileValueTests : IDisposable
{
    private readonly TempFolder folder = new();

    public void Dispose() => folder.Dispose();

    /// <summary><see cref="TestModels.PatchMeanHead"/> with every value of one weight set to <paramref name="value"/>, written into the folder.</summary>
    private string WithWeights(string name, float value)
    {
        var model = TestModels.PatchMeanHead();
        var weight = model.Graph.Initializer.Single(t => t.Name == name);
        weight.RawData = ByteString.CopyFrom(Enumerable.Repeat(value, weight.RawData.Length / 4).SelectMany(BitConverter.GetBytes).ToArray());
        return TestModels.Write(model, folder.Path);
    }

    [Fact]
    public void WeightsTooLargeForInt8ScalesAreRejectedWhenQuantizing()
    {
        var path = WithWeights("head.weight", 1e38f);
        var error = Assert.Throws<ModelImportException>(() => Quantizer.ForPlanning(OnnxImporter.Import(path)));
        Assert.StartsWith(path + ": node 'head' (linear): rescale factor", error.Message);
        Assert.Contains("is too large for int8 requantization", error.Message);
    }

    [Fact]
    public void CalibrationSampleThatIsNotFiniteIsRejected()
    {
        var path = TestModels.Write(TestModels.PatchMeanHead(), folder.Path);
        var samples = Enumerable.Range(0, 2 * 28 * 28).Select(i => i == 900 ? float.NaN : 0.5f).ToArray();
        var data = Path.Combine(folder.Path, "calib.npy");
        File.WriteAllBytes(data, DatasetTestFiles.Npy("<f4", [2, 1, 28, 28], DatasetTestFiles.Float32Bytes(samples)));
        var file = OnnxModelFile.Load(path);
        var dataset = DatasetLoader.Load(data, [1, 28, 28], DatasetSplit.Train);
        var error = Assert.Throws<DatasetException>(() => Calibrator.Calibrate(file, OnnxImporter.Import(file), dataset, RangeMethod.MinMax));
        Assert.Equal($"{data}: calibration sample 1 holds NaN; samples must be finite", error.Message);
    }

    [Fact]
    public void ValueThatOverflowsInTheFloatModelIsRejectedWhenCalibrating()
    {
        var file = OnnxModelFile.Load(WithWeights("patch.weight", 1e38f));
        var dataset = DatasetLoader.Load(TestModels.FashionMnist, [1, 28, 28], DatasetSplit.Train, 4);
        var error = Assert.Throws<ModelImportException>(() => Calibrator.Calibrate(file, OnnxImporter.Import(file), dataset, RangeMethod.MinMax));
        Assert.StartsWith($"{file.Path}: value '", error.Message);
        Assert.Contains("is Infinity on calibration sample", error.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("x\0y")]
    [InlineData("a b\nc")]
    [InlineData("ünï ☃")]
    public void InputOfAnyNameIsCalibratedOrRejectedWithOneLine(string name)
    {
        var model = TestModels.PatchMeanHead();
        model.Graph.Input[0].Name = name;
        model.Graph.Node.Single(n => n.Name == "patch").Input[0] = name;
        var path = TestModels.Write(model, folder.Path);
        var dataset = DatasetLoader.Load(TestModels.FashionMnist, [1, 28, 28], DatasetSplit.Train, 2);
        try
        {
            var file = OnnxModelFile.Load(path);
            Calibrator.Calibrate(file, OnnxImporter.Import(file), dataset, RangeMethod.MinMax);
        }
        catch (ModelImportException e)
        {
            Assert.StartsWith(path + ": ", e.Message);
            Assert.DoesNotContain('\n', e.Message);
        }
    }
}
