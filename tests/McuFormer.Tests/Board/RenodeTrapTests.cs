using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using McuFormer.CodeGen.Renode;

namespace McuFormer.Tests.Board;

/// <summary>
/// The traps a real Renode 1.15 showed, checked without Renode: an instruction that reads the
/// APSR.GE flags (SEL), whose results Renode gets wrong, and a GPIO connection that names no
/// output on a peripheral with several, which stops the platform from loading.
/// </summary>
public class RenodeTrapTests
{
    private static string Script => Path.Combine(TestModels.RepositoryRoot, "scripts", "check-ge-flags");

    private static (int ExitCode, string Output) CheckGeFlags(params string[] images)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Script);
        foreach (var image in images) start.ArgumentList.Add(image);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        return (process.ExitCode, output.Result + errors.Result);
    }

    public static TheoryData<string> Boards() =>
        new(Directory.GetFiles(Path.Combine(TestModels.RepositoryRoot, "boards", "profiles"), "*.json")
            .Select(p => Path.GetFileNameWithoutExtension(p)).Order());

    /// <summary>
    /// The fixture links every kernel a ViT uses (softmax's row maximum was the SEL user); the
    /// board layer and newlib come with it (newlib's strlen and strcmp use SEL).
    /// </summary>
    [Theory]
    [MemberData(nameof(Boards))]
    public void NoInstructionOfACompiledImageReadsTheGeFlagsAndEveryPlatformLoads(string board)
    {
        using var temp = new TempFolder();
        var output = Path.Combine(temp.Path, board);
        var compile = CliRunner.Run("compile", TestModels.Fixture, "--board", board, "--calib", TestModels.FashionMnist,
            "--calib-samples", "16", "--out", output);
        Assert.True(compile.ExitCode == 0, compile.Stderr);
        var (exitCode, report) = CheckGeFlags(Path.Combine(output, "firmware.elf"));
        Assert.True(exitCode == 0, report);
        Assert.Contains(": 0 instructions reading the GE flags among ", report);
        var renode = Path.Combine(output, RenodeProject.Folder);
        foreach (var repl in Directory.Exists(renode) ? Directory.GetFiles(renode, "*.repl") : [])
            Assert.Empty(ReplConnections.Ambiguous(File.ReadAllText(repl)));
    }

    /// <summary>The check finds SEL where it is: an image built to contain one fails with its function named.</summary>
    [Fact]
    public void CheckFindsSelInAnImage()
    {
        using var temp = new TempFolder();
        var source = Path.Combine(temp.Path, "sel.c");
        File.WriteAllText(source, """
            #include <arm_acle.h>
            #include <stdint.h>
            uint32_t larger_bytes(uint32_t a, uint32_t b) { (void)__ssub8((int32_t)a, (int32_t)b); return __sel(a, b); }
            """);
        var image = Path.Combine(temp.Path, "sel.o");
        using (var gcc = Process.Start(new ProcessStartInfo("arm-none-eabi-gcc",
            ["-mcpu=cortex-m7", "-mthumb", "-O2", "-c", source, "-o", image]) { RedirectStandardError = true })!)
        {
            gcc.WaitForExit();
            Assert.Equal(0, gcc.ExitCode);
        }
        var (exitCode, report) = CheckGeFlags(image);
        Assert.Equal(1, exitCode);
        Assert.Contains("1 instructions reading the GE flags", report);
        Assert.Contains("<larger_bytes>", report);
    }

    [Fact]
    public void UnnamedConnectionOnAUsartIsRejected()
    {
        const string platform = """
            nvic: IRQControllers.NVIC @ sysbus 0xE000E000
                -> cpu@0

            usart1: UART.STM32F7_USART @ sysbus 0x40011000
                frequency: 108000000
                -> nvic@37

            timer: Timers.Unknown @ sysbus 0x40000000
                -> nvic@28
            """;
        var problems = ReplConnections.Ambiguous(platform);
        Assert.Equal(2, problems.Count);
        Assert.Contains("usart1 (UART.STM32F7_USART)", problems[0]);
        Assert.Contains("IRQ, ReceiveDmaRequest", problems[0]);
        Assert.Contains("line 6", problems[0]);
        Assert.Contains("timer (Timers.Unknown)", problems[1]);
        // The NVIC has one output: its default is unambiguous.
        Assert.Empty(ReplConnections.Ambiguous(platform.Replace("    -> nvic@37", "    IRQ -> nvic@37").Replace("    -> nvic@28", "    IRQ -> nvic@28")));
    }

    /// <summary>
    /// The robot's per-line timeout comes from the model's instruction count, which QEMU measures
    /// on the same kernels: the estimate in the robot file is within 20 % of the fixture's
    /// simulated count, and the timeout is the safety factor times it plus start-up.
    /// </summary>
    [Fact]
    public void RobotTimeoutFollowsTheSimulatedInstructionCount()
    {
        using var temp = new TempFolder();
        string qemu = Path.Combine(temp.Path, "qemu"), disco = Path.Combine(temp.Path, "disco");
        foreach (var (board, folder) in new[] { ("mps2-an500", qemu), ("stm32f746g-disco", disco) })
        {
            var compile = CliRunner.Run("compile", TestModels.Fixture, "--board", board, "--calib", TestModels.FashionMnist,
                "--calib-samples", "16", "--out", folder);
            Assert.True(compile.ExitCode == 0, compile.Stderr);
        }
        var simulate = CliRunner.Run("simulate", qemu, "--limit", "2", "--json");
        Assert.True(simulate.ExitCode == 0, simulate.Stderr);
        long measured = JsonDocument.Parse(simulate.Stdout).RootElement.GetProperty("instructions_per_inference").GetInt64();

        var robot = File.ReadAllText(Path.Combine(disco, RenodeProject.RobotFile("stm32f746g-disco")));
        long estimated = long.Parse(Regex.Match(robot, @"times the (\d+) instructions of one inference").Groups[1].Value);
        long timeout = long.Parse(Regex.Match(robot, @"\$\{TIMEOUT\}\s+(\d+)").Groups[1].Value);
        Assert.InRange((double)estimated / measured, 0.8, 1.2);
        var profile = CompiledDiscoProject.Profile("stm32f746g-disco");
        long mips = RenodePlatform.InstructionsPerSecond(profile) / 1_000_000;
        Assert.Equal(RenodeProject.TimeoutSeconds(estimated, mips), timeout);
        Assert.True(timeout * mips * 1_000_000 >= RenodeProject.SafetyFactor * estimated + RenodeProject.StartupInstructions);
    }
}
