using System.Text.Json;
using McuFormer.CodeGen;
using McuFormer.Pipeline.HostRuntime;
using McuFormer.MemoryPlanner;
using McuFormer.Model.Boards;
using McuFormer.Model.Datasets;
using McuFormer.Model.Ir;
using McuFormer.Model.Lowering;
using McuFormer.Model.Onnx;
using McuFormer.Model.Quantization;

namespace McuFormer.Pipeline.Firmware;

/// <param name="Emit">the extras to write (`--emit`, ProjectExtrasOption.Parse); null for what the board profile names</param>
public sealed record CompileOptions(string ModelPath, string BoardName, string CalibrationPath, int CalibrationSamples,
    RangeMethod RangeMethod, string OutputFolder, ScheduleOptions Schedule, int EmbeddedSamples = CompileOptions.DefaultEmbeddedSamples,
    string? Emit = null)
{
    /// <summary>Test samples the board harness carries in flash, with the outputs the host computed for them.</summary>
    public const int DefaultEmbeddedSamples = 4;

    /// <summary>Flash bytes of that many embedded samples: each input and its expected output, int8.</summary>
    public static long SampleBytes(ModelGraph graph, int samples) => (long)samples * (graph.Input.Buffer.ElementCount + graph.Output.ElementCount);
}

public sealed record CompileOutcome(CompileReport Report, string OutputFolder, bool Built);

/// <summary>`mcuformer compile`: quantize → plan → generate the C project → build → measure against the board.</summary>
public static class Compilation
{
    public static CompileOutcome Compile(CompileOptions options, IProgress<string>? progress = null)
    {
        var board = new BoardCatalog(ToolPaths.Boards).Get(options.BoardName);
        var extras = options.Emit is { } emit ? ProjectExtrasOption.Parse(emit, board) : ProjectExtrasOption.Default(board);
        progress?.Report("importing");
        var file = OnnxModelFile.Load(options.ModelPath);
        var graph = OnnxImporter.Import(file);
        var calibration = DatasetLoader.Load(options.CalibrationPath, graph.Input.SampleShape, DatasetSplit.Train, options.CalibrationSamples);
        progress?.Report("calibrating");
        var model = Calibrator.Calibrate(file, graph, calibration, options.RangeMethod);
        var pools = MemoryPool.Of(board);
        var (schedule, plan) = SchedulePlanner.Plan(model, options.Schedule, pools, TimeSpan.FromSeconds(5));
        // The streamed entry point runs the same steps with the image read band by band, in arenas of its own.
        var streamed = KernelLowering.StreamedVariant(model, schedule) is { } streamedSchedule
            ? new PlannedRun(streamedSchedule, RegionPlanner.Plan(PlanningProblem.Of(streamedSchedule), pools, TimeSpan.FromSeconds(5)))
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

        var layers = schedule.Steps.Select(s =>
        {
            var placement = plan.PlacementOf(schedule.Storage(s.Output));
            return new LayerRow(s.Name, s.Kind, s.Macs, s.ParameterBytes, placement.Region, placement.Offset, s.Output.Bytes);
        }).ToList();
        // Every path an output file holds is relative to the project folder.
        var folder = Path.GetFullPath(options.OutputFolder);
        string FromFolder(string path) => Path.GetRelativePath(folder, Path.GetFullPath(path));
        var manifest = new ProjectManifest
        {
            Model = FromFolder(options.ModelPath),
            Board = board.Name,
            BoardProfile = options.BoardName.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? FromFolder(options.BoardName) : null,
            Data = FromFolder(options.CalibrationPath),
            InputShape = graph.Input.SampleShape,
            InputScale = model.InputQuant.Scale,
            InputZeroPoint = model.InputQuant.ZeroPoint,
            OutputSize = graph.Output.ElementCount,
            Layers = layers,
        };
        progress?.Report("generating C");
        var weights = WeightPlacement.For(board, ModelSource.ConstantBytesOf([schedule, .. streamed is { } run ? [run.Schedule] : Array.Empty<Schedule>()]),
            CompileOptions.SampleBytes(graph, inputs.Count));
        if (weights.Overflow(board) is { } overflow)
            throw new FirmwareDoesNotFitException($"{options.ModelPath}: {overflow}");
        var request = new ProjectRequest(model, schedule, plan, weights, board, ToolPaths.Boards, ToolPaths.RuntimeC, inputs, expected, options.OutputFolder,
            LatencyModel.Default.Instructions(schedule), extras, streamed);
        if (!plan.Fits)
            throw new FirmwareDoesNotFitException($"{options.ModelPath}: the activations do not fit {board.Name}'s RAM regions: " + string.Join("; ",
                plan.Overflows.Select(o => $"the {o.Pool.Region} arena needs {plan.PeakBytes(o.Pool.Region)} bytes but {o.Pool.Region} has {o.Pool.CapacityBytes} for activations (over by {o.OverBytes} bytes)")));
        var source = ProjectWriter.Write(request, () => JsonSerializer.Serialize(manifest, OutputJson.Options));

        File.WriteAllText(Path.Combine(folder, "plan.json"), JsonSerializer.Serialize(PlanDocument.From(plan, weights), OutputJson.Options));
        File.WriteAllText(Path.Combine(folder, "plan.svg"), PlanChart.Svg(plan, $"{graph.Name} on {board.Name}"));
        bool built = FirmwareBuilder.ArmToolchainInstalled;
        ElfMemory? memory = null;
        if (built)
        {
            progress?.Report("building firmware");
            memory = ElfMemory.Read(FirmwareBuilder.BuildFirmware(folder), board);
        }
        long flash = memory?.FlashBytes ?? (weights.External is null ? source.ConstantBytes : 0);
        long ram = memory?.RamBytes ?? plan.TotalPeakBytes + board.Layout.StackSize;
        var report = new CompileReport
        {
            Board = board.Name,
            Model = FromFolder(options.ModelPath),
            Params = graph.Ops.Sum(o => o.Parameters),
            Macs = graph.Macs,
            MemorySource = memory is null ? "estimate" : "elf",
            FlashBytes = flash,
            PeakRamBytes = ram,
            RamBudgetBytes = board.RamBytes,
            FlashBudgetBytes = board.FlashBytes,
            Fits = flash <= board.FlashBytes && ram <= board.RamBytes,
            ArenaBytes = plan.TotalPeakBytes,
            ArenaByRegion = memory?.ArenaByRegion ?? plan.UsedRegions.ToDictionary(r => r, r => (long)plan.PeakBytes(r)),
            Schedule = schedule.Options.Describe(),
            ArenaLowerBoundBytes = plan.LowerBoundBytes,
            StreamedArenaBytes = streamed?.Plan.TotalPeakBytes,
            StreamedArenaByRegion = streamed?.Plan.UsedRegions.ToDictionary(r => r, r => (long)streamed.Plan.PeakBytes(r)),
            ConstantBytes = source.ConstantBytes,
            WeightsRegion = weights.Region,
            WeightsSection = weights.Section,
            ExternalFlashByRegion = memory?.ExternalByRegion ?? (weights.External is { } external
                ? new Dictionary<string, long> { [external.Name] = source.ConstantBytes } : new Dictionary<string, long>()),
            RamByRegion = memory?.RamByRegion ?? board.Ram.ToDictionary(r => r.Name, r => plan.PeakBytes(r.Name)
                + (r.Name == board.Layout.StackRegion ? board.Layout.StackSize : 0L)),
            Sections = memory?.Sections.Select(s => new SectionRow(s.Name, $"0x{s.Address:x8}", s.Size, s.Region)).ToList() ?? [],
            Layers = layers,
        };
        File.WriteAllText(Path.Combine(folder, "report.json"), JsonSerializer.Serialize(report, OutputJson.Options));
        return new CompileOutcome(report, folder, built);
    }
}
