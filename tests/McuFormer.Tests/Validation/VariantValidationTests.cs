using System.Text.Json;

namespace McuFormer.Tests.Validation;

/// <summary>End to end: each committed export quantizes and runs on runtime-c close to ONNX Runtime.</summary>
public class VariantValidationTests
{
    public static TheoryData<string> Variants() => McuFormer.Tests.Onnx.ImportTests.Variants();

    private static JsonElement Validate(string model, int limit)
    {
        var result = CliRunner.Run("validate", model, "--data", TestModels.FashionMnist, "--limit", limit.ToString(),
            "--calib-samples", "256", "--layer-samples", "20", "--json");
        Assert.True(result.ExitCode == 0, result.Stderr);
        return JsonDocument.Parse(result.Stdout).RootElement.Clone();
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void VariantValidatesWithHighCosine(string variant)
    {
        var report = Validate(Path.Combine(TestModels.Variants, variant), 500);
        Assert.True(report.GetProperty("cosine_mean").GetDouble() >= 0.99, report.ToString());
        Assert.True(report.GetProperty("agreement").GetDouble() >= 95, report.ToString());
    }

    [Fact]
    public void FixtureInt8AccuracyStaysWithinOnePointOfFloat()
    {
        var report = Validate(TestModels.Fixture, 2000);
        double top1Float = report.GetProperty("top1_float").GetDouble();
        double top1Int8 = report.GetProperty("top1_int8").GetDouble();
        Assert.True(top1Float >= 85, report.ToString());
        Assert.True(Math.Abs(top1Float - top1Int8) <= 1.0, report.ToString());
        Assert.True(report.GetProperty("cosine_mean").GetDouble() >= 0.99, report.ToString());
        foreach (var layer in report.GetProperty("layers").EnumerateArray())
            Assert.True(layer.GetProperty("cosine").GetDouble() >= 0.95, layer.ToString());
    }
}
