using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using McuFormer.MemoryPlanner;
using McuFormer.Model.Json;
using McuFormer.Nas.Search;
using McuFormer.Pipeline.Output;

namespace McuFormer.Compiler.Commands;

/// <summary>One method's best subnet in one seed's search.</summary>
public sealed record SeedBest(
    int Seed,
    string Key,
    [property: JsonPropertyName("top1_validation")] double ValidationTop1,
    [property: JsonPropertyName("top1_test")] double TestTop1,
    long RamBytes,
    long FlashBytes,
    int PatchSize,
    double[] RankRatio);

/// <summary>
/// A method against random search over the same seeds: the per-seed differences of the best subnets' test top-1
/// (the searches of one seed measure equally many feasible subnets), their mean, sample standard deviation and
/// standard error; it beats random when the mean exceeds two standard errors.
/// </summary>
public sealed record RandomComparison(
    double MeanDifference,
    double StdDifference,
    double StandardError,
    bool BeatsRandomByTwoStandardErrors);

public sealed record MethodOverSeeds(
    string Method,
    [property: JsonPropertyName("top1_test_mean")] double TestTop1Mean,
    [property: JsonPropertyName("top1_test_std")] double TestTop1Std,
    [property: JsonPropertyName("top1_validation_mean")] double ValidationTop1Mean,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] RandomComparison? VersusRandom,
    IReadOnlyList<SeedBest> Seeds);

/// <summary>DIR/summary.json of `search --seeds K`; each seed's own search is in DIR/seed-S/.</summary>
public sealed record SeedSummary(
    string Board,
    long RamBudgetBytes,
    long FlashBudgetBytes,
    IReadOnlyList<int> Seeds,
    IReadOnlyList<MethodOverSeeds> Methods);

/// <summary>
/// `mcuformer search --seeds K`: the search and its baselines once per seed, each in DIR/seed-S/, and how each method's
/// best subnet does over the seeds: DIR/summary.csv (one row per method), DIR/summary.svg and DIR/summary.json.
/// </summary>
public static class SeedStudy
{
    public static SeedSummary Run(SearchCommand.SearchRequest request, int seeds, IProgress<string>? progress = null)
    {
        OutputFolder.Require(request.Output);
        Directory.CreateDirectory(request.Output);
        using var outputLock = OutputLock.Acquire(request.Output);
        var reports = new List<(int Seed, SearchReport Report)>();
        for (int i = 0; i < seeds; i++)
        {
            int seed = request.Evolution.Seed + i;
            progress?.Report($"seed {seed} ({i + 1} of {seeds})");
            var one = request with { Output = Path.Combine(request.Output, $"seed-{seed}"), Baselines = true, Evolution = request.Evolution with { Seed = seed } };
            reports.Add((seed, SearchCommand.Run(one, progress)));
        }
        var summary = Summarise(reports);
        string Output(string name) => Path.Combine(request.Output, name);
        File.Delete(Output("summary.json"));
        AtomicFile.WriteAllText(Output("summary.csv"), Csv(summary));
        AtomicFile.WriteAllText(Output("summary.svg"), Chart(summary));
        AtomicFile.WriteAllText(Output("summary.json"), JsonSerializer.Serialize(summary, JsonFiles.Options));
        return summary;
    }

    public static SeedSummary Summarise(IReadOnlyList<(int Seed, SearchReport Report)> reports)
    {
        var first = reports[0].Report;
        var methods = first.Methods.Select(m => m.Method).ToList();
        List<SeedBest> BestOf(string method) => reports.Select(r =>
        {
            var best = r.Report.Methods.Single(m => m.Method == method).Best;
            return new SeedBest(r.Seed, best.Key, best.ValidationTop1, best.TestTop1, best.Cost.RamBytes, best.Cost.FlashBytes,
                best.Subnet.PatchSize, best.Subnet.RankRatio);
        }).ToList();
        var random = methods.Contains(NasSearch.RandomMethod) ? BestOf(NasSearch.RandomMethod) : null;
        var overSeeds = methods.Select(method =>
        {
            var bests = BestOf(method);
            RandomComparison? versus = null;
            if (random is not null && method != NasSearch.RandomMethod && bests.Count > 1)
            {
                var differences = bests.Zip(random, (b, r) => b.TestTop1 - r.TestTop1).ToList();
                double mean = differences.Average(), std = SampleStd(differences), error = std / Math.Sqrt(differences.Count);
                versus = new RandomComparison(mean, std, error, mean > 2 * error);
            }
            return new MethodOverSeeds(method, bests.Average(b => b.TestTop1), SampleStd(bests.Select(b => b.TestTop1).ToList()),
                bests.Average(b => b.ValidationTop1), versus, bests);
        }).ToList();
        return new SeedSummary(first.Board, first.Budget.RamBytes, first.Budget.FlashBytes, reports.Select(r => r.Seed).ToList(), overSeeds);
    }

    /// <summary>The standard deviation with n − 1 in the denominator; 0 for one value.</summary>
    private static double SampleStd(IReadOnlyList<double> values)
    {
        if (values.Count < 2) return 0;
        double mean = values.Average();
        return Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1));
    }

    // A difference of exactly nothing is written 0, not -0.
    private static string F(double value) => (value == 0 ? 0 : value).ToString("0.######", CultureInfo.InvariantCulture);

    /// <summary>One row per method; per-seed values are joined with ';' in seed order, a subnet's rank ratios with '/'.</summary>
    public static string Csv(SeedSummary summary)
    {
        var csv = new StringBuilder("method,seeds,top1_test_mean,top1_test_std,top1_validation_mean,vs_random_mean,vs_random_standard_error," +
            "beats_random_by_2se,top1_test,patch_size,rank_ratio,ram_bytes,flash_bytes,subnet\n");
        foreach (var m in summary.Methods)
        {
            string Each<T>(Func<SeedBest, T> value, Func<T, string> text) => string.Join(";", m.Seeds.Select(s => text(value(s))));
            var versus = m.VersusRandom;
            csv.Append(string.Join(",",
                m.Method, m.Seeds.Count, F(m.TestTop1Mean), F(m.TestTop1Std), F(m.ValidationTop1Mean),
                versus is null ? "" : F(versus.MeanDifference), versus is null ? "" : F(versus.StandardError),
                versus is null ? "" : versus.BeatsRandomByTwoStandardErrors ? "1" : "0",
                Each(s => s.TestTop1, F), Each(s => s.PatchSize, p => p.ToString(CultureInfo.InvariantCulture)),
                Each(s => s.RankRatio, r => string.Join("/", r.Select(F))), Each(s => s.RamBytes, b => b.ToString(CultureInfo.InvariantCulture)),
                Each(s => s.FlashBytes, b => b.ToString(CultureInfo.InvariantCulture)), Each(s => s.Key, k => k)));
            csv.Append('\n');
        }
        return csv.ToString();
    }

    /// <summary>summary.svg: each method's best test top-1 per seed (dots) and its mean ± one standard deviation (bar and whisker).</summary>
    public static string Chart(SeedSummary summary)
    {
        const int Width = 640, Height = 420, Left = 70, Right = 20, Top = 50, Bottom = 70;
        var values = summary.Methods.SelectMany(m => m.Seeds.Select(s => s.TestTop1 * 100)
            .Append((m.TestTop1Mean + m.TestTop1Std) * 100).Append((m.TestTop1Mean - m.TestTop1Std) * 100)).ToList();
        double low = Math.Floor(values.Min() - 0.5), high = Math.Ceiling(values.Max() + 0.5);
        double Y(double percent) => Height - Bottom - (percent - low) / (high - low) * (Height - Top - Bottom);
        double slot = (double)(Width - Left - Right) / summary.Methods.Count;
        string P(double v) => v.ToString("0.#", CultureInfo.InvariantCulture);
        var svg = new StringBuilder();
        svg.AppendLine($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" font-family=\"sans-serif\" font-size=\"12\">");
        svg.AppendLine($"<rect width=\"{Width}\" height=\"{Height}\" fill=\"white\"/>");
        svg.AppendLine($"<text x=\"{Left}\" y=\"24\" font-size=\"15\">{SvgText.Escape($"best subnet's test top-1 over {summary.Seeds.Count} seeds on {summary.Board}: RAM ≤ {summary.RamBudgetBytes / 1024} KB, flash ≤ {summary.FlashBudgetBytes / 1024} KB")}</text>");
        svg.AppendLine($"<line x1=\"{Left}\" y1=\"{Height - Bottom}\" x2=\"{Width - Right}\" y2=\"{Height - Bottom}\" stroke=\"black\"/>");
        svg.AppendLine($"<line x1=\"{Left}\" y1=\"{Top}\" x2=\"{Left}\" y2=\"{Height - Bottom}\" stroke=\"black\"/>");
        for (int tick = 0; tick <= 5; tick++)
        {
            double percent = low + (high - low) * tick / 5;
            svg.AppendLine($"<text x=\"{Left - 8}\" y=\"{P(Y(percent) + 4)}\" text-anchor=\"end\">{P(percent)}</text>");
        }
        svg.AppendLine($"<text transform=\"translate(20 {(Top + Height - Bottom) / 2}) rotate(-90)\" text-anchor=\"middle\">test top-1 (%)</text>");
        for (int i = 0; i < summary.Methods.Count; i++)
        {
            var m = summary.Methods[i];
            double centre = Left + slot * (i + 0.5), mean = m.TestTop1Mean * 100, std = m.TestTop1Std * 100;
            svg.AppendLine($"<rect x=\"{P(centre - slot / 4)}\" y=\"{P(Y(mean))}\" width=\"{P(slot / 2)}\" height=\"{P(Height - Bottom - Y(mean))}\" fill=\"rgb(170,200,230)\"><title>{SvgText.Escape(m.Method)}: {mean:F2} ± {std:F2} %</title></rect>");
            svg.AppendLine($"<line x1=\"{P(centre)}\" y1=\"{P(Y(mean - std))}\" x2=\"{P(centre)}\" y2=\"{P(Y(mean + std))}\" stroke=\"black\" stroke-width=\"2\"/>");
            foreach (var s in m.Seeds)
                svg.AppendLine($"<circle cx=\"{P(centre)}\" cy=\"{P(Y(s.TestTop1 * 100))}\" r=\"4\" fill=\"rgb(40,60,120)\"><title>seed {s.Seed}: {SvgText.Escape(s.Key)}, {s.TestTop1 * 100:F2} %</title></circle>");
            svg.AppendLine($"<text x=\"{P(centre)}\" y=\"{Height - Bottom + 18}\" text-anchor=\"middle\">{SvgText.Escape(m.Method)}</text>");
            svg.AppendLine($"<text x=\"{P(centre)}\" y=\"{Height - Bottom + 34}\" text-anchor=\"middle\">{mean:F2} ± {std:F2} %</text>");
        }
        svg.AppendLine("</svg>");
        return svg.ToString();
    }
}
