using System.Text.Json.Nodes;
using McuFormer.Model.Boards;

namespace McuFormer.Tests.Board;

/// <summary>
/// Board profiles are checked against their schema when they are loaded: a profile that breaks a
/// rule is refused in one line naming the file, the field and the fault, before anything of it
/// reaches a generated Makefile, linker script or -D flag.
/// </summary>
public class ProfileSchemaTests
{
    private static string ProfilesFolder => Path.Combine(TestModels.RepositoryRoot, "boards", "profiles");

    /// <summary>The disco's profile with the value at PATH ("ram[1].origin") replaced by JSON, or removed when JSON is null, saved as FOLDER/hostile.json.</summary>
    public static string Hostile(string folder, string path, string? json, string board = "stm32f746g-disco")
    {
        var root = JsonNode.Parse(File.ReadAllText(Path.Combine(ProfilesFolder, board + ".json")))!;
        var steps = path.Replace("]", "").Split('.', '[');
        var parent = root;
        for (int i = 0; i < steps.Length - 1; i++)
            parent = int.TryParse(steps[i], out int index) ? parent[index]! : parent[steps[i]]!;
        var last = steps[^1];
        var value = json is null ? null : JsonNode.Parse(json);
        if (int.TryParse(last, out int at)) parent[at] = value;
        else if (json is null) parent.AsObject().Remove(last);
        else parent[last] = value;
        var file = Path.Combine(folder, "hostile.json");
        File.WriteAllText(file, root.ToJsonString());
        return file;
    }

    [Fact]
    public void EveryCommittedProfileMeetsTheSchema()
    {
        var profiles = new BoardCatalog(Path.Combine(TestModels.RepositoryRoot, "boards")).All();
        Assert.Equal(6, profiles.Count);
    }

    [Fact]
    public void TheExternalFlashProfileIsMps2An500WithQemusMemoryAt0x60000000AsFlash()
    {
        var catalog = new BoardCatalog(Path.Combine(TestModels.RepositoryRoot, "boards"));
        var mps2 = catalog.Get("mps2-an500");
        var board = catalog.Get("mps2-an500-extflash");
        // The F746's budgets exactly as mps2-an500 has them, so the two compile the same model to the same plan.
        Assert.Equal(mps2.Flash, board.Flash);
        Assert.Equal(mps2.Ram, board.Ram);
        Assert.Equivalent(mps2.Layout, board.Layout, strict: true);
        Assert.Equal(mps2.CompileFlags, board.CompileFlags);
        Assert.Equal(mps2.Simulator, board.Simulator);
        Assert.Equal(mps2.Simulates, board.Simulates);
        var external = Assert.Single(board.External);
        Assert.Equal(("EXTFLASH", "flash", 0x60000000L, 16L * 1024 * 1024), (external.Name, external.Kind, external.Origin, external.Size));
        Assert.Null(external.Device);
        Assert.Null(external.Pins);
    }

    [Theory]
    // compile_flags: only -m, -f and -D flags of plain characters; nothing make or a shell would expand
    [InlineData("compile_flags[0]", "\"$(shell touch injected)\"", "compile_flags[0]")]
    [InlineData("compile_flags[1]", "\"-mthumb `touch injected`\"", "compile_flags[1]")]
    [InlineData("compile_flags[1]", "\"-mthumb; touch injected\"", "compile_flags[1]")]
    [InlineData("compile_flags[1]", "\"-mthumb\\ntouch injected\"", "compile_flags[1]")]
    [InlineData("compile_flags[1]", "\"-DX=\\\"a b\\\"\"", "compile_flags[1]")]
    [InlineData("compile_flags[1]", "\"-Wl,--script=/etc/passwd\"", "compile_flags[1]")]
    [InlineData("compile_flags[1]", "\"-fplugin=evil.so\"", "compile_flags[1]")]
    [InlineData("compile_flags", "[]", "compile_flags")]
    [InlineData("compile_flags", "\"-mthumb\"", "compile_flags")]
    // names
    [InlineData("name", "\"disco\\n$(shell touch injected)\"", "name")]
    [InlineData("name", "\"../../tmp/evil\"", "name")]
    [InlineData("name", "null", "name")]
    [InlineData("name", null, "name")]
    [InlineData("cpu", "\"cortex-m7\\\" evil\"", "cpu")]
    [InlineData("platform", "\"../../../tmp/evil\"", "platform")]
    [InlineData("mcu", "\"STM32F746\\n// injected\"", "mcu")]
    [InlineData("description", "\"a\\u2028b\"", "description")]
    [InlineData("clock_hx", "216000000", "clock_hx")]
    // clock
    [InlineData("clock_hz", "0", "clock_hz")]
    [InlineData("clock_hz", "-216000000", "clock_hz")]
    [InlineData("clock_hz", "999999", "clock_hz")]
    [InlineData("clock_hz", "1e30", "clock_hz")]
    [InlineData("clock_hz", "216000000.5", "clock_hz")]
    [InlineData("clock_hz", "\"NaN\"", "clock_hz")]
    [InlineData("clock_hz", "99999999999999999999999", "clock_hz")]
    [InlineData("hse.hz", "0", "hse.hz")]
    [InlineData("hse.bypass", "\"yes\"", "hse.bypass")]
    // memory regions
    [InlineData("flash", null, "flash")]
    [InlineData("flash.size", "0", "flash.size")]
    [InlineData("ram", "[]", "ram")]
    [InlineData("ram[0].name", "\"DTCM (rwx) : ORIGIN = 0, LENGTH = 1 }\"", "ram[0].name")]
    [InlineData("ram[0].name", "\"DTCM\\nINJECTED\"", "ram[0].name")]
    [InlineData("ram[1].name", "\"dtcm\"", "ram[1].name")]
    [InlineData("ram[0].size", "0", "ram[0].size")]
    [InlineData("ram[0].size", "-65536", "ram[0].size")]
    [InlineData("ram[2].size", "4294967296", "ram[2].size")]
    [InlineData("ram[1].origin", "\"0x2000F000\"", "ram[1]")]
    [InlineData("ram[1].origin", "\"0x100000000\"", "ram[1].origin")]
    [InlineData("ram[1].origin", "\"SRAM1\"", "ram[1].origin")]
    [InlineData("ram[1].origin", "536936448", "ram[1].origin")]
    [InlineData("ram[1]", "null", "ram[1]")]
    [InlineData("external[0].name", "\"QSPI_weights) } > FLASH /* \"", "external[0].name")]
    [InlineData("external[0].kind", "\"rom\"", "external[0].kind")]
    [InlineData("external[0].device", "\"N25Q128A$(x)\"", "external[0].device")]
    [InlineData("external[0].pins.clk", "\"PB2; rm -rf /\"", "external[0].pins.clk")]
    [InlineData("external[0].pins.clk_af", "99", "external[0].pins.clk_af")]
    [InlineData("external[1].origin", "\"0x08000000\"", "external[1]")]
    // layout
    [InlineData("layout", "null", "layout")]
    [InlineData("layout.arena_regions", "[]", "layout.arena_regions")]
    [InlineData("layout.arena_regions", "[\"DTCM\", \"CCM\"]", "layout.arena_regions[1]")]
    [InlineData("layout.arena_regions", "[\"DTCM\", \"DTCM\"]", "layout.arena_regions[1]")]
    [InlineData("layout.arena_regions", "[\"DTCM\", \"QSPI\"]", "layout.arena_regions[1]")]
    [InlineData("layout.stack_region", "\"NOPE\"", "layout.stack_region")]
    [InlineData("layout.data_region", "\"SDRAM\"", "layout.data_region")]
    [InlineData("layout.stack_size", "0", "layout.stack_size")]
    [InlineData("layout.stack_size", "8193", "layout.stack_size")]
    [InlineData("layout.stack_size", "1048576", "layout.stack_size")]
    [InlineData("layout.data_reserve", "-1", "layout.data_reserve")]
    [InlineData("layout.data_reserve", "65536", "layout.data_reserve")]
    [InlineData("layout.code_reserve", "2097152", "layout.code_reserve")]
    // console
    [InlineData("console.base", "\"0x40011000 -DEVIL=1\"", "console.base")]
    [InlineData("console.base", "\"$(shell touch injected)\"", "console.base")]
    [InlineData("console.baud", "0", "console.baud")]
    [InlineData("console.baud", "-115200", "console.baud")]
    [InlineData("console.tx", "\"PA9\\n#define EVIL 1\"", "console.tx")]
    [InlineData("console.rx", "\"PZ99\"", "console.rx")]
    [InlineData("console.af", "99", "console.af")]
    [InlineData("console.driver", "\"evil\"", "console.driver")]
    [InlineData("console.instance", "\"USART1 `id`\"", "console.instance")]
    // simulator
    [InlineData("simulator.kind", "\"gdb\"", "simulator.kind")]
    [InlineData("simulator.machine", "\"../../etc/x.repl\"", "simulator.machine")]
    [InlineData("simulates", "\"a b\"", "simulates")]
    public void AHostileProfileIsRefusedNamingTheFileAndTheField(string path, string? json, string field)
    {
        using var temp = new TempFolder();
        var file = Hostile(temp.Path, path, json);
        var error = Assert.Throws<BoardException>(() => BoardProfile.Load(file));
        Assert.StartsWith($"{file}: {field}: ", error.Message);
        Assert.DoesNotContain('\n', error.Message);
        Assert.True(error.Message.Length > $"{file}: {field}: ".Length + 5, error.Message);
    }

    [Fact]
    public void ADuplicateKeyOrNoJsonAtAllIsRefused()
    {
        using var temp = new TempFolder();
        var text = File.ReadAllText(Path.Combine(ProfilesFolder, "mps2-an500.json"));
        var duplicate = Path.Combine(temp.Path, "duplicate.json");
        File.WriteAllText(duplicate, text.Replace("\"clock_hz\": 25000000,", "\"clock_hz\": 25000000, \"clock_hz\": 0,"));
        Assert.StartsWith($"{duplicate}: clock_hz: ", Assert.Throws<BoardException>(() => BoardProfile.Load(duplicate)).Message);
        var truncated = Path.Combine(temp.Path, "truncated.json");
        File.WriteAllText(truncated, text[..200]);
        Assert.StartsWith($"{truncated}: ", Assert.Throws<BoardException>(() => BoardProfile.Load(truncated)).Message);
    }

    /// <summary>Through the CLI: exit code 2, one line, and nothing of the profile ran or was written.</summary>
    [Theory]
    [InlineData("compile_flags[0]", "\"$(shell touch injected)\"", "compile_flags[0]")]
    [InlineData("clock_hz", "0", "clock_hz")]
    [InlineData("layout.arena_regions", "[]", "layout.arena_regions")]
    public void CommandsRefuseAHostileProfileWithExitCode2InOneLine(string path, string? json, string field)
    {
        using var temp = new TempFolder();
        var file = Hostile(temp.Path, path, json, board: "mps2-an500");
        var model = TestModels.Write(TestModels.PatchMeanHead(), temp.Path);
        var output = Path.Combine(temp.Path, "out");
        foreach (var args in new[]
        {
            new[] { "compile", model, "--board", file, "--calib", TestModels.FashionMnist, "--calib-samples", "16", "--out", output },
            ["analyze", model, "--board", file],
        })
        {
            var result = CliRunner.Run(args);
            Assert.True(result.ExitCode == 2, result.Stderr + result.Stdout);
            var line = Assert.Single(result.Stderr.Split('\n'), l => l.StartsWith("error: ", StringComparison.Ordinal));
            Assert.StartsWith($"error: {file}: {field}: ", line);
        }
        Assert.False(Directory.Exists(output));
        Assert.DoesNotContain(Directory.GetFiles(temp.Path, "*", SearchOption.AllDirectories), f => Path.GetFileName(f) == "injected");
    }
}
