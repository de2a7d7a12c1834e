using System.Diagnostics;

namespace McuFormer.Fuzz;

/// <summary>What a fuzz run does.</summary>
public sealed record FuzzSettings
{
    /// <summary>The repository's models/ (vit_fmnist.onnx, variants/, zoo/).</summary>
    public required string ModelsFolder { get; init; }

    public int Cases { get; init; } = 1000;
    public int Seed { get; init; } = 1;

    /// <summary>The index of the first case; with Cases = 1, reruns one case of a seed.</summary>
    public int FirstCase { get; init; }

    /// <summary>Where failing cases are kept; null for a new temporary folder, removed when nothing failed.</summary>
    public string? OutputFolder { get; init; }

    /// <summary>The time one analyze case may take; a compile case may take three times as long.</summary>
    public TimeSpan Budget { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Print every case's outcome, not only the failures.</summary>
    public bool Verbose { get; init; }

    /// <summary>
    /// The managed bytes one case may allocate, freed or not. The largest cases that pass allocate a few hundred
    /// MiB; the fuzzer's own process also caps its heap at 4 GiB (McuFormer.Fuzz.csproj).
    /// </summary>
    public long AllocationBudget { get; init; } = 1L << 30;
}

public sealed record FuzzSummary(int Cases, int Passed, int Rejected, int Crashes, int UnclearMessages, int Hangs, int BlowUps, double Seconds,
    string OutputFolder, IReadOnlyList<string> FailureReports)
{
    public int Failures => Crashes + UnclearMessages + Hangs + BlowUps;

    public override string ToString() =>
        $"cases {Cases}, passed {Passed}, rejected cleanly {Rejected}, crashes {Crashes}, unclear messages {UnclearMessages}, "
        + $"hangs {Hangs}, blow-ups {BlowUps}, {Seconds:F0} s" + (Failures > 0 ? $"; reproducers in {OutputFolder}" : "");
}

/// <summary>
/// Mutates the committed models and runs analyze or compile on each mutant in this process. Case i of a seed is
/// the same on every run: its random generator is seeded from (seed, i). A failing case's folder is kept under
/// OUT/failures/ with case.txt (command, mutations, what happened); the case running when the process dies is
/// left in OUT/current/.
/// </summary>
public static class Fuzzer
{
    /// <summary>Shares of the cases that analyze with --board and that compile; the rest analyze.</summary>
    private const double BoardShare = 0.15, CompileShare = 0.08;

    public static FuzzSummary Run(FuzzSettings settings, TextWriter log)
    {
        var seeds = SeedModel.LoadAll(settings.ModelsFolder);
        var output = Path.GetFullPath(settings.OutputFolder ?? Path.Combine(Path.GetTempPath(), $"mcuformer-fuzz-{settings.Seed}-{Environment.ProcessId}"));
        var current = Path.Combine(output, "current");
        var counts = new Dictionary<Verdict, int>();
        var reports = new List<string>();
        var clock = Stopwatch.StartNew();
        for (int index = settings.FirstCase; index < settings.FirstCase + settings.Cases; index++)
        {
            var random = new Random(unchecked(settings.Seed * 1_000_003 + index));
            var fuzzCase = Build(seeds, random);
            if (Directory.Exists(current)) Directory.Delete(current, recursive: true);
            var modelPath = fuzzCase.Write(current, random);
            var command = Describe(fuzzCase, modelPath);
            File.WriteAllText(Path.Combine(output, "current.txt"), $"seed {settings.Seed} case {index}: {command}\n");
            var budget = fuzzCase.Command == CaseCommand.Compile ? 3 * settings.Budget : settings.Budget;
            var result = CaseRunner.Run(fuzzCase.Command, modelPath, Path.Combine(current, FuzzCase.CalibrationFile), budget, settings.AllocationBudget);
            counts[result.Verdict] = counts.GetValueOrDefault(result.Verdict) + 1;
            if (settings.Verbose || result.IsFailure)
                log.WriteLine($"case {index} {result.Verdict} in {result.Elapsed.TotalSeconds:F1} s, {result.AllocatedBytes >> 20} MiB: "
                    + $"{string.Join(", ", fuzzCase.Mutations)} on {fuzzCase.Seed.FileName} ({fuzzCase.Command}): {result.Detail.Split('\n')[0]}");
            if (result.IsFailure)
            {
                var kept = Path.Combine(output, "failures", $"{index}-{result.Verdict.ToString().ToLowerInvariant()}");
                if (Directory.Exists(kept)) Directory.Delete(kept, recursive: true);
                Directory.CreateDirectory(Path.GetDirectoryName(kept)!);
                // Moved, not copied: links and pipes stay what they were. A hung case may still read them.
                Directory.Move(current, kept);
                var report = $"seed {settings.Seed} case {index}: {result.Verdict}\n{command.Replace(current, kept)}\n{result.Detail}\n";
                File.WriteAllText(Path.Combine(kept, "case.txt"), report);
                reports.Add(report);
            }
            if ((index - settings.FirstCase + 1) % 500 == 0) log.WriteLine($"{index - settings.FirstCase + 1} cases, {clock.Elapsed.TotalSeconds:F0} s");
        }
        if (Directory.Exists(current)) Directory.Delete(current, recursive: true);
        File.Delete(Path.Combine(output, "current.txt"));
        int Count(Verdict v) => counts.GetValueOrDefault(v);
        var summary = new FuzzSummary(settings.Cases, Count(Verdict.Passed), Count(Verdict.Rejected), Count(Verdict.Crash), Count(Verdict.UnclearMessage),
            Count(Verdict.Hang), Count(Verdict.BlowUp), clock.Elapsed.TotalSeconds, output, reports);
        if (summary.Failures == 0 && settings.OutputFolder is null) Directory.Delete(output, recursive: true);
        return summary;
    }

    /// <summary>A seed model with one to three mutations, at most one of them on the file's bytes, and a command to run.</summary>
    private static FuzzCase Build(IReadOnlyList<SeedModel> seeds, Random random)
    {
        var fuzzCase = new FuzzCase(random.Pick(seeds));
        double draw = random.NextDouble();
        fuzzCase.Command = draw < CompileShare ? CaseCommand.Compile : draw < CompileShare + BoardShare ? CaseCommand.AnalyzeForBoard : CaseCommand.Analyze;
        int count = random.Next(10) switch { < 7 => 1, < 9 => 2, _ => 3 };
        for (int i = 0; i < count; i++)
        {
            var mutation = Mutations.Draw(random);
            if (fuzzCase.ByteMutations.Count > 0 && mutation.Name is "flip-bytes" or "truncate") continue;
            mutation.Apply(fuzzCase, random);
            fuzzCase.Mutations.Add(mutation.Name);
        }
        return fuzzCase;
    }

    /// <summary>The command line that reproduces the case, and what was done to the model.</summary>
    private static string Describe(FuzzCase fuzzCase, string modelPath)
    {
        var command = fuzzCase.Command switch
        {
            CaseCommand.Analyze => $"./mcuformer analyze '{modelPath}' --json",
            CaseCommand.AnalyzeForBoard => $"./mcuformer analyze '{modelPath}' --board stm32f746g-disco --json",
            _ => $"./mcuformer compile '{modelPath}' --calib '{Path.Combine(Path.GetDirectoryName(modelPath)!, FuzzCase.CalibrationFile)}' --calib-samples 4 --emit none",
        };
        return $"{command}\n{fuzzCase.Seed.FileName} with {string.Join(", ", fuzzCase.Mutations)}";
    }
}
