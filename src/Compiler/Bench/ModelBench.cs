using System.Diagnostics;
using McuFormer.CodeGen.Tools;
using McuFormer.MemoryPlanner;
using McuFormer.Model.Lowering;
using McuFormer.Model.Quantization;
using McuFormer.Pipeline;
using McuFormer.Pipeline.Firmware;

namespace McuFormer.Compiler.Bench;

/// <summary>One model of `mcuformer bench-model`, compiled, built and simulated end to end.</summary>
/// <param name="Name">the model (bench-model's --model value)</param>
/// <param name="Board">the QEMU board profile it was compiled for</param>
/// <param name="Instructions">instructions per inference in QEMU (-icount), the mean over the simulated samples</param>
/// <param name="ArenaBytes">activation arenas of mcu_model_run, the whole image resident, over all RAM regions</param>
/// <param name="StreamedArenaBytes">activation arenas of mcu_model_run_streamed (the image read band by band); null when the model has no streamed run</param>
/// <param name="LowerBoundBytes">the bytes any schedule must keep live with the image resident (ScheduleIndependentBound), a lower bound on <see cref="ArenaBytes"/></param>
/// <param name="StreamedLowerBoundBytes">the same with the image streamed, a lower bound on <see cref="StreamedArenaBytes"/>; null when the model has no streamed run</param>
/// <param name="Schedule">how the steps run (the fastest schedule that fits the board, or the one needing the least RAM; see <see cref="ModelBench.LeastRam"/>)</param>
/// <param name="FlashBytes">internal flash the firmware image takes (code, constants placed there, .data's initial values)</param>
/// <param name="ExternalFlashBytes">external flash the image takes (the model's constants when internal flash cannot hold them)</param>
/// <param name="BitExact">every simulated output equals the host build's</param>
/// <param name="CompileSeconds">import, calibration, quantization, planning, the host's reference outputs and writing the C project; not the firmware build</param>
/// <param name="CompileCpuSeconds">CPU time of the compile on all threads (calibration and the host's reference outputs use several
/// cores), a figure that other work on the machine does not inflate as it does <see cref="CompileSeconds"/></param>
/// <param name="PlanSeconds">the part of <see cref="CompileSeconds"/> that chose the schedule and planned its memory</param>
/// <param name="CompilePhaseSeconds">where <see cref="CompileSeconds"/> went, by the compile's phases (CompilePhases)</param>
/// <param name="LatencyMsEstimate">instructions at the simulated board's clock under <see cref="LatencyAssumptions"/></param>
public sealed record ModelFigures(
    string Name,
    string Board,
    long Params,
    long Macs,
    long Instructions,
    double InstrPerMac,
    long ArenaBytes,
    long? StreamedArenaBytes,
    long LowerBoundBytes,
    long? StreamedLowerBoundBytes,
    string Schedule,
    long FlashBytes,
    long ExternalFlashBytes,
    string WeightsRegion,
    bool BitExact,
    int Samples,
    int Mismatches,
    long StackHighWaterBytes,
    double CompileSeconds,
    double CompileCpuSeconds,
    double PlanSeconds,
    IReadOnlyDictionary<string, double> CompilePhaseSeconds,
    double BuildSeconds,
    double SimulateSeconds,
    double HostBuildSeconds,
    double HostRunSeconds,
    double QemuSeconds,
    long ClockHz,
    double LatencyMsEstimate,
    string LatencyAssumptions);

/// <summary>
/// `mcuformer bench-model`: the bundled fixture on mps2-an500 and a DeiT-tiny-sized model with random weights on
/// mps2-an500-extflash (its 5.7 MB of weights exceed internal flash), each compiled, built and simulated in QEMU
/// bit-exact against the host build.
/// </summary>
public static class ModelBench
{
    public const string FixtureName = "vit_fmnist";
    public const string FixtureBoard = "mps2-an500";
    public const string ExternalFlashBoard = "mps2-an500-extflash";

    /// <summary>The models bench-model knows, by name, in the order it runs them.</summary>
    public static IReadOnlyList<string> ModelNames { get; } = [FixtureName, SyntheticVit.DeitTiny240.Name];

    /// <summary>Calibration images per model: the synthetic model's images are generated, and ranges settle within these.</summary>
    public const int CalibrationSamples = 16;

    /// <summary>
    /// Whether a model is compiled for the least RAM (compile --least-ram) rather than the fastest schedule that fits:
    /// DeiT-tiny is measured as MCUFormer deploys it, with its activations in as little RAM as the schedules allow; the
    /// fixture fits the F746 many times over and is measured with the default schedule, as compile builds it.
    /// </summary>
    public static bool LeastRam(string name) => name != FixtureName;

    public static ModelFigures Run(string name, int samples, IProgress<string>? progress = null)
    {
        using var scratch = new ScratchFolder("mcuformer-bench-model-");
        if (name == FixtureName)
            return Measure(name, FixtureBoard, ToolPaths.BundledModel, ToolPaths.FashionMnist, scratch.Path, samples, progress);
        var vit = name == SyntheticVit.DeitTiny240.Name ? SyntheticVit.DeitTiny240
            : throw new ArgumentException($"unknown model '{name}'; bench-model knows {string.Join(", ", ModelNames)}", nameof(name));
        return Measure(vit, scratch.Path, samples, progress);
    }

    /// <summary>A synthetic ViT written to folder with deterministic random images for calibration and simulation.</summary>
    private static ModelFigures Measure(SyntheticVit vit, string folder, int samples, IProgress<string>? progress = null)
    {
        progress?.Report($"{vit.Name}: generating the model and images");
        var model = Path.Combine(folder, vit.Name + ".onnx");
        File.WriteAllBytes(model, Google.Protobuf.MessageExtensions.ToByteArray(vit.Build()));
        var images = Path.Combine(folder, "images.npy");
        SyntheticImages.Write(images, Math.Max(CalibrationSamples, samples), vit.Channels, vit.Height, vit.Width);
        return Measure(vit.Name, ExternalFlashBoard, model, images, folder, samples, progress);
    }

    private static ModelFigures Measure(string name, string board, string model, string data, string folder, int samples, IProgress<string>? progress)
    {
        progress?.Report($"{name}: compiling for {board}");
        var project = Path.Combine(folder, "project");
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var outcome = Compilation.Compile(new CompileOptions(model, board, data, CalibrationSamples, RangeMethod.MinMax, project,
            ScheduleOptions.Fused with { LeastMemory = LeastRam(name) }, Emit: "none"), progress);
        // The firmware build runs in child processes, so this process's CPU time is the compile's own, on all its threads.
        var compileCpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
        if (!outcome.Built) throw new HostToolException($"bench-model builds firmware for QEMU: {FirmwareBuilder.ArmInstallHint}");
        progress?.Report($"{name}: simulating {samples} samples in QEMU");
        var clock = Stopwatch.StartNew();
        var simulation = Simulation.Simulate(new SimulateOptions(project, data, samples), progress);
        var simulateTime = clock.Elapsed;
        var report = outcome.Report;
        return new ModelFigures(
            Name: name,
            Board: board,
            Params: report.Params,
            Macs: report.Macs,
            Instructions: simulation.InstructionsPerInference,
            InstrPerMac: simulation.InstructionsPerMac,
            ArenaBytes: report.ArenaBytes,
            StreamedArenaBytes: report.StreamedArenaBytes,
            LowerBoundBytes: ScheduleIndependentBound.Of(outcome.Compiled.Graph, inputResident: true).Bytes,
            StreamedLowerBoundBytes: report.StreamedArenaBytes is null ? null : ScheduleIndependentBound.Of(outcome.Compiled.Graph, inputResident: false).Bytes,
            Schedule: report.Schedule,
            FlashBytes: report.FlashBytes,
            ExternalFlashBytes: report.ExternalFlashByRegion.Values.Sum(),
            WeightsRegion: report.WeightsRegion,
            BitExact: simulation.BitExact,
            Samples: simulation.Samples,
            Mismatches: simulation.Mismatches,
            StackHighWaterBytes: simulation.StackHighWaterBytes,
            CompileSeconds: outcome.GenerateTime.TotalSeconds,
            CompileCpuSeconds: compileCpu.TotalSeconds,
            PlanSeconds: outcome.Compiled.PlanningTime.TotalSeconds,
            CompilePhaseSeconds: outcome.Phases.Where(p => p.Name != CompilePhases.Build).ToDictionary(p => p.Name, p => p.Time.TotalSeconds),
            BuildSeconds: outcome.BuildTime.TotalSeconds,
            SimulateSeconds: simulateTime.TotalSeconds,
            HostBuildSeconds: simulation.HostBuildSeconds,
            HostRunSeconds: simulation.HostRunSeconds,
            QemuSeconds: simulation.QemuSeconds,
            ClockHz: simulation.ClockHz,
            LatencyMsEstimate: simulation.LatencyMsEstimate,
            LatencyAssumptions: LatencyAssumptions(simulation, report.ExternalFlashByRegion.Count > 0));
    }

    private static string LatencyAssumptions(SimulationReport simulation, bool externalWeights) =>
        $"{simulation.CyclesPerInstruction:0.##} cycle per instruction at {simulation.ClockHz / 1e6:0.#} MHz, no stalls for flash wait states " +
        "or cache misses; QEMU counts instructions, not cycles" +
        (externalWeights ? "; the weights in external flash read as fast as from internal flash (QEMU maps it as RAM; an STM32F746 would read them from QSPI, far slower)" : "");
}
