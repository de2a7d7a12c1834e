namespace McuFormer.Tests;

/// <summary>
/// Options the commands cannot use are refused with exit code 2 and one line naming the option,
/// before the command reads a model, calibrates or plans: parse errors, numbers out of range (NaN
/// and infinities included) and an --out that cannot be a folder.
/// </summary>
public class CliOptionsTests
{
    private static void AssertRefused(CliRunner.Result result, string fragment)
    {
        Assert.True(result.ExitCode == 2, $"exit {result.ExitCode}: {result.Stderr}{result.Stdout}");
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: ", line);
        Assert.Contains(fragment, line);
    }

    [Theory]
    // parse errors: unknown option, missing value, not a number
    [InlineData("unknown option '--bogus'", "compile", "--bogus")]
    [InlineData("unknown option '-x'", "simulate", "-x")]
    [InlineData("'--bogus'", "compile", "model.onnx", "--calib", "data", "--bogus")]
    [InlineData("'--bogus'", "boards", "--bogus")]
    [InlineData("'--limit'", "simulate", "project", "--limit")]
    [InlineData("'abc'", "simulate", "project", "--limit", "abc")]
    [InlineData("'1e3'", "search", "--out", "s", "--population", "1e3")]
    [InlineData("'99999999999'", "simulate", "project", "--limit", "99999999999")]
    [InlineData("command", new string[0])]
    // sample counts and limits
    [InlineData("--limit", "simulate", "project", "--limit", "0")]
    [InlineData("--limit", "demo", "--limit", "-5")]
    [InlineData("--limit", "validate", "model.onnx", "--data", "data", "--limit", "-1")]
    [InlineData("--calib-samples", "validate", "model.onnx", "--data", "data", "--calib-samples", "0")]
    [InlineData("--layer-samples", "validate", "model.onnx", "--data", "data", "--layer-samples", "-1")]
    [InlineData("--calib-samples", "compile", "--calib-samples", "0")]
    [InlineData("--samples", "bench-model", "--samples", "0")]
    [InlineData("'resnet50'", "bench-model", "--model", "resnet50")]
    [InlineData("--val-samples", "search", "--out", "s", "--val-samples", "0")]
    [InlineData("--test-samples", "search", "--out", "s", "--test-samples", "-1")]
    [InlineData("--cell-samples", "search", "--out", "s", "--cell-samples", "0")]
    [InlineData("--population", "search", "--out", "s", "--population", "1")]
    [InlineData("--generations", "search", "--out", "s", "--generations", "-1")]
    [InlineData("--parents", "search", "--out", "s", "--parents", "0")]
    [InlineData("--jobs", "search", "--out", "s", "--jobs", "0")]
    // serial console and timeouts
    [InlineData("--baud", "flash", "project", "--baud", "0")]
    [InlineData("--baud", "flash", "project", "--baud", "-9600")]
    [InlineData("--timeout", "flash", "project", "--timeout", "0")]
    [InlineData("--exact-seconds", "bench-plan", "--exact-seconds", "NaN")]
    [InlineData("--exact-seconds", "bench-plan", "--exact-seconds", "Infinity")]
    [InlineData("--exact-seconds", "bench-plan", "--exact-seconds", "-1")]
    [InlineData("--exact-seconds", "bench-plan", "--exact-seconds", "0")]
    [InlineData("--exact-seconds", "bench-plan", "--exact-seconds", "1e9")]
    // budgets and probabilities
    [InlineData("--latency-budget", "search", "--out", "s", "--latency-budget", "NaN")]
    [InlineData("--latency-budget", "search", "--out", "s", "--latency-budget", "Infinity")]
    [InlineData("--latency-budget", "search", "--out", "s", "--latency-budget", "-Infinity")]
    [InlineData("--latency-budget", "search", "--out", "s", "--latency-budget", "0")]
    [InlineData("--latency-budget", "search", "--out", "s", "--latency-budget", "1e999")]
    [InlineData("--mutation", "search", "--out", "s", "--mutation", "NaN")]
    [InlineData("--mutation", "search", "--out", "s", "--mutation", "1.5")]
    [InlineData("--structure-mutation", "search", "--out", "s", "--structure-mutation", "-0.1")]
    [InlineData("--ram-budget", "search", "--out", "s", "--ram-budget", "0")]
    [InlineData("--ram-budget", "search", "--out", "s", "--ram-budget", "-1KB")]
    [InlineData("--ram-budget", "search", "--out", "s", "--ram-budget", "99999999999999999999MB")]
    [InlineData("--flash-budget", "search", "--out", "s", "--flash-budget", "1XB")]
    [InlineData("--flash-budget", "search", "--out", "s", "--flash-budget", "NaN")]
    public void AnOptionTheCommandCannotUseExitsWith2InOneLine(string fragment, params string[] args) =>
        AssertRefused(CliRunner.Run(args), fragment);

    [Theory]
    [InlineData("NaN")]
    [InlineData("Infinity")]
    [InlineData("0")]
    [InlineData("1,abc")]
    [InlineData("99999999999")]
    public void RankRatiosAndPatchSizesMustBeNumbersInRange(string list)
    {
        using var temp = new TempFolder();
        foreach (var option in new[] { "--rank-ratios", "--patch-sizes" })
            AssertRefused(CliRunner.Run("search", Path.Combine(temp.Path, "model.onnx"), option, list, "--out", Path.Combine(temp.Path, "s")), option);
        Assert.Empty(Directory.GetFileSystemEntries(temp.Path));
    }

    /// <summary>An --out that is a file, lies under one, or cannot be written is refused before the model is even read.</summary>
    [Fact]
    public void AnOutputFolderThatCannotBeWrittenIsRefusedFirst()
    {
        using var temp = new TempFolder();
        var model = TestModels.Write(TestModels.PatchMeanHead(), temp.Path);
        var file = Path.Combine(temp.Path, "file");
        File.WriteAllText(file, "");
        // /proc takes no new files, whoever runs the tests (root included).
        foreach (var (output, fragment) in new[]
        {
            (file, "is a file"), (Path.Combine(file, "below"), "which is a file"), ("/proc/mcuformer-out", "cannot write in /proc"),
        })
        {
            AssertRefused(CliRunner.Run("compile", model, "--calib", TestModels.FashionMnist, "--calib-samples", "16", "--out", output), fragment);
            AssertRefused(CliRunner.Run("demo", "--out", output), fragment);
            AssertRefused(CliRunner.Run("search", "--out", output), fragment);
        }
        Assert.Equal("", File.ReadAllText(file));
        Assert.Equal([file, model], Directory.GetFileSystemEntries(temp.Path).Order());
    }

    [Fact]
    public void HelpStillExitsWith0()
    {
        var help = CliRunner.Run("compile", "--help");
        Assert.Equal(0, help.ExitCode);
        Assert.Contains("--calib-samples", help.Stdout);
    }
}
