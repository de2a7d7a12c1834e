using System.Buffers.Binary;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using McuFormer.CodeGen;
using McuFormer.CodeGen.Tools;
using McuFormer.Model.Boards;
using McuFormer.Model.Datasets;
using McuFormer.Model.Json;
using McuFormer.Model.Quantization;

namespace McuFormer.Pipeline.Firmware;

public sealed record SimulateOptions(string ProjectFolder, string? DataPath, int Limit);

public sealed record SimulationReport
{
    public required string Board { get; init; }
    public required string Simulator { get; init; }
    public required int Samples { get; init; }
    public required bool BitExact { get; init; }
    public required int Mismatches { get; init; }
    /// <summary>Percent; null when the data has no labels.</summary>
    public required double? Top1Int8 { get; init; }
    /// <summary>Top-1 of the host build on the same samples (equal to top1_int8 when bit-exact).</summary>
    public required double? Top1Host { get; init; }
    public required long InstructionsPerInference { get; init; }
    public required double InstructionsPerMac { get; init; }
    /// <summary>Estimated at ClockHz assuming CyclesPerInstruction; QEMU counts instructions, not cycles.</summary>
    public required double LatencyMsEstimate { get; init; }
    public required long ClockHz { get; init; }
    [JsonPropertyName("cycles_per_instruction_assumed")] public required double CyclesPerInstruction { get; init; }
    public required long StackHighWaterBytes { get; init; }
    public required IReadOnlyList<LayerProfile> Layers { get; init; }
    public required double Seconds { get; init; }
    /// <summary>Building the host model with the project's Makefile (cc), part of <see cref="Seconds"/>.</summary>
    public required double HostBuildSeconds { get; init; }
    /// <summary>Running the host model on the samples, part of <see cref="Seconds"/>.</summary>
    public required double HostRunSeconds { get; init; }
    /// <summary>QEMU booting the firmware and running the samples, part of <see cref="Seconds"/>.</summary>
    public required double QemuSeconds { get; init; }
}

public sealed record LayerProfile(
    string Name,
    string Op,
    long Macs,
    long OutputBytes,
    long Instructions,
    double? InstructionsPerMac,
    double Share);

/// <summary>
/// `mcuformer simulate`: runs the firmware in QEMU with instruction counting, streams test inputs
/// through semihosting, and checks every output against the host build of the same C sources.
/// </summary>
public static class Simulation
{
    /// <summary>QEMU's -icount shift: each instruction advances virtual time by 2^shift ns.</summary>
    public const int IcountShift = 10;
    /// <summary>Cortex-M7 runs int8 kernels at roughly one cycle per instruction (dual issue offsets load stalls).</summary>
    public const double AssumedCyclesPerInstruction = 1.0;
    public const string QemuInstallHint = "install the Debian package qemu-system-arm (apt-get install qemu-system-arm)";

    public static SimulationReport Simulate(SimulateOptions options, IProgress<string>? progress = null)
    {
        var clock = Stopwatch.StartNew();
        var folder = Path.GetFullPath(options.ProjectFolder);
        var manifestPath = Path.Combine(folder, ProjectWriter.ManifestName);
        if (!File.Exists(manifestPath))
            throw new BoardException($"{folder}: not a project written by `mcuformer compile` (no {ProjectWriter.ManifestName})");
        var manifest = JsonSerializer.Deserialize<ProjectManifest>(File.ReadAllText(manifestPath), JsonFiles.Options)
            ?? throw new BoardException($"{manifestPath}: empty manifest");
        var board = new BoardCatalog(ToolPaths.Boards).Get(manifest.BoardReference(folder));
        if (board.Simulator is not { Kind: "qemu", Machine: { } machine })
            throw new BoardException($"{folder}: board {board.Name} is not simulated by QEMU; compile with --board mps2-an500 to simulate an STM32F746");
        var elf = Path.Combine(folder, "firmware.elf");
        if (!File.Exists(elf)) throw new HostToolException($"{folder}: firmware.elf is missing; {FirmwareBuilder.ArmInstallHint}, then compile again");

        var data = DatasetLoader.Load(options.DataPath ?? manifest.DataPath(folder), manifest.InputShape, DatasetSplit.Test, options.Limit);
        var quant = new QuantParams(manifest.InputScale, manifest.InputZeroPoint);
        using var scratch = new ScratchFolder("mcuformer-sim-");
        var inputs = new byte[data.Count * data.Sample(0).Length];
        int at = 0;
        for (int i = 0; i < data.Count; i++)
            foreach (var v in data.Sample(i)) inputs[at++] = (byte)quant.Quantize(v);
        File.WriteAllBytes(Path.Combine(scratch.Path, "inputs.bin"), inputs);

        progress?.Report("host build");
        var phase = Stopwatch.StartNew();
        var host = FirmwareBuilder.BuildHostModel(folder);
        var hostBuild = phase.Elapsed;
        phase.Restart();
        var hostRun = ExternalTool.Run(host, [Path.Combine(scratch.Path, "inputs.bin"), Path.Combine(scratch.Path, "host_outputs.bin")], scratch.Path,
            TimeSpan.FromMinutes(10), "the C compiler 'cc'");
        if (hostRun.ExitCode != 0) throw new HostToolException($"{host} failed: {hostRun.Output.Trim()}");

        var hostRunTime = phase.Elapsed;
        progress?.Report($"QEMU {machine}, {data.Count} samples");
        phase.Restart();
        var qemu = ExternalTool.Run("qemu-system-arm",
            ["-M", machine, "-nographic", "-monitor", "none", "-semihosting-config", "enable=on,target=native",
             "-icount", $"shift={IcountShift}", "-kernel", elf],
            scratch.Path, QemuTimeout(manifest, data.Count), QemuInstallHint);
        var qemuTime = phase.Elapsed;
        if (qemu.TimedOut) throw new HostToolException($"QEMU did not finish {data.Count} samples in time: {Tail(qemu.Output)}");
        if (qemu.ExitCode != 0) throw new HostToolException($"firmware exited with status {qemu.ExitCode} in QEMU: {Tail(qemu.Output)}");

        var expected = File.ReadAllBytes(Path.Combine(scratch.Path, "host_outputs.bin"));
        var actual = File.ReadAllBytes(Path.Combine(scratch.Path, "outputs.bin"));
        int size = manifest.OutputSize;
        int mismatches = 0, correct = 0, hostCorrect = 0;
        for (int i = 0; i < data.Count; i++)
        {
            var fw = i * size + size <= actual.Length ? actual.AsSpan(i * size, size) : Span<byte>.Empty;
            var hostOutput = expected.AsSpan(i * size, size);
            if (!fw.SequenceEqual(hostOutput)) mismatches++;
            if (fw.Length == size && ArgMax(fw) == data.Label(i)) correct++;
            if (ArgMax(hostOutput) == data.Label(i)) hostCorrect++;
        }
        var profile = File.ReadAllBytes(Path.Combine(scratch.Path, "profile.bin"));
        return Report(manifest, board, data, machine, mismatches, correct, hostCorrect, profile, (hostBuild, hostRunTime, qemuTime), clock.Elapsed);
    }

    /// <summary>
    /// Time for QEMU to boot and run the samples: the latency model's instructions per inference at a rate well below
    /// QEMU's (about 350 M instructions per second measured with -icount on a busy 2-core machine running DeiT-tiny),
    /// so that a model of billions of instructions per inference is given minutes, not the seconds a small one needs.
    /// </summary>
    private static TimeSpan QemuTimeout(ProjectManifest manifest, int samples)
    {
        long instructions = LatencyModel.Default.Instructions(manifest.Layers.Select(l => (l.Op, l.Macs, (long)l.Bytes)));
        return TimeSpan.FromSeconds(QemuStartSeconds + samples * (1 + instructions / SlowestQemuInstructionsPerSecond));
    }

    /// <summary>Seconds allowed for QEMU to start and load the image (16 MB of external flash at most) and for the harness to finish.</summary>
    private const double QemuStartSeconds = 120;
    private const double SlowestQemuInstructionsPerSecond = 25e6;

    private static SimulationReport Report(ProjectManifest manifest, BoardProfile board, Dataset data, string machine,
        int mismatches, int correct, int hostCorrect, byte[] profile, (TimeSpan HostBuild, TimeSpan HostRun, TimeSpan Qemu) phases, TimeSpan elapsed)
    {
        if (profile.Length < 20 || profile[0] != 'M' || profile[1] != 'C' || profile[2] != 'U' || profile[3] != 'P')
            throw new HostToolException("firmware wrote no valid profile.bin");
        uint U32(int offset) => BinaryPrimitives.ReadUInt32LittleEndian(profile.AsSpan(offset));
        int samples = (int)U32(4), layers = (int)U32(8);
        long stack = U32(12);
        double tickHz = U32(16);
        if (samples != data.Count || layers != manifest.Layers.Count)
            throw new HostToolException($"firmware ran {samples} samples of {layers} layers; expected {data.Count} of {manifest.Layers.Count}");
        double ticksPerInstruction = tickHz * Math.Pow(2, IcountShift) * 1e-9;
        var instructions = Enumerable.Range(0, layers)
            .Select(l => (long)Math.Round(BinaryPrimitives.ReadUInt64LittleEndian(profile.AsSpan(20 + 8 * l)) / ticksPerInstruction / samples))
            .ToList();
        long total = instructions.Sum();
        long macs = manifest.Layers.Sum(l => l.Macs);
        var simulated = board.Simulates is { } name ? new BoardCatalog(ToolPaths.Boards).Get(name) : board;
        return new SimulationReport
        {
            Board = board.Name,
            Simulator = $"qemu {machine}, -icount shift={IcountShift}",
            Samples = samples,
            BitExact = mismatches == 0,
            Mismatches = mismatches,
            Top1Int8 = data.HasLabels ? 100.0 * correct / samples : null,
            Top1Host = data.HasLabels ? 100.0 * hostCorrect / samples : null,
            InstructionsPerInference = total,
            InstructionsPerMac = macs > 0 ? (double)total / macs : 0,
            LatencyMsEstimate = total * AssumedCyclesPerInstruction / simulated.ClockHz * 1000,
            ClockHz = simulated.ClockHz,
            CyclesPerInstruction = AssumedCyclesPerInstruction,
            StackHighWaterBytes = stack,
            Layers = manifest.Layers.Select((l, i) => new LayerProfile(l.Name, l.Op, l.Macs, l.Bytes, instructions[i],
                l.Macs > 0 ? (double)instructions[i] / l.Macs : null, total > 0 ? (double)instructions[i] / total : 0)).ToList(),
            Seconds = elapsed.TotalSeconds,
            HostBuildSeconds = phases.HostBuild.TotalSeconds,
            HostRunSeconds = phases.HostRun.TotalSeconds,
            QemuSeconds = phases.Qemu.TotalSeconds,
        };
    }

    private static int ArgMax(Span<byte> logits)
    {
        int best = 0;
        for (int i = 1; i < logits.Length; i++)
            if ((sbyte)logits[i] > (sbyte)logits[best]) best = i;
        return best;
    }

    private static string Tail(string output) => string.Join(" | ", output.Trim().Split('\n').TakeLast(3));
}
