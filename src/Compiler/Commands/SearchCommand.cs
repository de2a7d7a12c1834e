using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using McuFormer.CodeGen.Tools;
using McuFormer.Model.Boards;
using McuFormer.Model.Datasets;
using McuFormer.Model.Json;
using McuFormer.Model.Onnx;
using McuFormer.Nas.Evaluation;
using McuFormer.Nas.Materialize;
using McuFormer.Nas.Search;
using McuFormer.Nas.Space;
using McuFormer.Pipeline;
using McuFormer.Pipeline.Firmware;
using McuFormer.Pipeline.Output;
using Spectre.Console;

namespace McuFormer.Compiler.Commands;

/// <summary>`mcuformer search`: hardware-aware evolutionary search of a weight-sharing supernet under a board's budgets.</summary>
public static class SearchCommand
{
    public static Command Create()
    {
        var supernet = new Argument<string?>("SUPERNET") { Description = "supernet weights (.npz from training/train_supernet.py; default: the bundled Fashion-MNIST supernet), or a plain ViT .onnx to search training-free over per-block ranks and patch sizes", Arity = ArgumentArity.ZeroOrOne };
        var space = new Option<string?>("--space") { Description = "search-space JSON written with the supernet (default: the bundled one)" };
        var board = new Option<string>("--board") { Description = "board profile (see `mcuformer boards`)", DefaultValueFactory = _ => ToolPaths.DefaultBoard };
        var data = new Option<string>("--data") { Description = "dataset: validation split as the space names it, test split for the final figures", DefaultValueFactory = _ => ToolPaths.FashionMnist };
        var ram = new Option<long?>("--ram-budget") { Description = "peak RAM budget: activation arena + stack (e.g. 96KB; default: the board's RAM)" }.Bytes();
        var flash = new Option<long?>("--flash-budget") { Description = "flash budget: weights and constants + firmware code (e.g. 256KB; default: the board's flash)" }.Bytes();
        var latency = new Option<double?>("--latency-budget") { Description = "latency budget in ms at the board's clock (instruction cost model, CPI 1)" }.Positive();
        var output = new Option<string>("--out") { Description = "output folder: best.onnx, pareto.csv, pareto.svg, search.json (and checkpoint.json while running)", Required = true };
        var defaults = new EvolutionSettings();
        var population = new Option<int>("--population") { Description = "subnets per generation", DefaultValueFactory = _ => defaults.Population }.AtLeast(2);
        var generations = new Option<int>("--generations") { Description = "generations after the first population", DefaultValueFactory = _ => defaults.Generations }.AtLeast(0);
        var parents = new Option<int>("--parents") { Description = "top-k subnets that parent each generation", DefaultValueFactory = _ => defaults.Parents }.AtLeast(1);
        var mutation = new Option<double>("--mutation") { Description = "probability of redrawing each block's heads, MLP ratio and rank ratio in a mutation", DefaultValueFactory = _ => defaults.MutationProbability }.Between(0, 1);
        var structureMutation = new Option<double>("--structure-mutation") { Description = "probability of redrawing patch size, embed dim and depth in a mutation", DefaultValueFactory = _ => defaults.StructureMutationProbability }.Between(0, 1);
        var seed = new Option<int>("--seed") { Description = "random seed (a rerun with the same seed resumes from checkpoint.json)", DefaultValueFactory = _ => 0 };
        var validationSamples = new Option<int?>("--val-samples") { Description = "validation images per subnet (default: 2000 of the space's validation split)" }.AtLeast(1);
        var testSamples = new Option<int>("--test-samples") { Description = "test images for the final top-1 of each method's best subnet", DefaultValueFactory = _ => 10000 }.AtLeast(1);
        var baselines = new Option<bool>("--baselines") { Description = "also run the baselines with as many feasible subnets: random search, and evolution with one rank ratio for every block" };
        var evolveSpace = new Option<bool>("--evolve-space") { Description = "first choose a (rank ratio, patch size) cell as MCUFormer's search-space evolution does, then evolve inside it" };
        var cellSamples = new Option<int>("--cell-samples") { Description = "feasible subnets sampled per cell with --evolve-space", DefaultValueFactory = _ => 8 }.AtLeast(1);
        var profile = new Option<string?>("--latency-profile") { Description = "calibrate the latency model from a `mcuformer simulate DIR --json` report" };
        var rankRatios = new Option<string>("--rank-ratios") { Description = "training-free path: rank ratios per block to choose from", DefaultValueFactory = _ => "0.25,0.375,0.5,1" };
        var patchSizes = new Option<string?>("--patch-sizes") { Description = "training-free path: patch sizes to choose from besides the model's own (e.g. 4,7)" };
        var jobs = new Option<int>("--jobs") { Description = "subnets measured at once", DefaultValueFactory = _ => Environment.ProcessorCount }.AtLeast(1);
        var seeds = new Option<int>("--seeds") { Description = "search that many times, seeds --seed, --seed + 1, …, each with the baselines in DIR/seed-S/, and compare the methods' best subnets over the seeds in DIR/summary.csv, summary.svg and summary.json", DefaultValueFactory = _ => 1 }.AtLeast(1);
        var json = new Option<bool>("--json") { Description = "print search.json (summary.json with --seeds) instead of tables" };
        var command = new Command("search", "hardware-aware NAS: evolutionary search of a weight-sharing supernet under RAM, flash and latency budgets")
        {
            supernet, space, board, data, ram, flash, latency, output, population, generations, parents, mutation, structureMutation, seed,
            validationSamples, testSamples, baselines, evolveSpace, cellSamples, profile, rankRatios, patchSizes, jobs, seeds, json,
        };
        command.SetAction(parse => Cli.Guard(() =>
        {
            var request = new SearchRequest(
                parse.GetValue(supernet) ?? ToolPaths.BundledSupernet, parse.GetValue(space),
                parse.GetValue(board)!, parse.GetValue(data)!, parse.GetValue(ram), parse.GetValue(flash), parse.GetValue(latency),
                parse.GetValue(output)!, new EvolutionSettings(parse.GetValue(population), parse.GetValue(generations), parse.GetValue(parents),
                    parse.GetValue(mutation), parse.GetValue(structureMutation), parse.GetValue(seed)),
                parse.GetValue(validationSamples), parse.GetValue(testSamples), parse.GetValue(baselines), parse.GetValue(evolveSpace),
                parse.GetValue(cellSamples), parse.GetValue(profile), parse.GetValue(jobs),
                ParseList(parse.GetValue(rankRatios)!, "--rank-ratios", double.Parse), ParseList(parse.GetValue(patchSizes) ?? "", "--patch-sizes", int.Parse));
            var progress = new Progress<string>(line => Cli.Status.MarkupLine(Markup.Escape(line)));
            if (parse.GetValue(seeds) is > 1 and var runs)
            {
                var summary = SeedStudy.Run(request, runs, progress);
                if (parse.GetValue(json)) Console.WriteLine(JsonSerializer.Serialize(summary, JsonFiles.Options));
                else Print(summary);
                return 0;
            }
            var report = Run(request, progress);
            if (parse.GetValue(json)) Console.WriteLine(JsonSerializer.Serialize(report, JsonFiles.Options));
            else Print(report);
            return 0;
        }));
        return command;
    }

    public sealed record SearchRequest(string Supernet, string? Space, string Board, string Data, long? RamBudgetBytes, long? FlashBudgetBytes,
        double? LatencyBudgetMs, string Output, EvolutionSettings Evolution, int? ValidationSamples, int TestSamples, bool Baselines,
        bool EvolveSpace, int CellSamples, string? LatencyProfile, int Jobs, double[] RankRatios, int[] PatchSizes)
    {
        /// <summary>A plain ONNX model is searched training-free; anything else is a supernet's weights.</summary>
        public bool TrainingFree => Supernet.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase);
    }

    public static SearchReport Run(SearchRequest request, IProgress<string>? progress = null)
    {
        var clock = Stopwatch.StartNew();
        OutputFolder.Require(request.Output);
        CheckSettings(request);
        using var outputLock = OutputLock.Acquire(request.Output);
        int validationCount = request.ValidationSamples ?? 2000;
        var (space, materializer, original) = LoadSpace(request, validationCount);
        var board = new BoardCatalog(ToolPaths.Boards).Get(request.Board);
        var budget = new SearchBudget(
            request.RamBudgetBytes ?? board.RamBytes,
            request.FlashBudgetBytes ?? board.FlashBytes,
            request.LatencyBudgetMs);
        var latency = request.LatencyProfile is { } p ? LatencyModel.Calibrate(p) : LatencyModel.Default;

        var validation = LoadValidation(space, request.Data);
        var test = LoadTest(space, request.Data, request.TestSamples);

        Directory.CreateDirectory(request.Output);
        progress?.Report("measuring the firmware's code size on the smallest and largest subnets");
        var code = MeasureCodeSize(materializer, space, board, request.Data);
        var costs = new DeploymentCostModel(board, code, latency);
        string fingerprint = Fingerprint(request, space, board, code, latency);
        var checkpoint = SearchCheckpoint.Open(Path.Combine(request.Output, "checkpoint.json"), fingerprint);
        if (checkpoint.Records.Count > 0) progress?.Report($"resuming: {checkpoint.Records.Count} subnets already measured in {checkpoint.Path}");

        using var evaluator = new SubnetEvaluator(materializer, costs, validation, budget, checkpoint, Math.Max(1, request.Jobs));
        var search = new EvolutionarySearch(evaluator, space, request.Evolution, progress);
        var options = new SearchOptions(request.Evolution, request.Baselines, request.EvolveSpace, request.CellSamples);
        var outcome = NasSearch.Run(search, space, options);
        var originalRecord = original is null ? null : evaluator.Evaluate([original])[0];
        if (outcome.Main.Best is null) throw NothingFits(space, evaluator, budget);
        var (best, built) = BuildBest(outcome.Main, materializer, board, request.Data, budget, progress);

        var methods = new[] { outcome.Main, outcome.Random, outcome.UniformRank }.OfType<MethodResult>().ToList();
        progress?.Report($"top-1 of each method's best subnet on {test.Count} test images");
        var testTop1 = methods.Select(m => m.Best!).DistinctBy(b => b.Key)
            .AsParallel().WithDegreeOfParallelism(Math.Max(1, request.Jobs))
            .Append(best).DistinctBy(b => b.Key)
            .Select(b => (b.Key, Top1: evaluator.Top1(b.Subnet, test)))
            .ToDictionary(x => x.Key, x => x.Top1);

        var records = evaluator.Records.OrderBy(r => r.Key, StringComparer.Ordinal).ToList();
        var front = ParetoFront.Of(records);
        double seconds = clock.Elapsed.TotalSeconds;
        // Every path search.json holds is relative to the output folder.
        string FromOutput(string path) => OutputJson.RelativePath(request.Output, path);
        var report = new SearchReport
        {
            Supernet = FromOutput(request.Supernet),
            Space = request.TrainingFree ? null : FromOutput(space.SourcePath),
            TrainingFree = request.TrainingFree,
            Original = originalRecord,
            Board = board.Name,
            Data = FromOutput(request.Data),
            Budget = budget,
            ArenaRegions = board.Layout.ArenaRegions,
            Options = options,
            Validation = space.Validation,
            TestSamples = test.Count,
            CodeSize = code,
            LatencyModel = latency.SourceRelativeTo(request.Output),
            Best = MethodBest.From(NasSearch.EvolutionMethod, best, testTop1),
            BestBuilt = built,
            Methods = methods.Select(m => new MethodSummary(m.Method, m.Subspace.ToString(), m.Measured.Count,
                MethodBest.From(m.Method, m.Best!, testTop1))).ToList(),
            SpaceCells = outcome.Cells,
            SubnetsMeasured = records.Count,
            SubnetsWithinBudget = records.Count(r => r.Fits),
            AccuracyRuns = evaluator.FreshAccuracyRuns,
            Seconds = Math.Round(seconds, 1),
            Cores = Environment.ProcessorCount,
            SubnetsPerMinute = evaluator.FreshAccuracyRuns > 0 ? Math.Round(evaluator.FreshAccuracyRuns / (seconds / 60), 1) : null,
            ParetoFront = front.Order(StringComparer.Ordinal).ToList(),
        };

        // Each file is replaced whole. search.json says that the run finished: it goes first and comes
        // back last, so it never stands beside the other files of an unfinished run.
        string Output(string name) => Path.Combine(request.Output, name);
        File.Delete(Output("search.json"));
        AtomicFile.Write(Output("best.onnx"), path => materializer.WriteOnnx(best.Subnet, path));
        AtomicFile.WriteAllText(Output("pareto.csv"), ParetoCsv(records, front, outcome));
        AtomicFile.WriteAllText(Output("pareto.svg"),
            ParetoChart.Svg(records, front, best.Key, $"{Path.GetFileName(request.Supernet)} on {board.Name}: RAM ≤ {budget.RamBytes / 1024} KB, flash ≤ {budget.FlashBytes / 1024} KB"));
        AtomicFile.WriteAllText(Output("search.json"), JsonSerializer.Serialize(report, JsonFiles.Options));
        return report;
    }

    /// <summary>What the options' own ranges (OptionRules) cannot say: how options relate, and the lists.</summary>
    private static void CheckSettings(SearchRequest request)
    {
        var e = request.Evolution;
        if (e.Parents > e.Population) throw new OptionException("--parents", $"must be at most the population ({e.Population}), not {e.Parents}");
        // Written so that NaN, which no comparison holds for, fails too.
        if (request.RankRatios.Length == 0 || !request.RankRatios.All(r => r > 0 && r <= 1))
            throw new OptionException("--rank-ratios", "needs ratios in (0, 1]");
        if (request.PatchSizes.Any(p => p < 1)) throw new OptionException("--patch-sizes", "needs positive patch sizes");
    }

    private static (SearchSpace Space, SupernetMaterializer Materializer, Subnet? Original) LoadSpace(SearchRequest request, int validationCount)
    {
        if (!request.TrainingFree)
        {
            string spacePath = request.Space ?? (request.Supernet == ToolPaths.BundledSupernet ? ToolPaths.BundledSupernetSpace
                : SearchSpace.FindBeside(request.Supernet)
                  ?? throw new SearchInputException(request.Supernet, "a supernet's weights need their search space: no space JSON beside them names them; pass --space SPACE.json"));
            var space = SearchSpace.Load(spacePath);
            space = space with { Validation = space.Validation with { Count = Math.Min(validationCount, space.Validation.Count) } };
            return (space, SupernetMaterializer.Load(space, request.Supernet), null);
        }
        if (request.Space is not null)
            throw new SearchInputException("--space", "applies to a supernet's .npz weights; a plain .onnx model is searched training-free (see --rank-ratios and --patch-sizes)");
        var graph = OnnxImporter.Import(request.Supernet);
        // No training split is known for a plain model: validate on the first test images and
        // report test figures on the ones after them.
        var (pretrained, materializer) = PretrainedSupernet.Build(graph, request.RankRatios, request.PatchSizes, new ValidationSplit("test", 0, validationCount));
        return (pretrained, materializer, PretrainedSupernet.Original(pretrained, graph));
    }

    private static DatasetSplit SplitOf(SearchSpace space) => space.Validation.Split switch
    {
        "train" => DatasetSplit.Train,
        "test" => DatasetSplit.Test,
        var other => throw new SearchInputException(space.SourcePath, $"validation split '{other}' is neither 'train' nor 'test'"),
    };

    private static Dataset LoadValidation(SearchSpace space, string data)
    {
        var v = space.Validation;
        var all = DatasetLoader.Load(data, space.SampleShape, SplitOf(space), v.Offset + v.Count);
        var validation = all.Slice(v.Offset, v.Count);
        if (validation.Count < v.Count)
            throw new DatasetException(data, $"the {v.Split} split has {all.Count} samples; the validation split needs {v.Offset + v.Count}");
        if (!validation.HasLabels) throw new DatasetException(data, "has no labels; the search needs labelled data");
        return validation;
    }

    /// <summary>Test images for the final figures, past the validation images when both come from the test split.</summary>
    private static Dataset LoadTest(SearchSpace space, string data, int count)
    {
        int skip = SplitOf(space) == DatasetSplit.Test ? space.Validation.Offset + space.Validation.Count : 0;
        var test = DatasetLoader.Load(data, space.SampleShape, DatasetSplit.Test, skip + count).Slice(skip, count);
        if (test.Count == 0) throw new DatasetException(data, $"the test split has no images past the {skip} used for validation");
        return test;
    }

    private static T[] ParseList<T>(string text, string option, Func<string, IFormatProvider, T> parse)
    {
        try
        {
            return [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(v => parse(v, CultureInfo.InvariantCulture))];
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            throw new OptionException(option, $"'{text}' is not a comma-separated list of numbers");
        }
    }

    /// <summary>
    /// Flash besides the model's constants, measured by building the smallest and the largest subnet's
    /// firmware (ELF flash bytes less constants) with compile's default embedded samples.
    /// </summary>
    private static CodeSize MeasureCodeSize(SupernetMaterializer materializer, SearchSpace space, BoardProfile board, string data)
    {
        if (!FirmwareBuilder.ArmToolchainInstalled) return CodeSize.Unmeasured(FirmwareBuilder.ArmInstallHint);
        using var scratch = new ScratchFolder("mcuformer-codesize-");
        var builds = new List<(string, long)>();
        foreach (var subnet in new[] { space.Smallest(), space.Largest() })
        {
            try
            {
                var report = BuildFirmware(materializer, subnet, scratch.Path, board, data);
                builds.Add((subnet.Key, report.FlashBytes - report.ConstantBytes));
            }
            catch (FirmwareDoesNotFitException) when (builds.Count > 0)
            {
                // The largest subnet may not fit the board at all; the smallest one's build still counts.
            }
        }
        return CodeSize.LargerOf(builds, board.Name);
    }

    /// <summary>
    /// The flash estimate takes the code size of two builds, but a subnet can link kernels in a way that
    /// neither did; so the chosen subnet's firmware is built and checked against the budgets, going down
    /// the ranking when a build does not fit. Without the ARM toolchain the estimate stands.
    /// </summary>
    private static (SubnetRecord Best, BuiltFirmware? Built) BuildBest(MethodResult main, SupernetMaterializer materializer, BoardProfile board, string data,
        SearchBudget budget, IProgress<string>? progress)
    {
        const int Attempts = 5;
        var ranked = main.Measured.OrderByDescending(r => r.Top1).ThenBy(r => r.Key, StringComparer.Ordinal).Take(Attempts).ToList();
        if (!FirmwareBuilder.ArmToolchainInstalled) return (ranked[0], null);
        using var scratch = new ScratchFolder("mcuformer-best-");
        foreach (var candidate in ranked)
        {
            progress?.Report($"building the firmware of {candidate.Key}");
            CompileReport report;
            try
            {
                report = BuildFirmware(materializer, candidate.Subnet, scratch.Path, board, data);
            }
            catch (FirmwareDoesNotFitException)
            {
                continue;
            }
            if (report.Fits && report.FlashBytes <= budget.FlashBytes && report.PeakRamBytes <= budget.RamBytes)
                return (candidate, new BuiltFirmware(candidate.Key, report.FlashBytes, report.PeakRamBytes, report.ArenaBytes));
            progress?.Report($"{candidate.Key} built to {report.FlashBytes} B flash and {report.PeakRamBytes} B RAM, over the budgets; next");
        }
        throw new FirmwareDoesNotFitException(
            $"none of the {ranked.Count} best subnets fits the budgets once built (RAM {budget.RamBytes} B, flash {budget.FlashBytes} B); lower --flash-budget or --ram-budget by a few KB for the estimate");
    }

    private static string Fingerprint(SearchRequest request, SearchSpace space, BoardProfile board, CodeSize code, LatencyModel latency)
    {
        static string Hash(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));
        string text = string.Join("\n", Hash(space.SourcePath), Hash(request.Supernet), board.Name,
            string.Join(",", request.RankRatios), string.Join(",", request.PatchSizes), JsonSerializer.Serialize(code, JsonFiles.Compact),
            latency.Source, string.Join(",", latency.PerMac.Concat(latency.PerByte).OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value:R}")),
            Path.GetFullPath(request.Data), JsonSerializer.Serialize(space.Validation, JsonFiles.Compact));
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
    }

    /// <summary>Writes a subnet's model into folder and compiles it for the board, for the size of its firmware.</summary>
    private static CompileReport BuildFirmware(SupernetMaterializer materializer, Subnet subnet, string folder, BoardProfile board, string data)
    {
        string model = Path.Combine(folder, subnet.Key + ".onnx");
        materializer.WriteOnnx(subnet, model);
        return Compilation.CompileForSize(model, board, data, Path.Combine(folder, subnet.Key));
    }

    private static FirmwareDoesNotFitException NothingFits(SearchSpace space, SubnetEvaluator evaluator, SearchBudget budget)
    {
        var smallest = evaluator.Evaluate([space.Smallest()])[0];
        return new FirmwareDoesNotFitException(
            $"{space.SourcePath}: no subnet meets the budgets (RAM {budget.RamBytes} B, flash {budget.FlashBytes} B" +
            (budget.LatencyMs is { } l ? $", latency {l} ms" : "") +
            $"); the smallest subnet {smallest.Key} needs RAM {smallest.Cost.RamBytes} B, flash {smallest.Cost.FlashBytes} B, {smallest.Cost.LatencyMs:F1} ms");
    }

    private static string ParetoCsv(IReadOnlyList<SubnetRecord> records, ISet<string> front, SearchOutcome outcome)
    {
        var methodsOf = new[] { outcome.Main, outcome.Random, outcome.UniformRank }.OfType<MethodResult>()
            .SelectMany(m => m.Measured.Select(r => (r.Key, m.Method)))
            .GroupBy(x => x.Key).ToDictionary(g => g.Key, g => string.Join("|", g.Select(x => x.Method).Distinct()));
        var csv = new StringBuilder("subnet,top1,arena_bytes,ram_bytes,flash_bytes,constant_bytes,latency_ms,params,macs,fits,pareto,methods\n");
        foreach (var r in records)
        {
            var c = r.Cost;
            csv.Append(CultureInfo.InvariantCulture, $"{r.Key},{(r.Top1 is { } t ? t.ToString("F4", CultureInfo.InvariantCulture) : "")},{c.ArenaBytes},{c.RamBytes},{c.FlashBytes},{c.ConstantBytes},")
               .Append(CultureInfo.InvariantCulture, $"{c.LatencyMs:F3},{c.Parameters},{c.Macs},{(r.Fits ? 1 : 0)},{(front.Contains(r.Key) ? 1 : 0)},{methodsOf.GetValueOrDefault(r.Key, "")}\n");
        }
        return csv.ToString();
    }

    private static void Print(SeedSummary summary)
    {
        var table = new Table().Title($"best subnets over seeds {string.Join(", ", summary.Seeds)} on {summary.Board}: RAM ≤ {summary.RamBudgetBytes:N0} B, flash ≤ {summary.FlashBudgetBytes:N0} B")
            .AddColumn("method").AddColumn(new TableColumn("test top-1").RightAligned()).AddColumn(new TableColumn("val top-1").RightAligned())
            .AddColumn(new TableColumn("vs random").RightAligned()).AddColumn("patch sizes");
        foreach (var m in summary.Methods)
            table.AddRow(Markup.Escape(m.Method), $"{100 * m.TestTop1Mean:F2} ± {100 * m.TestTop1Std:F2} %", $"{100 * m.ValidationTop1Mean:F2} %",
                m.VersusRandom is { } v ? $"{100 * v.MeanDifference:+0.00;-0.00} ± {100 * v.StandardError:F2} pp{(v.BeatsRandomByTwoStandardErrors ? " (> 2 SE)" : "")}" : "",
                string.Join(", ", m.Seeds.Select(s => s.PatchSize)));
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine("each seed's search in seed-S/; the table with each best subnet's rank ratios in summary.csv, summary.svg and summary.json");
    }

    private static void Print(SearchReport report)
    {
        var table = new Table().Title($"search on {report.Board}: RAM ≤ {report.Budget.RamBytes:N0} B, flash ≤ {report.Budget.FlashBytes:N0} B"
                + (report.Budget.LatencyMs is { } l ? $", latency ≤ {l} ms" : ""))
            .AddColumn("method").AddColumn(new TableColumn("measured").RightAligned())
            .AddColumn(new TableColumn("val top-1").RightAligned()).AddColumn(new TableColumn("test top-1").RightAligned())
            .AddColumn(new TableColumn("RAM B").RightAligned()).AddColumn(new TableColumn("flash B").RightAligned())
            .AddColumn(new TableColumn("latency ms").RightAligned());
        foreach (var m in report.Methods)
            table.AddRow(Markup.Escape(m.Method), m.Measured.ToString(), $"{100 * m.Best.ValidationTop1:F2} %",
                $"{100 * m.Best.TestTop1:F2} %", m.Best.Cost.RamBytes.ToString("N0"), m.Best.Cost.FlashBytes.ToString("N0"), m.Best.Cost.LatencyMs.ToString("F1"));
        AnsiConsole.Write(table);
        foreach (var m in report.Methods)
            AnsiConsole.MarkupLine($"best of {Markup.Escape(m.Method)}: {Markup.Escape(m.Best.Key)}");
        AnsiConsole.MarkupLine($"{report.SubnetsMeasured} subnets costed, {report.SubnetsWithinBudget} within budget, {report.AccuracyRuns} accuracy runs in {report.Seconds:F0} s " +
            $"on {report.Cores} cores: [bold]{report.SubnetsPerMinute?.ToString("F1") ?? "-"} subnets/min[/]");
        AnsiConsole.MarkupLine($"code size: {Markup.Escape(report.CodeSize.Source)}");
        AnsiConsole.MarkupLine($"best: {Markup.Escape(report.Best.Subnet.Key)} → best.onnx, pareto.csv, pareto.svg, search.json");
    }
}
