using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using McuFormer.CodeGen.Renode;
using McuFormer.CodeGen.Tools;
using McuFormer.Compiler.Board;
using McuFormer.Model.Boards;

namespace McuFormer.Tests.Board;

/// <summary>What `compile` writes to DIR/renode/, checked against the board profile and the host outputs.</summary>
[Collection(CompiledDiscoCollection.Name)]
public partial class RenodeFilesTests(CompiledDiscoProject project)
{
    private const string Board = CompiledDiscoProject.BoardName;

    /// <summary>A .repl entry: "name: Type @ sysbus 0x…" (or "&lt;0x…, +0x…&gt;") and its indented attributes.</summary>
    private sealed record ReplEntry(string Name, string Type, long Address, long? RangeSize, Dictionary<string, string> Attributes)
    {
        public long Number(string attribute) => ParseNumber(Attributes[attribute]);
    }

    private static long ParseNumber(string text) => text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
        ? long.Parse(text[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture)
        : long.Parse(text, CultureInfo.InvariantCulture);

    private Dictionary<string, ReplEntry> Platform()
    {
        project.RequireCompiled();
        var entries = new Dictionary<string, ReplEntry>();
        ReplEntry? current = null;
        bool inScript = false;
        foreach (var line in project.Read($"renode/{Board}.repl").Split('\n'))
        {
            if (inScript)
            {
                inScript = !line.StartsWith("'''", StringComparison.Ordinal);
                continue;
            }
            var entry = EntryLine().Match(line);
            if (entry.Success)
            {
                var address = entry.Groups["address"].Success ? entry.Groups["address"].Value : entry.Groups["start"].Value;
                current = new ReplEntry(entry.Groups["name"].Value, entry.Groups["type"].Value,
                    address.Length > 0 ? ParseNumber(address) : -1,
                    entry.Groups["size"].Success ? ParseNumber(entry.Groups["size"].Value) : null, new());
                entries.Add(current.Name, current);
                continue;
            }
            var interrupt = InterruptLine().Match(line);
            if (interrupt.Success && current is not null)
            {
                current.Attributes[interrupt.Groups["source"].Value + " ->"] = interrupt.Groups["target"].Value;
                continue;
            }
            var attribute = AttributeLine().Match(line);
            if (attribute.Success && current is not null)
            {
                current.Attributes[attribute.Groups["key"].Value] = attribute.Groups["value"].Value.Trim().Trim('"');
                inScript = attribute.Groups["value"].Value.Trim() == "'''";
            }
        }
        return entries;
    }

    [GeneratedRegex(@"^(?<name>\w+): (?<type>[\w.]+) @ sysbus(?: (?<address>0x[0-9A-Fa-f]+)| <(?<start>0x[0-9A-Fa-f]+), \+(?<size>0x[0-9A-Fa-f]+)>)?\s*$")]
    private static partial Regex EntryLine();

    [GeneratedRegex(@"^    (?<key>\w+): (?<value>.*)$")]
    private static partial Regex AttributeLine();

    [GeneratedRegex(@"^    (?<source>\w+) -> (?<target>\S+)\s*$")]
    private static partial Regex InterruptLine();

    [Fact]
    public void PlatformMemoryIsTheProfilesRegionByRegion()
    {
        var profile = CompiledDiscoProject.Profile(Board);
        var platform = Platform();
        var memories = platform.Values.Where(e => e.Type == "Memory.MappedMemory").ToList();
        var expected = new[] { profile.Flash }.Concat(profile.Ram).ToList();
        Assert.Equal(expected.Count, memories.Count);
        foreach (var region in expected)
        {
            var memory = platform[region.Name.ToLowerInvariant()];
            Assert.Equal(region.Origin, memory.Address);
            Assert.Equal(region.Size, memory.Number("size"));
        }
        // The F746's real map, as the profile states it: DTCM 64 KB, SRAM1 240 KB, SRAM2 16 KB, 1 MB flash.
        Assert.Equal((0x20000000L, 64 * 1024L), (platform["dtcm"].Address, platform["dtcm"].Number("size")));
        Assert.Equal((0x20010000L, 240 * 1024L), (platform["sram1"].Address, platform["sram1"].Number("size")));
        Assert.Equal((0x2004C000L, 16 * 1024L), (platform["sram2"].Address, platform["sram2"].Number("size")));
        Assert.Equal((0x08000000L, 1024 * 1024L), (platform["flash"].Address, platform["flash"].Number("size")));
    }

    [Fact]
    public void PlatformCpuNvicAndConsoleComeFromTheProfile()
    {
        var profile = CompiledDiscoProject.Profile(Board);
        var platform = Platform();
        Assert.Equal(profile.Cpu, platform["cpu"].Attributes["cpuType"]);
        Assert.Equal("cortex-m7", platform["cpu"].Attributes["cpuType"]);
        Assert.Equal(profile.ClockHz / 1_000_000, platform["cpu"].Number("PerformanceInMips"));
        Assert.Equal(profile.ClockHz, platform["nvic"].Number("systickFrequency"));
        var usart = platform["usart1"];
        Assert.Equal("UART.STM32F7_USART", usart.Type);
        Assert.Equal(ProfileSchema.ParseAddress(profile.Console.Base), usart.Address);
        Assert.Equal(0x40011000, usart.Address);
        // The USART has two GPIO outputs (IRQ, ReceiveDmaRequest): the connection names its IRQ.
        Assert.Equal("nvic@37", usart.Attributes["IRQ ->"]);
        Assert.Equal("cpu@0", platform["nvic"].Attributes["IRQ ->"]);
        // USART1 runs from APB2, which stm32f7.c sets to half the core clock.
        Assert.Equal(profile.ClockHz / 2, usart.Number("frequency"));
        // The console pins are PA9 and PB7: both ports are there, at the F7's addresses.
        Assert.Equal((0x40020000L, 0x400L), (platform["gpioPortA"].Address, platform["gpioPortA"].RangeSize!.Value));
        Assert.Equal((0x40020400L, 0x400L), (platform["gpioPortB"].Address, platform["gpioPortB"].RangeSize!.Value));
    }

    [Fact]
    public void NoLineReferencesTheNetwork()
    {
        project.RequireCompiled();
        foreach (var file in new[] { $"{Board}.repl", $"{Board}.resc", $"{Board}.robot" })
            foreach (var line in project.Read("renode/" + file).Split('\n'))
            {
                Assert.DoesNotContain("ApplySVD", line);
                Assert.DoesNotMatch(@"https?:|@http|ftp:|www\.|\.com\b|\.io\b", line);
            }
    }

    /// <summary>
    /// The peripheral blocks the Renode model maps are the ones boards/platforms/stm32f7.c writes:
    /// read the C defines, so the two cannot drift apart.
    /// </summary>
    [Fact]
    public void PeripheralAddressesMatchThePlatformSource()
    {
        var platformSource = File.ReadAllText(Path.Combine(TestModels.RepositoryRoot, "boards", "platforms", "stm32f7.c"));
        var gpioHeader = File.ReadAllText(Path.Combine(TestModels.RepositoryRoot, "boards", "common", "stm32_gpio.h"));
        long Define(string text, string pattern) => ParseNumber(Regex.Match(text, pattern, RegexOptions.Multiline).Groups[1].Value);
        Assert.Equal(Stm32F7Family.RccBase, Define(platformSource, @"^#define RCC_BASE (0x[0-9A-Fa-f]+)u"));
        Assert.Equal(Stm32F7Family.PwrBase, Define(platformSource, @"^#define PWR_BASE (0x[0-9A-Fa-f]+)u"));
        Assert.Equal(Stm32F7Family.FlashInterfaceBase, Define(platformSource, @"^#define FLASH_ACR MMIO32\((0x[0-9A-Fa-f]+)u\)"));
        Assert.Equal(Stm32F7Family.GpioPortABase, Define(platformSource, @"^#define GPIO_BASE (0x[0-9A-Fa-f]+)u"));
        Assert.Equal(Stm32F7Family.GpioPortStride, Define(gpioHeader, @"^#define GPIO_PORT_STRIDE (0x[0-9A-Fa-f]+)u"));
        Assert.Equal(Stm32F7Family.Usarts.Single(u => u.Name == "usart1").BusDivider, Define(platformSource, @"^#define APB2_HZ \(BOARD_CLOCK_HZ / (\d+)u\)"));
        Assert.Equal(Stm32F7Family.Usarts.Single(u => u.Name == "usart3").BusDivider, Define(platformSource, @"^#define APB1_HZ \(BOARD_CLOCK_HZ / (\d+)u\)"));
        Assert.Matches(@"#if CONSOLE_BASE == 0x40011000 /\* USART1 \*/\n(#define .*\n)*?#define CONSOLE_KERNEL_HZ APB2_HZ", platformSource);
        Assert.Matches(@"#elif CONSOLE_BASE == 0x40004800 /\* USART3 \*/\n(#define .*\n)*?#define CONSOLE_KERNEL_HZ APB1_HZ", platformSource);

        var platform = Platform();
        Assert.Equal(Stm32F7Family.RccBase, platform["rcc"].Address);
        Assert.Equal(Stm32F7Family.PwrBase, platform["pwr"].Address);
        Assert.Equal(Stm32F7Family.FlashInterfaceBase, platform["flashInterface"].Address);
        Assert.All(new[] { "rcc", "pwr", "flashInterface" }, name => Assert.Equal("Python.PythonPeripheral", platform[name].Type));
    }

    /// <summary>
    /// Runs the emitted Python peripherals (the same script text Renode gets) through the register
    /// sequence of stm32f7.c's clock_start(): every wait_for_bits() must see its bits.
    /// </summary>
    [Fact]
    public void ClockSetUpOfTheFirmwareFindsItsReadyBits()
    {
        var rcc = new PythonPeripheral(RenodePlatform.RegisterBlockScript(Stm32F7Family.Rcc));
        var pwr = new PythonPeripheral(RenodePlatform.RegisterBlockScript(Stm32F7Family.Pwr));
        var flash = new PythonPeripheral(RenodePlatform.RegisterBlockScript(Stm32F7Family.FlashInterface));

        // RCC_CR |= HSEON; wait for HSERDY (bit 17).
        rcc.Write(0x00, rcc.Read(0x00) | 1u << 16);
        Assert.NotEqual(0u, rcc.Read(0x00) & 1u << 17);
        // PLL not yet on: PLLRDY (bit 25) must read 0 until PLLON is set.
        Assert.Equal(0u, rcc.Read(0x00) & 1u << 25);
        rcc.Write(0x00, rcc.Read(0x00) | 1u << 24);
        Assert.NotEqual(0u, rcc.Read(0x00) & 1u << 25);
        // PWR_CR1 |= ODEN; wait for ODRDY; |= ODSWEN; wait for ODSWRDY (CSR1 bits 16 and 17).
        pwr.Write(0x00, pwr.Read(0x00) | 1u << 16);
        Assert.Equal(1u << 16, pwr.Read(0x04) & 3u << 16);
        pwr.Write(0x00, pwr.Read(0x00) | 1u << 17);
        Assert.Equal(3u << 16, pwr.Read(0x04) & 3u << 16);
        // FLASH_ACR latency 7 reads back.
        flash.Write(0x00, (flash.Read(0x00) & ~0xFu) | 7u);
        Assert.Equal(7u, flash.Read(0x00) & 0xFu);
        // RCC_CFGR = PPRE1/4 | PPRE2/2, then |= SW_PLL; wait for SWS == PLL (bits 3:2 = 2).
        rcc.Write(0x08, 0x5u << 10 | 0x4u << 13);
        Assert.Equal(0u, rcc.Read(0x08) & 0xCu);
        rcc.Write(0x08, rcc.Read(0x08) | 0x2u);
        Assert.Equal(0x8u, rcc.Read(0x08) & 0xCu);
        Assert.Equal(0x5u << 10 | 0x4u << 13 | 0x2u | 0x8u, rcc.Read(0x08));
        // A register nothing wrote reads its reset value: PLLCFGR.
        Assert.Equal(0x24003010u, rcc.Read(0x04));
    }

    [Fact]
    public void RobotWaitsForTheHostOutputsOfEverySampleThenPass()
    {
        project.RequireCompiled();
        var expected = ExpectedOutputsFromSamplesC(project.Read("samples.c"));
        Assert.NotEmpty(expected);
        var lines = expected.Select((logits, i) =>
        {
            int top = Array.IndexOf(logits, logits.Max());
            return $"sample {i} class {top} logits {string.Join(' ', logits)}";
        }).ToList();

        var waits = project.Read(RenodeProject.RobotFile(Board)).Split('\n')
            .Where(l => l.TrimStart().StartsWith("Wait For Line On Uart", StringComparison.Ordinal))
            .Select(l => Regex.Split(l.Trim(), @" {2,}")).ToList();
        Assert.Equal(lines.Count + 1, waits.Count);
        for (int i = 0; i < lines.Count; i++) Assert.Equal("^" + lines[i] + "$", waits[i][1]);
        Assert.Equal("^mcuformer: PASS$", waits[^1][1]);
        Assert.All(waits, w =>
        {
            Assert.Contains("treatAsRegex=true", w);
            Assert.Contains(w, cell => cell.StartsWith("timeout=", StringComparison.Ordinal));
        });

        var robot = project.Read(RenodeProject.RobotFile(Board));
        Assert.Contains("Execute Command           include @${CURDIR}/" + Board + ".resc", robot);
        Assert.Contains("Create Terminal Tester    ${UART}", robot);
        Assert.Contains("${UART}           sysbus.usart1", robot);
        Assert.Contains("Start Emulation", robot);
        Assert.Matches(@"\$\{instructions\}=\s+Execute Command\s+sysbus\.cpu ExecutedInstructions", robot);
        Assert.Matches(@"Log To Console\s+.*\$\{instructions\}", robot);
        Assert.True(robot.IndexOf("mcuformer: PASS", StringComparison.Ordinal) < robot.IndexOf("ExecutedInstructions", StringComparison.Ordinal));
    }

    [Fact]
    public void ScriptCreatesTheMachineLoadsThePlatformAndTheElf()
    {
        project.RequireCompiled();
        var resc = project.Read($"renode/{Board}.resc").Split('\n').Select(l => l.Trim()).ToList();
        int create = resc.IndexOf("mach create $name");
        int platform = resc.IndexOf($"machine LoadPlatformDescription $ORIGIN/{Board}.repl");
        int analyzer = resc.IndexOf("showAnalyzer usart1");
        int load = resc.IndexOf("sysbus LoadELF $bin");
        Assert.True(create >= 0 && platform > create && analyzer > platform && load > platform, string.Join('\n', resc));
        Assert.Contains("$bin?=$ORIGIN/../firmware.elf", resc);
    }

    [Fact]
    public void WorkflowRunsTheRobotFileWithTheRenodeTestAction()
    {
        project.RequireCompiled();
        var workflow = project.Read("renode/.github/workflows/renode.yml");
        Assert.Contains("uses: antmicro/renode-test-action@v5", workflow);
        Assert.Contains($"tests-to-run: {RenodeProject.RobotFile(Board)}", workflow);
        Assert.Contains("make firmware.elf", workflow);
        Assert.True(workflow.IndexOf("make firmware.elf", StringComparison.Ordinal) < workflow.IndexOf("renode-test-action", StringComparison.Ordinal));
        // Pinned to the release the files were checked with, which the README names.
        Assert.Contains($"renode-revision: v{RenodeProject.RenodeVersion}", workflow);
        Assert.DoesNotContain("renode-revision: master", workflow);
        Assert.Contains($"Renode version: {RenodeProject.RenodeVersion}, the release the workflow pins", project.Read("renode/README.md"));
    }

    [Fact]
    public void OnlyBoardsWhoseProfileNamesRenodeGetTheFiles()
    {
        Assert.True(RenodeProject.AppliesTo(CompiledDiscoProject.Profile("stm32f746g-disco")));
        Assert.False(RenodeProject.AppliesTo(CompiledDiscoProject.Profile("nucleo-f746zg")));
        Assert.False(RenodeProject.AppliesTo(CompiledDiscoProject.Profile("mps2-an500")));
    }

    [Fact]
    public void ABoardOutsideTheStm32F7PlatformHasNoRenodeModel()
    {
        var h743 = CompiledDiscoProject.Profile("nucleo-h743zi") with { Simulator = new SimulatorInfo("renode", null) };
        var error = Assert.Throws<BoardException>(() => RenodePlatform.Describe(h743));
        Assert.EndsWith("nucleo-h743zi.json: simulator \"renode\" needs platform \"stm32f7\", not \"stm32h7\"", error.Message);
    }

    [Fact]
    public void SimulateWithRenodeRunsRenodeTestOrSaysHowToInstallIt()
    {
        project.RequireCompiled();
        var result = CliRunner.Run("simulate", project.Folder, "--simulator", "renode");
        if (CodeGen.Tools.ExternalTool.OnPath(RenodeSimulation.RenodeTest))
        {
            Assert.True(result.ExitCode == 0, result.Stderr + result.Stdout);
            return;
        }
        Assert.Equal(2, result.ExitCode);
        Assert.Equal("error: " + RenodeSimulation.InstallHint(RenodeProject.RobotFile(Board)), result.Stderr.Trim());
        Assert.Contains("portable Linux package", result.Stderr);
        Assert.Contains("antmicro/renode-test-action@v5", result.Stderr);
    }

    [Fact]
    public void SimulateWithRenodeRejectsABoardRenodeDoesNotModel()
    {
        using var folder = new TempFolder();
        CompiledDiscoProject.WriteManifest(folder.Path, "mps2-an500");
        var result = CliRunner.Run("simulate", folder.Path, "--simulator", "renode");
        Assert.Equal(2, result.ExitCode);
        Assert.Equal($"error: {folder.Path}: board mps2-an500 is not simulated by Renode; compile with --board stm32f746g-disco, or simulate in QEMU", result.Stderr.Trim());
    }

    /// <summary>mcu_samples_expected from samples.c: the table the firmware compares its outputs with.</summary>
    private static List<sbyte[]> ExpectedOutputsFromSamplesC(string samplesC)
    {
        int start = samplesC.IndexOf("mcu_samples_expected", StringComparison.Ordinal);
        var table = samplesC[start..samplesC.IndexOf("};", start, StringComparison.Ordinal)];
        return Regex.Matches(table, @"\{([^{}]*)\}").Select(row => row.Groups[1].Value
                .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(v => sbyte.Parse(v, CultureInfo.InvariantCulture)).ToArray())
            .ToList();
    }

    /// <summary>
    /// An emitted Renode Python peripheral run by python3 with a stand-in for Renode's request
    /// object (isInit, isRead, isWrite, offset, value), one process per peripheral.
    /// </summary>
    private sealed class PythonPeripheral
    {
        private readonly List<string> operations = [];
        private readonly string script;

        public PythonPeripheral(string script) => this.script = script;

        public void Write(int offset, uint value) => operations.Add($"w {offset} {value}");

        public uint Read(int offset)
        {
            operations.Add($"r {offset} 0");
            return Run().Last();
        }

        /// <summary>Replays every operation so far in a fresh interpreter; returns the values read.</summary>
        private List<uint> Run()
        {
            const string harness = """
                import sys
                class Request(object):
                    pass
                script = open(sys.argv[1]).read()
                scope = {}
                def call(kind, offset, value):
                    request = Request()
                    request.isInit, request.isRead, request.isWrite = kind == 'i', kind == 'r', kind == 'w'
                    request.offset, request.value = offset, value
                    scope['request'] = request
                    exec(script, scope)
                    return request.value
                call('i', 0, 0)
                for line in sys.stdin:
                    kind, offset, value = line.split()
                    result = call(kind, int(offset), int(value))
                    if kind == 'r':
                        print(result)
                """;
            using var files = new TempFolder();
            File.WriteAllText(Path.Combine(files.Path, "harness.py"), harness);
            File.WriteAllText(Path.Combine(files.Path, "peripheral.py"), script);
            var start = new ProcessStartInfo("python3", [Path.Combine(files.Path, "harness.py"), Path.Combine(files.Path, "peripheral.py")])
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using var python = Process.Start(start)!;
            python.StandardInput.Write(string.Join('\n', operations) + "\n");
            python.StandardInput.Close();
            var output = python.StandardOutput.ReadToEnd();
            var errors = python.StandardError.ReadToEnd();
            python.WaitForExit();
            Assert.True(python.ExitCode == 0, errors);
            return output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(v => uint.Parse(v, CultureInfo.InvariantCulture)).ToList();
        }
    }
}
