using System.Collections.Concurrent;
using System.Text.Json.Serialization;
using McuFormer.CodeGen.Tools;
using McuFormer.Model.Datasets;
using McuFormer.Model.Onnx;
using McuFormer.Nas.Evaluation;
using McuFormer.Nas.Materialize;
using McuFormer.Nas.Space;

namespace McuFormer.Nas.Search;

/// <summary>Budgets a subnet must meet; <see cref="LatencyMs"/> is optional.</summary>
public sealed record SearchBudget(
    long RamBytes,
    long FlashBytes,
    double? LatencyMs);

/// <summary>One measured subnet: its cost always, its validation top-1 when it met the budgets.</summary>
public sealed record SubnetRecord(
    Subnet Subnet,
    DeploymentCost Cost,
    bool Fits,
    double? Top1)
{
    [JsonIgnore] public string Key => Subnet.Key;
}

/// <summary>
/// Measures subnets, several at once: materialise from the supernet, write ONNX, cost it as
/// `compile` would, and (when it fits the budgets) run it with ONNX Runtime on the validation
/// data. Every result is kept in the checkpoint, so a rerun of the same search replays it.
/// </summary>
public sealed class SubnetEvaluator(SupernetMaterializer materializer, DeploymentCostModel costs, Dataset validation, SearchBudget budget,
    SearchCheckpoint checkpoint, int parallelism) : IDisposable
{
    private readonly ScratchFolder _scratch = new("mcuformer-search-");

    // Budgets may differ from the run that wrote the checkpoint: re-judge every cost, and forget
    // subnets that now fit but were never run for accuracy so that they are measured again.
    private readonly ConcurrentDictionary<string, SubnetRecord> _records = new(checkpoint.Records
        .Select(r => r with { Fits = Fits(r.Cost, budget) }).Where(r => !r.Fits || r.Top1 is not null).ToDictionary(r => r.Key));

    public SearchBudget Budget { get; } = budget;
    /// <summary>Subnets whose accuracy was measured in this process (not replayed from the checkpoint).</summary>
    public int FreshAccuracyRuns => _freshAccuracyRuns;
    public IReadOnlyCollection<SubnetRecord> Records => (IReadOnlyCollection<SubnetRecord>)_records.Values;

    private int _freshAccuracyRuns;

    public bool Fits(DeploymentCost cost) => Fits(cost, Budget);

    private static bool Fits(DeploymentCost cost, SearchBudget budget) =>
        cost.ArenaFitsBoard && cost.RamBytes <= budget.RamBytes && cost.FlashBytes <= budget.FlashBytes
        && (budget.LatencyMs is not { } latency || cost.LatencyMs <= latency);

    /// <summary>Measures every subnet (in parallel), returning their records in the given order.</summary>
    public IReadOnlyList<SubnetRecord> Evaluate(IReadOnlyList<Subnet> subnets)
    {
        var results = new SubnetRecord[subnets.Count];
        Parallel.For(0, subnets.Count, new ParallelOptions { MaxDegreeOfParallelism = parallelism },
            i => results[i] = _records.GetOrAdd(subnets[i].Key, _ => Measure(subnets[i])));
        checkpoint.Save(_records.Values);
        return results;
    }

    /// <summary>Top-1 of a subnet on other data (the test split), outside the measurements the search keeps.</summary>
    public double Top1(Subnet subnet, Dataset data)
    {
        string path = Path.Combine(_scratch.Path, $"{subnet.Key}.{Guid.NewGuid():N}.onnx");
        try
        {
            materializer.WriteOnnx(subnet, path);
            return AccuracyEvaluator.Top1(path, data);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private SubnetRecord Measure(Subnet subnet)
    {
        string path = Path.Combine(_scratch.Path, subnet.Key + ".onnx");
        materializer.WriteOnnx(subnet, path);
        try
        {
            var cost = costs.Measure(OnnxImporter.Import(path));
            if (!Fits(cost)) return new SubnetRecord(subnet, cost, false, null);
            double top1 = AccuracyEvaluator.Top1(path, validation);
            Interlocked.Increment(ref _freshAccuracyRuns);
            return new SubnetRecord(subnet, cost, true, top1);
        }
        finally
        {
            File.Delete(path);
        }
    }

    public void Dispose() => _scratch.Dispose();
}
