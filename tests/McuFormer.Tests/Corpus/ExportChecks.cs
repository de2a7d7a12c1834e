using System.Text.Json;
using McuFormer.Model.Onnx;
using McuFormer.Tests.Datasets;

namespace McuFormer.Tests.Corpus;

/// <summary>What every user export must do: validate close to ONNX Runtime and run bit-exact in QEMU.</summary>
public static class ExportChecks
{
    private const int ValidationSamples = 32;
    private const int CalibrationSamples = 64;

    /// <summary>Random inputs for a model, uniform in its input range, as a float32 .npy of [count, C, H, W].</summary>
    public static string RandomInputs(string model, (float Min, float Max) range, string folder, string name, int count, int seed)
    {
        var shape = OnnxModelFile.Load(model).InputShape[1..];
        var (min, max) = range;
        var random = new Random(seed);
        var values = new float[count * shape.Aggregate(1, (a, b) => a * b)];
        for (int i = 0; i < values.Length; i++) values[i] = min + (max - min) * random.NextSingle();
        var path = Path.Combine(folder, name);
        File.WriteAllBytes(path, DatasetTestFiles.Npy("<f4", [count, .. shape.Select(d => (long)d)], DatasetTestFiles.Float32Bytes(values)));
        return path;
    }

    /// <summary>
    /// Validation on random inputs in the model's input range reaches a logit cosine mean of at
    /// least 0.99 and a minimum of at least 0.95; the compiled firmware runs bit-exact in QEMU.
    /// </summary>
    public static void AssertValidatesAndRunsBitExact(string model, (float Min, float Max) range)
    {
        string file = Path.GetFileName(model);
        using var temp = new TempFolder();
        var data = RandomInputs(model, range, temp.Path, "inputs.npy", ValidationSamples, seed: 1);
        var calibration = RandomInputs(model, range, temp.Path, "calibration.npy", CalibrationSamples, seed: 2);

        var validate = CliRunner.Run("validate", model, "--data", data, "--calib", calibration, "--layer-samples", "4", "--json");
        Assert.True(validate.ExitCode == 0, $"{file}: validate exited {validate.ExitCode}: {validate.Stderr}");
        var report = JsonDocument.Parse(validate.Stdout).RootElement;
        Assert.Equal(ValidationSamples, report.GetProperty("samples").GetInt32());
        double mean = report.GetProperty("cosine_mean").GetDouble(), min = report.GetProperty("cosine_min").GetDouble();
        Assert.True(mean >= 0.99 && min >= 0.95, $"{file}: logit cosine mean {mean:F5}, min {min:F5}");

        var output = Path.Combine(temp.Path, "project");
        var compile = CliRunner.Run("compile", model, "--board", "mps2-an500", "--calib", calibration, "--out", output);
        Assert.True(compile.ExitCode == 0, $"{file}: compile exited {compile.ExitCode}: {compile.Stderr}");
        var simulate = CliRunner.Run("simulate", output, "--data", data, "--json");
        Assert.True(simulate.ExitCode == 0, $"{file}: simulate exited {simulate.ExitCode}: {simulate.Stderr}");
        var run = JsonDocument.Parse(simulate.Stdout).RootElement;
        Assert.True(run.GetProperty("bit_exact").GetBoolean(), $"{file}: {simulate.Stdout}");
        Assert.Equal(ValidationSamples, run.GetProperty("samples").GetInt32());
        Assert.Equal(0, run.GetProperty("mismatches").GetInt32());
    }
}
