using System.Globalization;
using System.Text.Json.Serialization;
using McuFormer.CodeGen;
using McuFormer.CodeGen.Tools;
using McuFormer.Model.Boards;
using McuFormer.Pipeline;
using McuFormer.Pipeline.Firmware;

namespace McuFormer.Compiler.Bench;

/// <summary>One benchmark case run by one build of the kernels.</summary>
/// <param name="Macs">multiply-accumulates; for element-wise kernels (softmax, layernorm, gelu_lut, add) the element count</param>
/// <param name="Path">"portable" or "dsp"</param>
public sealed record KernelMeasurement(
    string Name,
    int In,
    int Out,
    int Tokens,
    long Macs,
    long Instructions,
    [property: JsonPropertyName("instr_per_mac")] double InstructionsPerMac,
    string Path)
{
}

public sealed record KernelBenchReport(
    string Board,
    string Simulator,
    bool BitExact,
    IReadOnlyList<KernelMeasurement> Kernels);

/// <summary>
/// `mcuformer bench-kernels`: builds the kernel firmware of runtime-c/bench (every kernel twice, as
/// the Cortex-M7 build with its DSP paths and as the portable build) for QEMU's mps2-an500, runs its
/// benchmark with -icount, and converts SysTick ticks to instructions. The firmware also checks
/// that the two builds give the same bytes on every case.
/// </summary>
public static class KernelBench
{
    public const string Board = "mps2-an500";
    private const string ResultFile = "bench.txt";

    public static KernelBenchReport Run(IProgress<string>? progress = null)
    {
        if (!FirmwareBuilder.ArmToolchainInstalled)
            throw new HostToolException($"'{FirmwareBuilder.ArmCompiler}' is not installed: {FirmwareBuilder.ArmInstallHint}");
        if (!ExternalTool.OnPath("qemu-system-arm"))
            throw new HostToolException($"'qemu-system-arm' is not installed: {Simulation.QemuInstallHint}");

        var board = new BoardCatalog(ToolPaths.Boards).Get(Board);
        if (board.Simulator is not { Kind: "qemu", Machine: { } machine })
            throw new BoardException($"{board.ProfilePath}: {Board} has no QEMU machine");
        var benchFolder = Path.Combine(ToolPaths.RuntimeC, "bench");
        if (!File.Exists(Path.Combine(benchFolder, "firmware.c")))
            throw new HostToolException($"the kernel firmware sources are missing: {benchFolder}");

        using var scratch = new ScratchFolder("mcuformer-bench-");
        progress?.Report("building the kernel firmware");
        var elf = Build(board, benchFolder, scratch.Path);
        progress?.Report($"QEMU {machine}, -icount shift={Simulation.IcountShift}");
        var qemu = ExternalTool.Run("qemu-system-arm",
            ["-M", machine, "-nographic", "-monitor", "none", "-semihosting-config", "enable=on,target=native",
             "-icount", $"shift={Simulation.IcountShift}", "-kernel", elf, "-append", $"bench {ResultFile}"],
            scratch.Path, TimeSpan.FromMinutes(5), Simulation.QemuInstallHint);
        if (qemu.TimedOut) throw new HostToolException($"the kernel benchmark did not finish in QEMU: {Tail(qemu.Output)}");
        var table = Path.Combine(scratch.Path, ResultFile);
        if (!File.Exists(table)) throw new HostToolException($"the kernel firmware wrote no results (exit status {qemu.ExitCode}): {Tail(qemu.Output)}");
        return new KernelBenchReport(board.Name, $"qemu {machine}, -icount shift={Simulation.IcountShift}",
            qemu.ExitCode == 0, Parse(File.ReadAllLines(table)));
    }

    /// <summary>
    /// The build of runtime-c/bench/run-qemu-check.sh: the board layer (boards/common, the platform
    /// file, the rendered linker script), runtime-c/src as built for the core, runtime-c/src again
    /// with MCU_FORCE_PORTABLE and every public name renamed by portable_names.h, and the firmware.
    /// </summary>
    private static string Build(BoardProfile board, string benchFolder, string work)
    {
        var runtime = ToolPaths.RuntimeC;
        var kernelSources = Directory.GetFiles(Path.Combine(runtime, "src"), "*.c").Order(StringComparer.Ordinal).ToList();
        string[] flags = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-O2", "-g", "-ffunction-sections", "-fdata-sections",
            .. board.CompileFlags, "-I", Path.Combine(runtime, "include")];

        var portable = Path.Combine(work, "portable");
        Directory.CreateDirectory(portable);
        Compile([.. flags, "-DMCU_FORCE_PORTABLE", "-include", Path.Combine(benchFolder, "portable_names.h"), "-c", .. kernelSources],
            portable, "the portable kernels");

        var linkerScript = Path.Combine(work, "fw.ld");
        var workRegion = board.LargestArenaRegion().Name;
        File.WriteAllText(linkerScript, ProjectWriter.LinkerScript(board, [workRegion], null, Path.Combine(ToolPaths.Boards, "common", "cortexm.ld.template")));
        var elf = Path.Combine(work, "fw.elf");
        Compile([.. flags, .. board.Defines().Select(d => "-D" + d), $"-DWORK_SECTION=\"{LayoutInfo.ArenaInputSection(workRegion)}\"",
            "-I", Path.Combine(ToolPaths.Boards, "common"),
            .. Directory.GetFiles(Path.Combine(ToolPaths.Boards, "common"), "*.c").Order(StringComparer.Ordinal),
            Path.Combine(ToolPaths.Boards, "platforms", board.Platform + ".c"),
            .. kernelSources,
            .. Directory.GetFiles(benchFolder, "*.c").Order(StringComparer.Ordinal),
            .. Directory.GetFiles(portable, "*.o").Order(StringComparer.Ordinal),
            "-nostartfiles", "--specs=nano.specs", "-Wl,--gc-sections", "-T", linkerScript, "-o", elf], work, "the kernel firmware");
        return elf;
    }

    private static void Compile(IEnumerable<string> arguments, string folder, string what)
    {
        var result = ExternalTool.Run(FirmwareBuilder.ArmCompiler, arguments, folder, TimeSpan.FromMinutes(5), FirmwareBuilder.ArmInstallHint);
        if (result.ExitCode == 0) return;
        var hint = result.Output.Contains("nano.specs", StringComparison.Ordinal) ? $"; {FirmwareBuilder.ArmInstallHint}" : "";
        var errors = result.Output.Split('\n').Where(l => l.Contains("error", StringComparison.OrdinalIgnoreCase)).Take(3);
        throw new HostToolException($"building {what} failed: {string.Join(" | ", errors).Trim()}{hint}");
    }

    /// <summary>Reads the firmware's table: "tick_hz HZ", then "name in out tokens macs path ticks" per line.</summary>
    public static IReadOnlyList<KernelMeasurement> Parse(IReadOnlyList<string> lines)
    {
        if (lines.Count == 0 || lines[0].Split('\t') is not ["tick_hz", var hz])
            throw new HostToolException("the kernel firmware's results have no tick_hz line");
        double ticksPerInstruction = double.Parse(hz, CultureInfo.InvariantCulture) * Math.Pow(2, Simulation.IcountShift) * 1e-9;
        var rows = new List<KernelMeasurement>();
        foreach (var line in lines.Skip(1).Where(l => l.Length > 0))
        {
            if (line.Split('\t') is not [var name, var input, var output, var tokens, var macs, var path, var ticks])
                throw new HostToolException($"unreadable line in the kernel firmware's results: {line}");
            long instructions = (long)Math.Round(long.Parse(ticks, CultureInfo.InvariantCulture) / ticksPerInstruction);
            long count = long.Parse(macs, CultureInfo.InvariantCulture);
            rows.Add(new KernelMeasurement(name, int.Parse(input, CultureInfo.InvariantCulture), int.Parse(output, CultureInfo.InvariantCulture),
                int.Parse(tokens, CultureInfo.InvariantCulture), count, instructions, count > 0 ? Math.Round((double)instructions / count, 3) : 0, path));
        }
        return rows;
    }

    private static string Tail(string output) => string.Join(" | ", output.Trim().Split('\n').TakeLast(3));
}
