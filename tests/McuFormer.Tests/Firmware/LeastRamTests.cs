using System.Text.Json;
using McuFormer.Compiler.Bench;
using McuFormer.MemoryPlanner;
using McuFormer.Model.Lowering;
using McuFormer.Pipeline;
using McuFormer.Tests.Board;

namespace McuFormer.Tests.Firmware;

/// <summary>
/// `compile --least-ram` on a model whose image outweighs its blocks: the whole-image run takes the bigger
/// (faster) blocks that fit beside the image without raising the arena, the streamed run keeps the smallest,
/// and the two entry points, lowered apart, give the same bytes.
/// </summary>
public class LeastRamTests
{
    private static readonly SyntheticVit WideImage = new("wide-image", 3, 96, 96, 16, 64, 1, 2, 4, 10);

    [Fact]
    public void TheResidentRunGrowsItsBlocksBesideTheImageAndTheStreamedRunKeepsTheSmallest()
    {
        using var temp = new TempFolder();
        var model = Path.Combine(temp.Path, "wide.onnx");
        File.WriteAllBytes(model, Google.Protobuf.MessageExtensions.ToByteArray(WideImage.Build()));
        var board = CompiledDiscoProject.Profile("mps2-an500");
        var requested = ScheduleOptions.Fused with { LeastMemory = true };
        var compiled = ModelCompiler.Compile(new CompileRequest(ImportedModel.Load(model), board, Calibration: null, requested));

        var smallest = SchedulePlanner.Lower(compiled.Model, requested);
        var smallestPlan = RegionPlanner.PlanLeastTotal(PlanningProblem.Of(smallest), MemoryPool.Of(board), TimeSpan.FromSeconds(5));
        Assert.True(compiled.Primary.Schedule.Options.AttentionRowBlock > requested.AttentionRowBlock, compiled.Primary.Schedule.Options.Describe());
        Assert.Equal(smallestPlan.TotalPeakBytes, compiled.Primary.Plan.TotalPeakBytes);
        var streamed = compiled.Streamed!;
        Assert.Equal(requested.AttentionRowBlock, streamed.Schedule.Options.AttentionRowBlock);
        Assert.True(streamed.Plan.TotalPeakBytes < compiled.Primary.Plan.TotalPeakBytes);
        // Each run's constants of one name have one content: blocks of other sizes got names of their own.
        var constants = new[] { compiled.Primary.Schedule, streamed.Schedule }.SelectMany(s => s.Calls).SelectMany(c => c.Args).OfType<ConstArg>();
        Assert.All(constants.GroupBy(c => c.Name), named => Assert.Single(named.Select(c => c.Data).Distinct()));

        // The firmware and the host build run both entry points: the host build checks streamed against whole
        // on every sample, and QEMU's outputs against the host's.
        var images = Path.Combine(temp.Path, "images.npy");
        SyntheticImages.Write(images, 4, WideImage.Channels, WideImage.Height, WideImage.Width);
        var output = Path.Combine(temp.Path, "out");
        var compile = CliRunner.Run("compile", model, "--board", "mps2-an500", "--least-ram", "--calib", images, "--calib-samples", "4", "--out", output);
        Assert.True(compile.ExitCode == 0, compile.Stderr + compile.Stdout);
        var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "report.json"))).RootElement;
        Assert.Contains($"blocks of {compiled.Primary.Schedule.Options.AttentionRowBlock} query rows", report.GetProperty("schedule").GetString());
        var simulate = CliRunner.Run("simulate", output, "--data", images, "--limit", "2", "--json");
        Assert.True(simulate.ExitCode == 0, simulate.Stderr + simulate.Stdout);
        Assert.True(JsonDocument.Parse(simulate.Stdout).RootElement.GetProperty("bit_exact").GetBoolean());
    }
}
