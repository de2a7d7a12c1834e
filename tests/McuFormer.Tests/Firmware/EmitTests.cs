namespace McuFormer.Tests.Firmware;

/// <summary>`compile --emit`: which extras a project gets besides the C sources and build files.</summary>
public class EmitTests
{
    private static (CliRunner.Result Result, string Output) Compile(TempFolder temp, string board, params string[] emit)
    {
        var model = TestModels.Write(TestModels.PatchMeanHead(), temp.Path);
        var output = Path.Combine(temp.Path, "project");
        var result = CliRunner.Run(["compile", model, "--board", board, "--calib", TestModels.FashionMnist, "--calib-samples", "16",
            "--out", output, .. emit]);
        return (result, output);
    }

    [Theory]
    [InlineData("none", false, false)]
    [InlineData("renode", true, false)]
    [InlineData("nanoframework", false, true)]
    [InlineData("renode,nanoframework", true, true)]
    public void DiscoGetsExactlyTheExtrasAskedFor(string emit, bool renode, bool nanoFramework)
    {
        using var temp = new TempFolder();
        var (result, output) = Compile(temp, "stm32f746g-disco", "--emit", emit);
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.True(File.Exists(Path.Combine(output, "firmware.elf")));
        Assert.Equal(renode, Directory.Exists(Path.Combine(output, "renode")));
        Assert.Equal(nanoFramework, Directory.Exists(Path.Combine(output, "nanoframework")));
    }

    [Fact]
    public void DefaultIsWhatTheProfileNames()
    {
        using (var temp = new TempFolder())
        {
            var (result, output) = Compile(temp, "stm32f746g-disco");
            Assert.True(result.ExitCode == 0, result.Stderr);
            Assert.True(Directory.Exists(Path.Combine(output, "renode")));
            Assert.True(Directory.Exists(Path.Combine(output, "nanoframework")));
        }
        using (var temp = new TempFolder())
        {
            var (result, output) = Compile(temp, "mps2-an500");
            Assert.True(result.ExitCode == 0, result.Stderr);
            Assert.False(Directory.Exists(Path.Combine(output, "renode")));
            Assert.False(Directory.Exists(Path.Combine(output, "nanoframework")));
        }
    }

    [Theory]
    [InlineData("mps2-an500", "renode", "platform \"stm32f7\"")]
    [InlineData("mps2-an500", "nanoframework", "QEMU machine")]
    [InlineData("stm32f746g-disco", "renode,docs", "unknown output 'docs'")]
    public void AnExtraTheBoardCannotHaveIsRefusedInOneLine(string board, string emit, string reason)
    {
        using var temp = new TempFolder();
        var (result, output) = Compile(temp, board, "--emit", emit);
        Assert.Equal(2, result.ExitCode);
        var error = Assert.Single(result.Stderr.Split('\n'), l => l.StartsWith("error: ", StringComparison.Ordinal));
        Assert.Contains(reason, error);
        Assert.False(Directory.Exists(output));
    }
}
