using System.Text.Json;

namespace McuFormer.Tests.Validation;

public class CommandTests
{
    [Fact]
    public void AnalyzeReportsParamsMacsAndLayers()
    {
        using var folder = new TempFolder();
        var path = TestModels.Write(TestModels.PatchMeanHead(), folder.Path);
        var result = CliRunner.Run("analyze", path, "--json");
        Assert.True(result.ExitCode == 0, result.Stderr);
        using var json = JsonDocument.Parse(result.Stdout);
        var root = json.RootElement;
        Assert.Equal(8 * 49 + 8 + 10 * 8 + 10, root.GetProperty("params").GetInt64());
        Assert.Equal(16 * 8 * 49 + 16 * 8 + 8 * 10, root.GetProperty("macs").GetInt64());
        var ops = root.GetProperty("layers").EnumerateArray().Select(l => l.GetProperty("op").GetString()).ToArray();
        Assert.Equal(new[] { "patch_embed", "mean_tokens", "linear" }, ops);
    }

    [Fact]
    public void ValidatePrintsOneJsonObjectWithTheContractKeys()
    {
        using var folder = new TempFolder();
        var path = TestModels.Write(TestModels.PatchMeanHead(), folder.Path);
        var result = CliRunner.Run("validate", path, "--data", TestModels.FashionMnist, "--limit", "200", "--calib-samples", "64", "--json");
        Assert.True(result.ExitCode == 0, result.Stderr);
        using var json = JsonDocument.Parse(result.Stdout);
        var root = json.RootElement;
        Assert.Equal(200, root.GetProperty("samples").GetInt32());
        foreach (var key in new[] { "top1_float", "top1_int8", "agreement", "cosine_mean", "cosine_min" })
            Assert.Equal(JsonValueKind.Number, root.GetProperty(key).ValueKind);
        Assert.True(root.GetProperty("cosine_mean").GetDouble() >= 0.99, result.Stdout);
        Assert.Equal(3, root.GetProperty("layers").GetArrayLength());
    }

    /// <summary>
    /// Calibrated on dark images only, the patch embedding saturates on real ones: validate names
    /// that layer in a warning on stderr and in the JSON.
    /// </summary>
    [Fact]
    public void ValidateWarnsNamingALayerBelowCosine099()
    {
        using var folder = new TempFolder();
        var path = TestModels.Write(TestModels.PatchMeanHead(), folder.Path);
        var dark = Path.Combine(folder.Path, "dark.npy");
        var values = Enumerable.Range(0, 16 * 28 * 28).Select(i => 0.02f * (i % 3)).ToArray();
        File.WriteAllBytes(dark, Datasets.DatasetTestFiles.Npy("<f4", [16, 1, 28, 28], Datasets.DatasetTestFiles.Float32Bytes(values)));
        var result = CliRunner.Run("validate", path, "--data", TestModels.FashionMnist, "--limit", "50", "--calib", dark, "--json");
        Assert.True(result.ExitCode == 0, result.Stderr);
        var warnings = JsonDocument.Parse(result.Stdout).RootElement.GetProperty("warnings").EnumerateArray()
            .Select(w => w.GetString()!).ToList();
        Assert.Contains(warnings, w => w.StartsWith("layer 'patch' (patch_embed): int8 cosine", StringComparison.Ordinal));
        Assert.Contains("warning: layer 'patch' (patch_embed)", result.Stderr);
    }
}
