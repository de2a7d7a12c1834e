using System.Text.Json;

namespace McuFormer.Tests.Firmware;

/// <summary>`mcuformer bench-model` on its fast path, the fixture alone: the JSON keys other tools read, and figures that agree.</summary>
public class BenchModelTests
{
    /// <summary>The keys each model carries, whatever else is added.</summary>
    private static readonly string[] ContractKeys =
        ["name", "macs", "instructions", "instr_per_mac", "arena_bytes", "lower_bound_bytes", "flash_bytes", "external_flash_bytes", "bit_exact"];

    [Fact]
    public void FixtureAloneGivesEveryContractKeyAndIsBitExact()
    {
        var result = CliRunner.Run("bench-model", "--model", "vit_fmnist", "--samples", "2", "--json");
        Assert.True(result.ExitCode == 0, result.Stderr + result.Stdout);
        var model = Assert.Single(JsonDocument.Parse(result.Stdout).RootElement.GetProperty("models").EnumerateArray());
        Assert.All(ContractKeys, key => Assert.True(model.TryGetProperty(key, out _), key));
        Assert.Equal("vit_fmnist", model.GetProperty("name").GetString());
        Assert.Equal("mps2-an500", model.GetProperty("board").GetString());
        Assert.True(model.GetProperty("bit_exact").GetBoolean());
        Assert.Equal(2, model.GetProperty("samples").GetInt32());
        long macs = model.GetProperty("macs").GetInt64(), instructions = model.GetProperty("instructions").GetInt64();
        Assert.True(macs > 0 && instructions > macs, $"{instructions} instructions for {macs} MACs");
        Assert.Equal((double)instructions / macs, model.GetProperty("instr_per_mac").GetDouble(), 6);
        Assert.InRange(model.GetProperty("lower_bound_bytes").GetInt64(), 1, model.GetProperty("arena_bytes").GetInt64());
        // The fixture's constants fit internal flash.
        Assert.Equal(0, model.GetProperty("external_flash_bytes").GetInt64());
        Assert.InRange(model.GetProperty("flash_bytes").GetInt64(), 1, 1024 * 1024);
        Assert.True(model.GetProperty("compile_seconds").GetDouble() > 0);
    }
}
