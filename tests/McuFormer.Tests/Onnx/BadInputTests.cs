using Google.Protobuf;
using Onnx;

namespace McuFormer.Tests.Onnx;

/// <summary>Every rejected model gives exit code 2, one line naming what is wrong, and writes nothing.</summary>
public class BadInputTests
{
    private static CliRunner.Result Reject(TempFolder folder, string model, params string[] command)
    {
        var before = folder.Files;
        var result = CliRunner.Run([.. command, model]);
        Assert.Equal(2, result.ExitCode);
        Assert.Equal("", result.Stdout);
        var lines = result.Stderr.Trim().Split('\n');
        Assert.Single(lines);
        Assert.StartsWith("error: ", lines[0]);
        Assert.Contains(model, lines[0]);
        Assert.Equal(before, folder.Files);
        return result;
    }

    [Fact]
    public void UnsupportedOperatorNamesNodeOpAndOpset()
    {
        using var folder = new TempFolder();
        var model = TestModels.PatchMeanHead();
        model.Graph.Node.Single(n => n.Name == "pool").OpType = "ReduceMax";
        var path = TestModels.Write(model, folder.Path);
        var result = Reject(folder, path, "analyze");
        Assert.Contains("node 'pool' (ReduceMax, opset 17)", result.Stderr);
        Assert.Contains("not supported", result.Stderr);
    }

    [Fact]
    public void DynamicInputShapeIsRejected()
    {
        using var folder = new TempFolder();
        var model = TestModels.PatchMeanHead();
        model.Graph.Input[0].Type.TensorType.Shape.Dim[0] = new TensorShapeProto.Types.Dimension { DimParam = "batch" };
        var path = TestModels.Write(model, folder.Path);
        var result = Reject(folder, path, "analyze");
        Assert.Contains("input 'input' has a dynamic dimension 0 ('batch')", result.Stderr);
    }

    [Fact]
    public void TruncatedFileIsRejected()
    {
        using var folder = new TempFolder();
        var bytes = TestModels.PatchMeanHead().ToByteArray();
        var path = Path.Combine(folder.Path, "truncated.onnx");
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var result = Reject(folder, path, "validate", "--data", TestModels.FashionMnist);
        Assert.Contains("truncated", result.Stderr);
    }

    [Fact]
    public void NonOnnxFileIsRejected()
    {
        using var folder = new TempFolder();
        var path = Path.Combine(folder.Path, "notes.onnx");
        File.WriteAllText(path, "this is not a model\n");
        Reject(folder, path, "analyze");
    }

    [Fact]
    public void ExternalDataOutsideTheModelFolderIsRejected()
    {
        using var folder = new TempFolder();
        var model = TestModels.PatchMeanHead();
        var weight = model.Graph.Initializer.Single(t => t.Name == "head.weight");
        weight.RawData = ByteString.Empty;
        weight.DataLocation = TensorProto.Types.DataLocation.External;
        weight.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = "../../etc/passwd" });
        var path = TestModels.Write(model, Path.Combine(folder.Path, "model"));
        var result = Reject(folder, path, "analyze");
        Assert.Contains("tensor 'head.weight' external data path '../../etc/passwd' leaves the model's folder", result.Stderr);
    }

    [Fact]
    public void ExternalDataInsideTheModelFolderIsRead()
    {
        using var folder = new TempFolder();
        var model = TestModels.PatchMeanHead();
        var weight = model.Graph.Initializer.Single(t => t.Name == "head.weight");
        File.WriteAllBytes(Path.Combine(folder.Path, "weights.bin"), [.. new byte[16], .. weight.RawData.ToByteArray()]);
        weight.RawData = ByteString.Empty;
        weight.DataLocation = TensorProto.Types.DataLocation.External;
        weight.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = "weights.bin" });
        weight.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = "16" });
        var path = TestModels.Write(model, folder.Path);
        var result = CliRunner.Run("validate", path, "--data", TestModels.FashionMnist, "--limit", "50", "--calib-samples", "20", "--json");
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains("\"cosine_mean\"", result.Stdout);
    }

    [Fact]
    public void DeviceGivenAsTheModelIsRejected()
    {
        using var folder = new TempFolder();
        var result = Reject(folder, "/dev/zero", "analyze");
        Assert.Contains("is empty or not a regular file", result.Stderr);
    }

    [Fact]
    public void UnsupportedOpsetIsRejected()
    {
        using var folder = new TempFolder();
        var model = TestModels.PatchMeanHead();
        model.OpsetImport[0].Version = 9;
        var path = TestModels.Write(model, folder.Path);
        var result = Reject(folder, path, "analyze");
        Assert.Contains("opset 9 is not supported", result.Stderr);
    }

    [Fact]
    public void MissingDataIsRejected()
    {
        using var folder = new TempFolder();
        var path = TestModels.Write(TestModels.PatchMeanHead(), folder.Path);
        var result = CliRunner.Run("validate", path, "--data", Path.Combine(folder.Path, "missing"));
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("missing", result.Stderr);
    }
}
