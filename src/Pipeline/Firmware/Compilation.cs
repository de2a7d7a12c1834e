using System.Diagnostics;
using System.Text.Json;
using McuFormer.CodeGen;
using McuFormer.MemoryPlanner;
using McuFormer.Model.Boards;
using McuFormer.Model.Datasets;
using McuFormer.Model.Json;
using McuFormer.Model.Lowering;
using McuFormer.Model.Quantization;
using McuFormer.Pipeline.HostRuntime;
using McuFormer.Pipeline.Output;

namespace McuFormer.Pipeline.Firmware;

/// <param name="Emit">the extras to write (`--emit`, ProjectExtrasOption.Parse); null for what the board profile names</param>
public sealed record CompileOptions(string ModelPath, string BoardName, string CalibrationPath, int CalibrationSamples,
    RangeMethod RangeMethod, string OutputFolder, ScheduleOptions Schedule, int EmbeddedSamples = CompileRequest.DefaultEmbeddedSamples,
    string? Emit = null);

/// <param name="Compiled">the quantized model and its plans, as the project was generated from them</param>
/// <param name="Phases">how long each step took, in order (<see cref="CompilePhases"/>)</param>
public sealed record CompileOutcome(CompileReport Report, string OutputFolder, bool Built, CompiledModel Compiled, IReadOnlyList<CompilePhase> Phases)
{
    /// <summary>Everything but the firmware build: import, calibration, planning, the host's reference outputs and writing the project.</summary>
    public TimeSpan GenerateTime => Phases.Where(p => p.Name != CompilePhases.Build).Aggregate(TimeSpan.Zero, (sum, p) => sum + p.Time);

    /// <summary>Building firmware.elf with arm-none-eabi-gcc; zero when the toolchain is missing.</summary>
    public TimeSpan BuildTime => Phases.Where(p => p.Name == CompilePhases.Build).Aggregate(TimeSpan.Zero, (sum, p) => sum + p.Time);
}

public sealed record CompilePhase(string Name, TimeSpan Time);

/// <summary>The steps of a compile, as its progress reports and <see cref="CompileOutcome.Phases"/> name them.</summary>
public static class CompilePhases
{
    public const string Import = "importing";
    public const string Calibrate = "calibrating and planning";
    public const string Reference = "running the embedded samples on the host";
    public const string Generate = "generating C";
    public const string Build = "building firmware";
}

/// <summary>`mcuformer compile`: quantize and plan (ModelCompiler) → generate the C project → build → measure against the board.</summary>
public static class Compilation
{
    /// <summary>
    /// Writes the project, plan.json and plan.svg, builds and measures the firmware and writes report.json,
    /// all in a staging folder that takes the output folder's place only once complete (ProjectOutput).
    /// </summary>
    /// <exception cref="OutputFolderException">another mcuformer writes the folder, or files of the user's there would be lost</exception>
    public static CompileOutcome Compile(CompileOptions options, IProgress<string>? progress = null)
    {
        var board = new BoardCatalog(ToolPaths.Boards).Get(options.BoardName);
        var extras = options.Emit is { } emit ? ProjectExtrasOption.Parse(emit, board) : ProjectExtrasOption.Default(board);
        using var output = ProjectOutput.Open(options.OutputFolder);
        var phases = new List<CompilePhase>();
        var clock = Stopwatch.StartNew();
        string phase = CompilePhases.Import;
        // Ends the phase in progress and starts the next, reporting it.
        void Next(string next)
        {
            phases.Add(new CompilePhase(phase, clock.Elapsed));
            clock.Restart();
            phase = next;
            progress?.Report(next);
        }
        progress?.Report(phase);
        var input = ImportedModel.Load(options.ModelPath);
        var graph = input.Graph;
        var calibration = DatasetLoader.Load(options.CalibrationPath, graph.Input.SampleShape, DatasetSplit.Train, options.CalibrationSamples);
        // The test samples embedded in flash are loaded first: how many there are decides the flash left for the constants.
        var tests = DatasetLoader.Load(options.CalibrationPath, graph.Input.SampleShape, DatasetSplit.Test, options.EmbeddedSamples);
        Next(CompilePhases.Calibrate);
        var compiled = ModelCompiler.Compile(new CompileRequest(input, board, new Calibration(calibration, options.RangeMethod), options.Schedule)
        {
            EmbeddedSamples = tests.Count,
        });
        var model = compiled.Model;
        var (schedule, plan) = compiled.Primary;
        var streamed = compiled.Streamed;
        var weights = compiled.Weights!; // placed, since a board was given

        Next(CompilePhases.Reference);
        var inputs = Enumerable.Range(0, tests.Count).Select(i => tests.Sample(i).ToArray().Select(v => model.InputQuant.Quantize(v)).ToArray()).ToList();
        // An inference of a big model takes the host seconds (DeiT-tiny: about 1.4 s), so the samples run in parallel,
        // each worker on an executor of its own (an executor's buffers hold one inference in progress).
        var expected = new sbyte[tests.Count][];
        Parallel.For(0, tests.Count, () => new HostExecutor(model, options.Schedule),
            (i, _, host) =>
            {
                expected[i] = host.Run(inputs[i]);
                return host;
            },
            host => host.Dispose());

        var layers = schedule.Steps.Select(s =>
        {
            var placement = plan.PlacementOf(schedule.Storage(s.Output));
            return new LayerRow(s.Name, s.Kind, s.Macs, s.ParameterBytes, placement.Region, placement.Offset, s.Output.Bytes);
        }).ToList();
        // Every path an output file holds is relative to the project folder.
        var folder = output.Folder;
        string FromFolder(string path) => OutputJson.RelativePath(folder, path);
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
        Next(CompilePhases.Generate);
        if (weights.Overflow(board) is { } overflow)
            throw new FirmwareDoesNotFitException($"{options.ModelPath}: {overflow}");
        int stackNeeded = KernelStack.BytesNeeded(new[] { schedule, streamed?.Schedule }.OfType<Schedule>());
        if (board.Layout.StackSize < stackNeeded)
            throw new FirmwareDoesNotFitException($"{options.ModelPath}: the kernels need about {stackNeeded} bytes of stack " +
                $"({(stackNeeded - KernelStack.BesideBufferBytes) / 1024} KB operand buffer and up to {KernelStack.BesideBufferBytes} besides) but " +
                $"{board.Name} reserves {board.Layout.StackSize} (layout.stack_size)");
        var request = new ProjectRequest(model, schedule, plan, weights, board, ToolPaths.Boards, ToolPaths.RuntimeC, inputs, expected, options.OutputFolder,
            LatencyModel.Default.Instructions(schedule), extras, streamed);
        if (!plan.Fits)
            throw new FirmwareDoesNotFitException($"{options.ModelPath}: the activations do not fit {board.Name}'s RAM regions: " + string.Join("; ",
                plan.Overflows.Select(o => $"the {o.Pool.Region} arena needs {plan.PeakBytes(o.Pool.Region)} bytes but {o.Pool.Region} has {o.Pool.CapacityBytes} for activations (over by {o.OverBytes} bytes)")));
        var source = ProjectWriter.Write(request, output.Staging);

        File.WriteAllText(Path.Combine(output.Staging, "plan.json"), JsonSerializer.Serialize(PlanDocument.From(plan, weights), JsonFiles.Options));
        File.WriteAllText(Path.Combine(output.Staging, "plan.svg"), PlanChart.Svg(plan, $"{graph.Name} on {board.Name}"));
        bool built = FirmwareBuilder.ArmToolchainInstalled;
        ElfMemory? memory = null;
        if (built)
        {
            Next(CompilePhases.Build);
            memory = ElfMemory.Read(FirmwareBuilder.BuildFirmware(output.Staging, folder), board);
        }
        phases.Add(new CompilePhase(phase, clock.Elapsed));
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
        File.WriteAllText(Path.Combine(output.Staging, "report.json"), JsonSerializer.Serialize(report, JsonFiles.Options));
        output.Commit(manifest);
        return new CompileOutcome(report, folder, built, compiled, phases);
    }

    /// <summary>
    /// Compiles a model for the board as `compile --emit none` does, for the size of its firmware: the default
    /// embedded samples, and 16 calibration images, which suffice for sizes.
    /// </summary>
    public static CompileReport CompileForSize(string modelPath, BoardProfile board, string calibrationPath, string outputFolder) =>
        // Only the firmware's size is wanted: no Renode files and no nanoFramework shim build.
        Compile(new CompileOptions(modelPath, board.Name, calibrationPath, 16, RangeMethod.MinMax, outputFolder, ScheduleOptions.Fused, Emit: "none")).Report;
}
