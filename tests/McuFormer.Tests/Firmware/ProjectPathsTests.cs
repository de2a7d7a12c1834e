using System.Text.Json;

namespace McuFormer.Tests.Firmware;

/// <summary>The files compile writes hold paths relative to the project folder, and simulate follows them.</summary>
public class ProjectPathsTests
{
    [Fact]
    public void OutputFilesHoldRelativePathsThatSimulateFollows()
    {
        using var temp = new TempFolder();
        var model = TestModels.Write(TestModels.PatchMeanHead(), temp.Path);
        var output = Path.Combine(temp.Path, "projects", "qemu");
        var compile = CliRunner.Run("compile", model, "--board", "mps2-an500", "--calib", TestModels.FashionMnist, "--calib-samples", "16",
            "--out", output);
        Assert.True(compile.ExitCode == 0, compile.Stderr);

        var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "mcuformer.json"))).RootElement;
        var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "report.json"))).RootElement;
        Assert.Equal(Path.Combine("..", "..", "model.onnx"), manifest.GetProperty("model").GetString());
        Assert.Equal(Path.Combine("..", "..", "model.onnx"), report.GetProperty("model").GetString());
        Assert.Equal(TestModels.FashionMnist, Path.GetFullPath(Path.Combine(output, manifest.GetProperty("data").GetString()!)));
        foreach (var file in Directory.GetFiles(output, "*.json", SearchOption.AllDirectories))
            Assert.DoesNotContain(temp.Path, File.ReadAllText(file));

        // simulate's default samples come from the manifest's data path, resolved against the project folder.
        var simulate = CliRunner.Run("simulate", output, "--limit", "2", "--json");
        Assert.True(simulate.ExitCode == 0, simulate.Stderr);
        Assert.True(JsonDocument.Parse(simulate.Stdout).RootElement.GetProperty("bit_exact").GetBoolean());
    }
}
