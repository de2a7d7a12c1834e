using System.Text.Json;
using McuFormer.CodeGen;
using McuFormer.Compiler.Commands;
using McuFormer.Compiler.HostRuntime;
using McuFormer.MemoryPlanner;
using McuFormer.Model.Boards;
using McuFormer.Model.Datasets;
using McuFormer.Model.Lowering;
using McuFormer.Model.Onnx;
using McuFormer.Model.Quantization;

namespace McuFormer.Compiler.Firmware;

public sealed record CompileOptions(string ModelPath, string BoardName, string CalibrationPath, int CalibrationSamples,
    RangeMethod RangeMethod, string OutputFolder, ScheduleOptions Schedule, int EmbeddedSamples = 4);

public sealed record CompileOutcome(CompileReport Report, string OutputFolder, bool Built);

/// <summary>`mcuformer compile`: quantize → plan → generate the C project → build → measure against the board.</summary>
public static class Compilation
{
    public static CompileOutcome Compile(CompileOptions options, IProgress<string>? progress = null)
    {
        var board = new BoardCatalog(ToolPaths.Boards).Get(options.BoardName);
        progress?.Report("importing");
        var file = OnnxModelFile.Load(options.ModelPath);
        var graph = OnnxImporter.Import(file);
        var calibration = DatasetLoader.Load(options.CalibrationPath, graph.Input.SampleShape, DatasetSplit.Train, options.CalibrationSamples);
        progress?.Report("calibrating");
        var model = Calibrator.Calibrate(file, graph, calibration, options.RangeMethod);
        var arenaRegion = board.RamRegion(board.Layout.ArenaRegion);
        var (schedule, plan) = SchedulePlanner.Plan(model, options.Schedule, arenaRegion.Size, TimeSpan.FromSeconds(5));
        // The streamed entry point runs the same steps with the image read band by band.
        (Schedule Schedule, MemoryPlan Plan)? streamed = schedule.Options.Fuse && KernelLowering.CanStreamInput(model)
            ? StreamedPlan(model, schedule.Options)
            : null;

        var tests = DatasetLoader.Load(options.CalibrationPath, graph.Input.SampleShape, DatasetSplit.Test, options.EmbeddedSamples);
        var inputs = new List<sbyte[]>();
        var expected = new List<sbyte[]>();
        using (var host = new HostExecutor(model, options.Schedule))
            for (int i = 0; i < tests.Count; i++)
            {
                var input = tests.Sample(i).ToArray().Select(v => model.InputQuant.Quantize(v)).ToArray();
                inputs.Add(input);
                expected.Add(host.Run(input));
            }

        var layers = schedule.Steps.Select(s => new LayerRow(s.Name, s.Kind, s.Macs, s.ParameterBytes,
            plan.OffsetOf(schedule.Storage(s.Output)), s.Output.Bytes)).ToList();
        var manifest = new ProjectManifest
        {
            Model = Path.GetFullPath(options.ModelPath),
            Board = board.Name,
            Data = options.CalibrationPath,
            InputShape = graph.Input.SampleShape,
            InputScale = model.InputQuant.Scale,
            InputZeroPoint = model.InputQuant.ZeroPoint,
            OutputSize = graph.Output.ElementCount,
            Layers = layers,
        };
        progress?.Report("generating C");
        var request = new ProjectRequest(model, schedule, plan, board, ToolPaths.Boards, ToolPaths.RuntimeC, inputs, expected, options.OutputFolder,
            streamed);
        if (plan.PeakBytes > arenaRegion.Size)
            throw new FirmwareDoesNotFitException(
                $"{options.ModelPath}: the activation arena needs {plan.PeakBytes} bytes but {board.Name}'s {arenaRegion.Name} has {arenaRegion.Size} (over by {plan.PeakBytes - arenaRegion.Size} bytes)");
        var source = ProjectWriter.Write(request, () => JsonSerializer.Serialize(manifest, Cli.Json));

        var folder = Path.GetFullPath(options.OutputFolder);
        File.WriteAllText(Path.Combine(folder, "plan.json"), JsonSerializer.Serialize(PlanDocument.From(plan, arenaRegion.Name), Cli.Json));
        File.WriteAllText(Path.Combine(folder, "plan.svg"), PlanChart.Svg(plan, $"{graph.Name} on {board.Name}"));
        bool built = FirmwareBuilder.ArmToolchainInstalled;
        ElfMemory? memory = null;
        if (built)
        {
            progress?.Report("building firmware");
            memory = ElfMemory.Read(FirmwareBuilder.BuildFirmware(folder), board);
        }
        long flash = memory?.FlashBytes ?? source.ConstantBytes;
        long ram = memory?.RamBytes ?? plan.PeakBytes + board.Layout.StackSize;
        var report = new CompileReport
        {
            Board = board.Name,
            Model = Path.GetFullPath(options.ModelPath),
            Params = graph.Ops.Sum(o => o.Parameters),
            Macs = graph.Macs,
            MemorySource = memory is null ? "estimate" : "elf",
            FlashBytes = flash,
            PeakRamBytes = ram,
            RamBudgetBytes = board.RamBytes,
            FlashBudgetBytes = board.FlashBytes,
            Fits = flash <= board.FlashBytes && ram <= board.RamBytes,
            ArenaBytes = plan.PeakBytes,
            Schedule = schedule.Options.Fuse
                ? $"fused: attention in blocks of {schedule.Options.AttentionRowBlock} query rows, MLP in chunks of {schedule.Options.MlpRowChunk} tokens, " +
                  $"{schedule.Options.FusedLayerNorms?.Count ?? 0} LayerNorms fused into the next linear, in-place adds, token overwriting"
                : "unfused",
            ArenaLowerBoundBytes = plan.LowerBoundBytes,
            StreamedArenaBytes = streamed?.Plan.PeakBytes,
            ConstantBytes = source.ConstantBytes,
            RamByRegion = memory?.RamByRegion ?? new Dictionary<string, long> { [arenaRegion.Name] = plan.PeakBytes },
            Sections = memory?.Sections.Select(s => new SectionRow(s.Name, $"0x{s.Address:x8}", s.Size, s.Region)).ToList() ?? [],
            Layers = layers,
        };
        File.WriteAllText(Path.Combine(folder, "report.json"), JsonSerializer.Serialize(report, Cli.Json));
        return new CompileOutcome(report, folder, built);
    }

    private static (Schedule, MemoryPlan) StreamedPlan(QuantizedModel model, ScheduleOptions options)
    {
        var schedule = KernelLowering.Lower(model, options with { StreamedInput = true });
        return (schedule, ExactPlanner.Plan(PlanningProblem.Of(schedule), TimeSpan.FromSeconds(5)));
    }
}
