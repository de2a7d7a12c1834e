using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace McuFormer.Tests.Firmware;

/// <summary>compile → arm-none-eabi-gcc → QEMU, end to end, on the fixture and on code-built models.</summary>
public class FirmwareTests
{
    private static JsonElement ReadReport(string folder) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "report.json"))).RootElement.Clone();

    private static CliRunner.Result Compile(string output, params string[] extra)
    {
        var result = CliRunner.Run(["compile", .. extra, "--out", output, "--calib-samples", "128"]);
        Assert.True(result.ExitCode == 0, result.Stderr + result.Stdout);
        return result;
    }

    /// <summary>Section sizes as arm-none-eabi-size reports them, independent of the tool's own ELF reader.</summary>
    private static Dictionary<string, long> SizeSections(string elf)
    {
        var start = new ProcessStartInfo("arm-none-eabi-size", ["-A", "-d", elf]) { RedirectStandardOutput = true };
        using var process = Process.Start(start)!;
        var lines = process.StandardOutput.ReadToEnd().Split('\n');
        process.WaitForExit();
        return lines.Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(p => p.Length == 3 && p[0].StartsWith('.') && long.TryParse(p[1], out _))
            .ToDictionary(p => p[0], p => long.Parse(p[1]));
    }

    [Theory]
    [InlineData("stm32f746g-disco")]
    [InlineData("mps2-an500")]
    public void FixtureBuildsWarningFreeAndReportMatchesTheElf(string board)
    {
        using var folder = new TempFolder();
        var output = Path.Combine(folder.Path, board);
        Compile(output, "--board", board);
        var report = ReadReport(output);
        Assert.True(report.GetProperty("fits").GetBoolean());
        Assert.Equal("elf", report.GetProperty("memory_source").GetString());
        var sizes = SizeSections(Path.Combine(output, "firmware.elf"));
        long flash = new[] { ".isr_vector", ".text", ".rodata", ".ARM.exidx", ".data" }.Sum(s => sizes.GetValueOrDefault(s));
        var arenas = sizes.Where(s => s.Key.StartsWith(".arena_", StringComparison.Ordinal)).ToDictionary();
        long ram = new[] { ".data", ".bss", ".stack" }.Sum(s => sizes.GetValueOrDefault(s)) + arenas.Values.Sum();
        Assert.Equal(flash, report.GetProperty("flash_bytes").GetInt64());
        Assert.Equal(ram, report.GetProperty("peak_ram_bytes").GetInt64());
        Assert.Equal(327680, report.GetProperty("ram_budget_bytes").GetInt64());
        Assert.Equal(1048576, report.GetProperty("flash_budget_bytes").GetInt64());
        // One arena section per region the plan uses, each as large as plan.json says that region's arena is:
        // the streamed run's arenas are not in them, since the harness never calls it and the linker drops them.
        var plan = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "plan.json"))).RootElement;
        var planned = plan.GetProperty("peak_bytes").EnumerateObject().Where(r => r.Value.GetInt64() > 0).ToDictionary(r => ".arena_" + r.Name.ToLowerInvariant(), r => r.Value.GetInt64());
        Assert.Equal(planned.Keys.Order(), arenas.Keys.Order());
        Assert.All(planned, p => Assert.InRange(arenas[p.Key], p.Value, p.Value + 15));
        Assert.Equal(arenas.Values.Sum(), report.GetProperty("arena_by_region").EnumerateObject().Sum(r => r.Value.GetInt64()));
        Assert.Equal(plan.GetProperty("total_peak_bytes").GetInt64(), report.GetProperty("arena_bytes").GetInt64());
        foreach (var key in new[] { "board", "model", "params", "macs", "layers" }) Assert.True(report.TryGetProperty(key, out _), key);
        var analysis = CliRunner.Run("analyze", TestModels.Fixture, "--board", board, "--json");
        Assert.True(analysis.ExitCode == 0, analysis.Stderr);
        Assert.Equal(report.GetProperty("arena_bytes").GetInt64(),
            JsonDocument.Parse(analysis.Stdout).RootElement.GetProperty("plan").GetProperty("arena_bytes").GetInt64());
        // The fixture's weights fit internal flash: nothing goes to QSPI and nothing sets it up.
        Assert.Equal("FLASH", report.GetProperty("weights_region").GetString());
        Assert.DoesNotContain(".qspi_weights", sizes.Keys);
        Assert.Empty(report.GetProperty("external_flash_by_region").EnumerateObject());
        var layer = report.GetProperty("layers")[0];
        foreach (var key in new[] { "name", "op", "macs", "weight_bytes", "arena_region", "arena_offset", "bytes" }) Assert.True(layer.TryGetProperty(key, out _), key);
    }

    [Fact]
    public void FixtureSimulatesBitExactInQemu()
    {
        using var folder = new TempFolder();
        var output = Path.Combine(folder.Path, "mps2");
        Compile(output, "--board", "mps2-an500");
        var result = CliRunner.Run("simulate", output, "--limit", "60", "--json");
        Assert.True(result.ExitCode == 0, result.Stderr);
        var report = JsonDocument.Parse(result.Stdout).RootElement;
        Assert.Equal(60, report.GetProperty("samples").GetInt32());
        Assert.True(report.GetProperty("bit_exact").GetBoolean());
        Assert.Equal(0, report.GetProperty("mismatches").GetInt32());
        Assert.InRange(report.GetProperty("top1_int8").GetDouble(), 70, 100);
        long layerSum = report.GetProperty("layers").EnumerateArray().Sum(l => l.GetProperty("instructions").GetInt64());
        Assert.Equal(layerSum, report.GetProperty("instructions_per_inference").GetInt64());
        Assert.InRange(report.GetProperty("instructions_per_mac").GetDouble(), 0.5, 20);
        Assert.InRange(report.GetProperty("stack_high_water_bytes").GetInt64(), 64, 8192);
        Assert.All(report.GetProperty("layers").EnumerateArray(), l => Assert.True(l.GetProperty("instructions").GetInt64() > 0));
        // The host build behind "bit_exact" also ran every sample through the streamed entry
        // point, band by band, and stops with an error when it differs from the whole-image run.
        Assert.Contains("int mcu_model_run_streamed(", File.ReadAllText(Path.Combine(output, "model.h")));
        Assert.Contains("mcu_model_run_streamed(read_rows, image", File.ReadAllText(Path.Combine(output, "host_main.c")));
        var compiled = ReadReport(output);
        Assert.InRange(compiled.GetProperty("streamed_arena_bytes").GetInt64(), 1, compiled.GetProperty("arena_bytes").GetInt64());
    }

    [Theory]
    [MemberData(nameof(McuFormer.Tests.Onnx.ImportTests.Variants), MemberType = typeof(McuFormer.Tests.Onnx.ImportTests))]
    public void VariantCompilesAndSimulatesBitExact(string variant)
    {
        using var folder = new TempFolder();
        var output = Path.Combine(folder.Path, "variant");
        Compile(output, Path.Combine(TestModels.Variants, variant), "--board", "mps2-an500", "--calib", TestModels.FashionMnist);
        var result = CliRunner.Run("simulate", output, "--limit", "10", "--json");
        Assert.True(result.ExitCode == 0, result.Stderr);
        var report = JsonDocument.Parse(result.Stdout).RootElement;
        Assert.True(report.GetProperty("bit_exact").GetBoolean());
        Assert.Equal(report.GetProperty("top1_host").GetDouble(), report.GetProperty("top1_int8").GetDouble());
    }

    [Fact]
    public void RgbNonSquareModelCompilesAndSimulatesBitExact()
    {
        using var folder = new TempFolder();
        var model = TestModels.Write(TestModels.PatchMeanHead(channels: 3, height: 24, width: 32, patch: 8), folder.Path);
        var output = Path.Combine(folder.Path, "rgb");
        Compile(output, model, "--board", "mps2-an500", "--calib", TestModels.FashionMnist);
        var result = CliRunner.Run("simulate", output, "--limit", "40", "--json");
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.True(JsonDocument.Parse(result.Stdout).RootElement.GetProperty("bit_exact").GetBoolean());
    }

    /// <summary>mps2-an500's profile with other RAM region sizes (bytes by region name), saved as NAME.json.</summary>
    private static string ResizedMps2(string folder, string name, IReadOnlyDictionary<string, int> sizes, int? dataReserve = null)
    {
        var profile = JsonNode.Parse(File.ReadAllText(Path.Combine(TestModels.RepositoryRoot, "boards", "profiles", "mps2-an500.json")))!;
        profile["name"] = name;
        foreach (var region in profile["ram"]!.AsArray())
            if (sizes.TryGetValue((string)region!["name"]!, out var size)) region["size"] = size;
        if (dataReserve is { } reserve) profile["layout"]!["data_reserve"] = reserve;
        var path = Path.Combine(folder, name + ".json");
        File.WriteAllText(path, profile.ToJsonString());
        return path;
    }

    [Fact]
    public void ActivationsLargerThanTheRegionsAreRejectedWithTheOverflowOfEachRegion()
    {
        using var folder = new TempFolder();
        // 8 KB stack + 4 KB reserve leave DTCM 2 KB for activations; 2 KB SRAM1 and 2 KB SRAM2: 6 KB, less than the
        // fixture's 8.8 KB with attention head by head, the least it can need.
        var boardPath = ResizedMps2(folder.Path, "tiny", new Dictionary<string, int> { ["DTCM"] = 14336, ["SRAM1"] = 2048, ["SRAM2"] = 2048 });
        var output = Path.Combine(folder.Path, "out");
        var result = CliRunner.Run("compile", "--board", boardPath, "--out", output, "--calib-samples", "32");
        Assert.Equal(3, result.ExitCode);
        Assert.Matches(@"the activations do not fit tiny's RAM regions: the (DTCM|SRAM1|SRAM2) arena needs \d+ bytes but \1 has 2048 for activations \(over by \d+ bytes\)", result.Stderr);
        Assert.False(Directory.Exists(output));
    }

    /// <summary>
    /// Three 4 KB regions hold no schedule with the qkv tensor (13.6 KB at the smallest blocks), so
    /// the fixture's attention runs head by head, the qkv weights sliced per head; it simulates bit-exact.
    /// </summary>
    [Fact]
    public void BoardTooSmallForTheQkvTensorRunsAttentionHeadByHeadBitExact()
    {
        using var folder = new TempFolder();
        var boardPath = ResizedMps2(folder.Path, "small", new Dictionary<string, int> { ["DTCM"] = 16384, ["SRAM1"] = 4096, ["SRAM2"] = 4096 });
        var output = Path.Combine(folder.Path, "small");
        Compile(output, "--board", boardPath);
        var source = File.ReadAllText(Path.Combine(output, "model.c"));
        Assert.Contains("keys_values", source);
        Assert.DoesNotContain("qkv_MatMul +", source);
        var result = CliRunner.Run("simulate", output, "--limit", "20", "--json");
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.True(JsonDocument.Parse(result.Stdout).RootElement.GetProperty("bit_exact").GetBoolean());
    }

    [Fact]
    public void PlanSpreadOverThreeRegionsSimulatesBitExact()
    {
        using var folder = new TempFolder();
        // The fixture's 21 KB of activations cannot fit one region: 6 KB of DTCM, 12 KB SRAM1, 8 KB SRAM2.
        var boardPath = ResizedMps2(folder.Path, "split", new Dictionary<string, int> { ["DTCM"] = 16384, ["SRAM1"] = 12288, ["SRAM2"] = 8192 }, dataReserve: 2048);
        var output = Path.Combine(folder.Path, "split");
        Compile(output, "--board", boardPath);
        var plan = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "plan.json"))).RootElement;
        var used = plan.GetProperty("peak_bytes").EnumerateObject().Where(r => r.Value.GetInt32() > 0).Select(r => r.Name).ToList();
        Assert.True(used.Count >= 2, string.Join(", ", used));
        var sizes = SizeSections(Path.Combine(output, "firmware.elf"));
        Assert.All(used, r => Assert.True(sizes.ContainsKey(".arena_" + r.ToLowerInvariant()), r));
        var result = CliRunner.Run("simulate", output, "--limit", "20", "--json");
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.True(JsonDocument.Parse(result.Stdout).RootElement.GetProperty("bit_exact").GetBoolean());
    }

    /// <summary>The disco's profile under its own name, with other flash sizes, in FOLDER/stm32f746g-disco.json.</summary>
    private static string ResizedDisco(string folder, long internalFlash, long qspi)
    {
        var profile = JsonNode.Parse(File.ReadAllText(Path.Combine(TestModels.RepositoryRoot, "boards", "profiles", "stm32f746g-disco.json")))!;
        profile["flash"]!["size"] = internalFlash;
        foreach (var region in profile["external"]!.AsArray()) if ((string?)region!["name"] == "QSPI") region["size"] = qspi;
        var path = Path.Combine(folder, "stm32f746g-disco.json");
        File.WriteAllText(path, profile.ToJsonString());
        return path;
    }

    [Fact]
    public void WeightsThatDoNotFitInternalFlashGoToQspiAndAreNotFlashedHalfway()
    {
        using var folder = new TempFolder();
        // 128 KB of internal flash less the 64 KB code reserve cannot hold the fixture's ~166 KB of constants.
        var boardPath = ResizedDisco(folder.Path, 128 * 1024, 16 * 1024 * 1024);
        var output = Path.Combine(folder.Path, "qspi");
        Compile(output, "--board", boardPath);
        var report = ReadReport(output);
        Assert.Equal("QSPI", report.GetProperty("weights_region").GetString());
        Assert.Equal(".qspi_weights", report.GetProperty("weights_section").GetString());
        long constants = report.GetProperty("constant_bytes").GetInt64();
        Assert.Equal(constants, report.GetProperty("external_flash_by_region").GetProperty("QSPI").GetInt64());
        var sizes = SizeSections(Path.Combine(output, "firmware.elf"));
        Assert.Equal(constants, sizes[".qspi_weights"]);
        Assert.True(report.GetProperty("flash_bytes").GetInt64() < 64 * 1024);
        var weights = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "plan.json"))).RootElement.GetProperty("weights");
        Assert.Equal("QSPI", weights.GetProperty("region").GetString());
        Assert.True(weights.GetProperty("external").GetBoolean());
        // The linker put the section at the QSPI's memory-mapped address, and the start-up code that maps it is in.
        var headers = Process.Start(new ProcessStartInfo("arm-none-eabi-objdump", ["-h", Path.Combine(output, "firmware.elf")]) { RedirectStandardOutput = true })!;
        var sectionLine = headers.StandardOutput.ReadToEnd().Split('\n').Single(l => l.Contains(".qspi_weights"));
        headers.WaitForExit();
        Assert.Contains("90000000", sectionLine);
        Assert.Contains("qspi_memory_mapped_start", File.ReadAllText(Path.Combine(output, "board", "stm32f7.c")));
        Assert.Contains("-DQSPI_WEIGHTS=1", File.ReadAllText(Path.Combine(output, "Makefile")));

        var flash = CliRunner.Run("flash", output, "--tool", "openocd");
        Assert.Equal(2, flash.ExitCode);
        Assert.Contains($"firmware.elf puts {constants} bytes in external QSPI flash", flash.Stderr);
        Assert.Contains("does not flash half an image", flash.Stderr);
        // Renode models no QUADSPI controller: no Renode files, and simulate says why.
        Assert.False(Directory.Exists(Path.Combine(output, "renode")));
        var renode = CliRunner.Run("simulate", output, "--simulator", "renode");
        Assert.Equal(2, renode.ExitCode);
        Assert.Contains("Renode cannot run", renode.Stderr);
    }

    /// <summary>mps2-an500-extflash under its own name with less internal flash, in FOLDER/mps2-an500-extflash.json.</summary>
    private static string ResizedExternalFlashMps2(string folder, long internalFlash)
    {
        var profile = JsonNode.Parse(File.ReadAllText(Path.Combine(TestModels.RepositoryRoot, "boards", "profiles", "mps2-an500-extflash.json")))!;
        profile["flash"]!["size"] = internalFlash;
        var path = Path.Combine(folder, "mps2-an500-extflash.json");
        File.WriteAllText(path, profile.ToJsonString());
        return path;
    }

    [Fact]
    public void WeightsInQemusExternalFlashSimulateBitExact()
    {
        using var folder = new TempFolder();
        // As above: 64 KB left beside the code reserve cannot hold the fixture's ~166 KB of constants.
        var boardPath = ResizedExternalFlashMps2(folder.Path, 128 * 1024);
        var output = Path.Combine(folder.Path, "extflash");
        Compile(output, "--board", boardPath);
        var report = ReadReport(output);
        Assert.Equal("EXTFLASH", report.GetProperty("weights_region").GetString());
        Assert.Equal(".extflash_weights", report.GetProperty("weights_section").GetString());
        long constants = report.GetProperty("constant_bytes").GetInt64();
        Assert.Equal(constants, report.GetProperty("external_flash_by_region").GetProperty("EXTFLASH").GetInt64());
        Assert.Equal(constants, SizeSections(Path.Combine(output, "firmware.elf"))[".extflash_weights"]);
        // At QEMU's 16 MB at 0x60000000, which -kernel loads like any other segment: nothing sets it up.
        var headers = Process.Start(new ProcessStartInfo("arm-none-eabi-objdump", ["-h", Path.Combine(output, "firmware.elf")]) { RedirectStandardOutput = true })!;
        var sectionLine = headers.StandardOutput.ReadToEnd().Split('\n').Single(l => l.Contains(".extflash_weights"));
        headers.WaitForExit();
        Assert.Contains("60000000", sectionLine);
        var result = CliRunner.Run("simulate", output, "--limit", "3", "--json");
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.True(JsonDocument.Parse(result.Stdout).RootElement.GetProperty("bit_exact").GetBoolean());
    }

    [Fact]
    public void WeightsFittingNeitherFlashAreRejectedWithTheBytesOverEach()
    {
        using var folder = new TempFolder();
        var boardPath = ResizedDisco(folder.Path, 128 * 1024, 64 * 1024);
        var output = Path.Combine(folder.Path, "out");
        var result = CliRunner.Run("compile", "--board", boardPath, "--out", output, "--calib-samples", "32");
        Assert.Equal(3, result.ExitCode);
        // The fixture's 4 embedded samples: 784 input and 10 output bytes each.
        Assert.Matches(@"the model's constants need (\d+) bytes but internal FLASH has 62360 for them \(131072 less a 65536-byte code reserve and 3176 bytes of embedded test samples; over by \d+ bytes\) " +
                       @"and external QSPI has 65536 \(over by \d+ bytes\)", result.Stderr);
        Assert.False(Directory.Exists(output));
    }

    [Fact]
    public void UnknownBoardIsABadInput()
    {
        var result = CliRunner.Run("compile", "--board", "no-such-board", "--out", Path.Combine(Path.GetTempPath(), "never"));
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("unknown board 'no-such-board' (known: mps2-an500, mps2-an500-extflash, nucleo-f746zg, nucleo-h743zi, stm32f427, stm32f746g-disco)", result.Stderr);
    }

    [Fact]
    public void GeneratedProjectAlsoBuildsWithCMake()
    {
        using var folder = new TempFolder();
        var output = Path.Combine(folder.Path, "disco");
        Compile(output, "--board", "stm32f746g-disco");
        var build = Path.Combine(folder.Path, "cmake-build");
        foreach (var args in new[]
        {
            new[] { "-S", output, "-B", build, "-DCMAKE_TOOLCHAIN_FILE=" + Path.Combine(output, "cmake", "arm-none-eabi.cmake") },
            new[] { "--build", build },
        })
        {
            using var process = Process.Start(new ProcessStartInfo("cmake", args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
            var stdout = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            Assert.True(process.ExitCode == 0, stdout + process.StandardError.ReadToEnd());
        }
        Assert.True(File.Exists(Path.Combine(build, "firmware.elf")));
    }
}
