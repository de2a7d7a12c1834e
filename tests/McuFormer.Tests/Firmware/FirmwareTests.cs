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
        long ram = new[] { ".data", ".bss", ".arena", ".stack" }.Sum(s => sizes.GetValueOrDefault(s));
        Assert.Equal(flash, report.GetProperty("flash_bytes").GetInt64());
        Assert.Equal(ram, report.GetProperty("peak_ram_bytes").GetInt64());
        Assert.Equal(327680, report.GetProperty("ram_budget_bytes").GetInt64());
        Assert.Equal(1048576, report.GetProperty("flash_budget_bytes").GetInt64());
        Assert.True(sizes[".arena"] >= report.GetProperty("arena_bytes").GetInt64());
        foreach (var key in new[] { "board", "model", "params", "macs", "layers" }) Assert.True(report.TryGetProperty(key, out _), key);
        var analysis = CliRunner.Run("analyze", TestModels.Fixture, "--board", board, "--json");
        Assert.True(analysis.ExitCode == 0, analysis.Stderr);
        Assert.Equal(report.GetProperty("arena_bytes").GetInt64(),
            JsonDocument.Parse(analysis.Stdout).RootElement.GetProperty("plan").GetProperty("arena_bytes").GetInt64());
        var layer = report.GetProperty("layers")[0];
        foreach (var key in new[] { "name", "op", "macs", "weight_bytes", "arena_offset", "bytes" }) Assert.True(layer.TryGetProperty(key, out _), key);
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
        Assert.Contains("mcu_model_run_streamed(streamed_arena, read_rows", File.ReadAllText(Path.Combine(output, "host_main.c")));
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

    [Fact]
    public void ArenaLargerThanTheBoardRegionIsRejectedWithTheOverflow()
    {
        using var folder = new TempFolder();
        var profile = JsonNode.Parse(File.ReadAllText(Path.Combine(TestModels.RepositoryRoot, "boards", "profiles", "mps2-an500.json")))!;
        profile["name"] = "tiny";
        foreach (var region in profile["ram"]!.AsArray()) if ((string?)region!["name"] == "SRAM1") region["size"] = 4096;
        var boardPath = Path.Combine(folder.Path, "tiny.json");
        File.WriteAllText(boardPath, profile.ToJsonString());
        var output = Path.Combine(folder.Path, "out");
        var result = CliRunner.Run("compile", "--board", boardPath, "--out", output, "--calib-samples", "32");
        Assert.Equal(3, result.ExitCode);
        Assert.Matches(@"activation arena needs \d+ bytes but tiny's SRAM1 has 4096 \(over by \d+ bytes\)", result.Stderr);
        Assert.False(Directory.Exists(output));
    }

    [Fact]
    public void UnknownBoardIsABadInput()
    {
        var result = CliRunner.Run("compile", "--board", "no-such-board", "--out", Path.Combine(Path.GetTempPath(), "never"));
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("unknown board 'no-such-board' (known: mps2-an500, nucleo-f746zg, nucleo-h743zi, stm32f427, stm32f746g-disco)", result.Stderr);
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
