using System.Text.Json;
using McuFormer.Model.Boards;
using McuFormer.Model.Lowering;
using McuFormer.Model.Onnx;
using McuFormer.Model.Quantization;
using McuFormer.Nas.Evaluation;
using McuFormer.Nas.Space;
using McuFormer.Pipeline;
using McuFormer.Pipeline.Firmware;

namespace McuFormer.Tests.Nas;

/// <summary>`mcuformer search` end to end: outputs, resuming, and the chosen subnet through compile and QEMU.</summary>
public class SearchCommandTests
{
    private const string Board = "mps2-an500";

    private static string[] SmallSearch(string output) =>
    [
        "search", SupernetTests.WeightsPath, "--space", SupernetTests.SpacePath, "--board", Board, "--data", TestModels.FashionMnist,
        "--ram-budget", "24KB", "--flash-budget", "128KB", "--population", "4", "--generations", "1", "--parents", "2",
        "--val-samples", "200", "--test-samples", "200", "--baselines", "--out", output, "--json",
    ];

    [Fact]
    public void SearchWritesItsOutputsResumesAndItsBestSubnetCompilesAndSimulatesBitExact()
    {
        using var folder = new TempFolder();
        string output = Path.Combine(folder.Path, "search");
        var first = CliRunner.Run(SmallSearch(output));
        Assert.True(first.ExitCode == 0, first.Stderr + first.Stdout);
        foreach (var file in new[] { "best.onnx", "pareto.csv", "pareto.svg", "search.json", "checkpoint.json" })
            Assert.True(File.Exists(Path.Combine(output, file)), file);
        var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "search.json"))).RootElement;
        // Every path search.json holds is relative to its folder, where training/finetune.py resolves them.
        string FromOutput(string property) => Path.GetFullPath(Path.Combine(output, report.GetProperty(property).GetString()!));
        Assert.Equal(Path.GetFullPath(SupernetTests.WeightsPath), FromOutput("supernet"));
        Assert.Equal(Path.GetFullPath(SupernetTests.SpacePath), FromOutput("space"));
        Assert.Equal(TestModels.FashionMnist, FromOutput("data"));
        Assert.All(new[] { "supernet", "space", "data" }, p => Assert.False(Path.IsPathRooted(report.GetProperty(p).GetString()), p));
        var best = report.GetProperty("best");
        var cost = best.GetProperty("cost");
        Assert.True(cost.GetProperty("ram_bytes").GetInt64() <= 24 * 1024);
        Assert.True(cost.GetProperty("flash_bytes").GetInt64() <= 128 * 1024);
        Assert.Equal(3, report.GetProperty("methods").GetArrayLength());
        var code = report.GetProperty("code_size");
        Assert.True(code.GetProperty("bytes").GetInt64() > 0);

        var csv = File.ReadAllLines(Path.Combine(output, "pareto.csv"));
        Assert.Equal("subnet,top1,arena_bytes,ram_bytes,flash_bytes,constant_bytes,latency_ms,params,macs,fits,pareto,methods", csv[0]);
        Assert.Equal(report.GetProperty("subnets_measured").GetInt32(), csv.Length - 1);
        Assert.All(csv.Skip(1).Select(l => l.Split(',')), row => Assert.Equal(row[9] == "1", row[1].Length > 0));

        // A rerun of the same search replays every measurement from the checkpoint.
        var again = CliRunner.Run(SmallSearch(output));
        Assert.True(again.ExitCode == 0, again.Stderr);
        Assert.Contains("resuming", again.Stderr);
        var replay = JsonDocument.Parse(again.Stdout).RootElement;
        Assert.Equal(0, replay.GetProperty("accuracy_runs").GetInt32());
        Assert.Equal(best.GetProperty("key").GetString(), replay.GetProperty("best").GetProperty("key").GetString());

        // best.onnx is what compile plans for exactly, and it runs bit-exact in QEMU. The search builds
        // with 16 calibration images; so does this compile, since the code bytes depend on the
        // quantization parameters the calls pass (Thumb-2 encodes small immediates shorter).
        string firmware = Path.Combine(folder.Path, "firmware");
        var compile = CliRunner.Run("compile", Path.Combine(output, "best.onnx"), "--board", Board, "--calib", TestModels.FashionMnist,
            "--calib-samples", "16", "--out", firmware);
        Assert.True(compile.ExitCode == 0, compile.Stderr + compile.Stdout);
        var plan = JsonDocument.Parse(File.ReadAllText(Path.Combine(firmware, "plan.json"))).RootElement;
        var compiled = JsonDocument.Parse(File.ReadAllText(Path.Combine(firmware, "report.json"))).RootElement;
        Assert.Equal(cost.GetProperty("arena_bytes").GetInt64(), plan.GetProperty("total_peak_bytes").GetInt64());
        Assert.Equal(cost.GetProperty("arena_bytes").GetInt64(), compiled.GetProperty("arena_bytes").GetInt64());
        Assert.Equal(cost.GetProperty("constant_bytes").GetInt64(), compiled.GetProperty("constant_bytes").GetInt64());
        // The search built the chosen subnet as compile does; the flash estimate from two other builds is close to it.
        var searchBuilt = report.GetProperty("best_built");
        Assert.Equal(best.GetProperty("key").GetString(), searchBuilt.GetProperty("key").GetString());
        Assert.Equal(compiled.GetProperty("flash_bytes").GetInt64(), searchBuilt.GetProperty("flash_bytes").GetInt64());
        Assert.Equal(compiled.GetProperty("peak_ram_bytes").GetInt64(), searchBuilt.GetProperty("peak_ram_bytes").GetInt64());
        Assert.True(searchBuilt.GetProperty("flash_bytes").GetInt64() <= 128 * 1024);
        long estimated = cost.GetProperty("flash_bytes").GetInt64(), built = compiled.GetProperty("flash_bytes").GetInt64();
        Assert.True(Math.Abs(estimated - built) <= built / 50, $"flash estimated {estimated} B, built {built} B");
        var simulate = CliRunner.Run("simulate", firmware, "--limit", "20", "--json");
        Assert.True(simulate.ExitCode == 0, simulate.Stderr + simulate.Stdout);
        Assert.True(JsonDocument.Parse(simulate.Stdout).RootElement.GetProperty("bit_exact").GetBoolean());
    }

    [Theory]
    [InlineData("p4-e64-d4", 4, 64, 4, 4, 2.0, 1.0)]
    [InlineData("p7-e32-d2", 7, 32, 2, 2, 1.0, 0.25)]
    [InlineData("p4-e48-d3", 4, 48, 3, 3, 1.5, 0.375)]
    public void ReportedRamAndConstantsEqualWhatCompilePlans(string name, int patch, int embed, int depth, int heads, double mlp, double rank)
    {
        var space = SearchSpace.Load(SupernetTests.SpacePath);
        var materializer = McuFormer.Nas.Materialize.SupernetMaterializer.Load(space);
        var subnet = SearchSpace.Uniform(patch, embed, depth, heads, mlp, rank) with { Heads = [.. Enumerable.Range(0, depth).Select(b => b % 2 == 0 ? heads : 2)] };
        using var folder = new TempFolder();
        string model = Path.Combine(folder.Path, name + ".onnx");
        materializer.WriteOnnx(subnet, model);
        var board = new BoardCatalog(Path.Combine(AppContext.BaseDirectory, "boards")).Get(Board);
        var cost = new DeploymentCostModel(board, CodeSize.Unmeasured("constants only"), LatencyModel.Default).Measure(OnnxImporter.Import(model));

        var outcome = Compilation.Compile(new CompileOptions(model, Board, TestModels.FashionMnist, 32, RangeMethod.MinMax,
            Path.Combine(folder.Path, "firmware"), ScheduleOptions.Fused, EmbeddedSamples: 1));
        var plan = JsonDocument.Parse(File.ReadAllText(Path.Combine(outcome.OutputFolder, "plan.json"))).RootElement;
        Assert.Equal(plan.GetProperty("total_peak_bytes").GetInt64(), cost.ArenaBytes);
        Assert.Equal(outcome.Report.ArenaBytes, cost.ArenaBytes);
        Assert.Equal(cost.ArenaBytes + board.Layout.StackSize, cost.RamBytes);
        Assert.Equal(outcome.Report.ConstantBytes, cost.ConstantBytes);
        Assert.Equal(outcome.Report.Macs, cost.Macs);
    }

    [Fact]
    public void BadSearchInputsAreRejectedWithClearErrors()
    {
        using var folder = new TempFolder();
        string output = Path.Combine(folder.Path, "out");
        var missing = CliRunner.Run("search", SupernetTests.WeightsPath, "--space", Path.Combine(folder.Path, "nope.json"), "--out", output);
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("nope.json: no such file", missing.Stderr);

        var budget = CliRunner.Run("search", SupernetTests.WeightsPath, "--space", SupernetTests.SpacePath, "--ram-budget", "12XB", "--out", output);
        Assert.Equal(2, budget.ExitCode);
        Assert.Contains("--ram-budget", budget.Stderr);

        string wrongWeights = Path.Combine(folder.Path, "wrong.npz");
        File.WriteAllText(wrongWeights, "not a zip");
        var weights = CliRunner.Run("search", wrongWeights, "--space", SupernetTests.SpacePath, "--out", output);
        Assert.Equal(2, weights.ExitCode);
        Assert.Contains("wrong.npz", weights.Stderr);

        var impossible = CliRunner.Run("search", SupernetTests.WeightsPath, "--space", SupernetTests.SpacePath, "--board", Board,
            "--ram-budget", "2KB", "--population", "2", "--generations", "0", "--parents", "1", "--val-samples", "10", "--test-samples", "10", "--out", output);
        Assert.Equal(3, impossible.ExitCode);
        Assert.Contains("no subnet meets the budgets", impossible.Stderr);
        foreach (var stderr in new[] { missing.Stderr, budget.Stderr, weights.Stderr, impossible.Stderr })
            Assert.DoesNotContain("   at ", stderr);
    }

    [Fact]
    public void WeightsOfAnotherSpaceAreNamedInTheError()
    {
        using var folder = new TempFolder();
        var run = CliRunner.Run("search", SupernetTests.Weights112Path, "--space", SupernetTests.SpacePath, "--out", Path.Combine(folder.Path, "out"));
        Assert.Equal(2, run.ExitCode);
        Assert.Contains($"{SupernetTests.Weights112Path}: has no tensor 'patch_embed.p4.weight'", run.Stderr);
    }

    [Fact]
    public void WeightsWithoutSpaceFindTheSpaceJsonBesideThemThatNamesThem()
    {
        Assert.Equal(SupernetTests.SpacePath, SearchSpace.FindBeside(SupernetTests.WeightsPath));
        Assert.Equal(SupernetTests.Space112Path, SearchSpace.FindBeside(SupernetTests.Weights112Path));

        using var folder = new TempFolder();
        string weights = Path.Combine(folder.Path, "mine.npz");
        File.Copy(SupernetTests.WeightsPath, weights);
        // A pipe among the JSON files must not block the look-up, and a space naming other weights is not ours.
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", [Path.Combine(folder.Path, "a-pipe.json")])) mkfifo.WaitForExit();
        File.Copy(SupernetTests.SpacePath, Path.Combine(folder.Path, "other.json"));
        Assert.Null(SearchSpace.FindBeside(weights));
        string output = Path.Combine(folder.Path, "out");
        var none = CliRunner.Run("search", weights, "--out", output);
        Assert.Equal(2, none.ExitCode);
        Assert.Contains("mine.npz: a supernet's weights need their search space", none.Stderr);

        string space = File.ReadAllText(SupernetTests.SpacePath).Replace("\"fmnist_supernet.npz\"", "\"mine.npz\"");
        File.WriteAllText(Path.Combine(folder.Path, "mine_space.json"), space);
        Assert.Equal(Path.Combine(folder.Path, "mine_space.json"), SearchSpace.FindBeside(weights));
        // Two spaces naming the same weights: which one is meant is the user's to say.
        File.WriteAllText(Path.Combine(folder.Path, "mine_space_copy.json"), space);
        Assert.Null(SearchSpace.FindBeside(weights));
    }
}

/// <summary>`search --seeds K`: each seed's search in its own folder, and the methods compared over the seeds.</summary>
public class SeedStudyTests
{
    [Fact]
    public void SeedsRunTheSearchOncePerSeedAndSummariseEachMethodsBest()
    {
        using var folder = new TempFolder();
        string output = Path.Combine(folder.Path, "study");
        var run = CliRunner.Run("search", SupernetTests.WeightsPath, "--space", SupernetTests.SpacePath, "--board", "mps2-an500",
            "--data", TestModels.FashionMnist, "--ram-budget", "24KB", "--flash-budget", "128KB", "--population", "4", "--generations", "1",
            "--parents", "2", "--val-samples", "100", "--test-samples", "200", "--seed", "5", "--seeds", "3", "--out", output, "--json");
        Assert.True(run.ExitCode == 0, run.Stderr + run.Stdout);
        var summary = JsonDocument.Parse(run.Stdout).RootElement;
        Assert.Equal([5, 6, 7], summary.GetProperty("seeds").EnumerateArray().Select(s => s.GetInt32()));
        // Every seed's search ran with the baselines: the summary's figures are those of its search.json files.
        var searches = new[] { 5, 6, 7 }.Select(seed => JsonDocument.Parse(File.ReadAllText(Path.Combine(output, $"seed-{seed}", "search.json"))).RootElement).ToList();
        double TestTop1(JsonElement search, string method) =>
            search.GetProperty("methods").EnumerateArray().Single(m => m.GetProperty("method").GetString() == method).GetProperty("best").GetProperty("top1_test").GetDouble();
        var methods = summary.GetProperty("methods").EnumerateArray().ToList();
        Assert.Equal(["evolution", "random", "uniform-rank evolution"], methods.Select(m => m.GetProperty("method").GetString()));
        foreach (var method in methods)
        {
            string name = method.GetProperty("method").GetString()!;
            var values = searches.Select(s => TestTop1(s, name)).ToList();
            double mean = values.Average(), std = Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / 2);
            Assert.Equal(mean, method.GetProperty("top1_test_mean").GetDouble(), 9);
            Assert.Equal(std, method.GetProperty("top1_test_std").GetDouble(), 9);
            Assert.Equal(name != "random", method.TryGetProperty("versus_random", out var versus));
            if (name == "random") continue;
            var differences = searches.Select(s => TestTop1(s, name) - TestTop1(s, "random")).ToList();
            double meanDifference = differences.Average();
            double error = Math.Sqrt(differences.Sum(d => (d - meanDifference) * (d - meanDifference)) / 2) / Math.Sqrt(3);
            Assert.Equal(meanDifference, versus.GetProperty("mean_difference").GetDouble(), 9);
            Assert.Equal(error, versus.GetProperty("standard_error").GetDouble(), 9);
            Assert.Equal(meanDifference > 2 * error, versus.GetProperty("beats_random_by_two_standard_errors").GetBoolean());
        }

        var csv = File.ReadAllLines(Path.Combine(output, "summary.csv"));
        Assert.Equal("method,seeds,top1_test_mean,top1_test_std,top1_validation_mean,vs_random_mean,vs_random_standard_error," +
            "beats_random_by_2se,top1_test,patch_size,rank_ratio,ram_bytes,flash_bytes,subnet", csv[0]);
        Assert.Equal(4, csv.Length);
        var random = csv.Single(l => l.StartsWith("random,", StringComparison.Ordinal)).Split(',');
        Assert.Equal("3", random[1]);
        Assert.Equal(3, random[9].Split(';').Length);
        Assert.All(random[11].Split(';'), ram => Assert.InRange(long.Parse(ram), 1, 24 * 1024));
        System.Xml.Linq.XDocument.Parse(File.ReadAllText(Path.Combine(output, "summary.svg")));
    }
}
