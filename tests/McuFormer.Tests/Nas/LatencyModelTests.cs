using McuFormer.Model.Lowering;
using McuFormer.Model.Onnx;
using McuFormer.Model.Quantization;
using McuFormer.Nas.Space;
using McuFormer.Pipeline;

namespace McuFormer.Tests.Nas;

public class LatencyModelTests
{
    [Fact]
    public void CalibrationFitsInstructionsPerMacAndPerByteForEachStepKind()
    {
        using var folder = new TempFolder();
        string report = Path.Combine(folder.Path, "simulate.json");
        File.WriteAllText(report, """
            {"layers": [
              {"name": "a", "op": "linear", "macs": 1000, "output_bytes": 64, "instructions": 1500},
              {"name": "b", "op": "linear", "macs": 3000, "output_bytes": 64, "instructions": 2500},
              {"name": "c", "op": "add", "macs": 0, "output_bytes": 100, "instructions": 900}
            ]}
            """);
        var model = LatencyModel.Calibrate(report);
        Assert.Equal(1.0, model.PerMac["linear"], 6);
        Assert.Equal(9.0, model.PerByte["add"], 6);
        Assert.Contains(report, model.Source);
        Assert.Equal("calibrated from simulate.json", model.SourceRelativeTo(folder.Path));

        var schedule = KernelLowering.Lower(Quantizer.ForPlanning(OnnxImporter.Import(TestModels.Fixture)), ScheduleOptions.Fused);
        long expected = (long)Math.Round(schedule.Steps.Sum(s => s.Macs > 0
            ? s.Macs * model.PerMac.GetValueOrDefault(s.Kind, LatencyModel.FallbackPerMac)
            : s.Output.Bytes * model.PerByte.GetValueOrDefault(s.Kind, LatencyModel.FallbackPerByte)));
        Assert.Equal(expected, model.Instructions(schedule));
    }

    [Fact]
    public void AReportWithoutLayersIsRejected()
    {
        using var folder = new TempFolder();
        string report = Path.Combine(folder.Path, "other.json");
        File.WriteAllText(report, """{"samples": 3}""");
        var error = Assert.Throws<SearchInputException>(() => LatencyModel.Calibrate(report));
        Assert.Contains("other.json", error.Message);
        Assert.Contains("simulate", error.Message);
    }
}
