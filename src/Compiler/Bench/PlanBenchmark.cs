using McuFormer.CodeGen.Tools;
using McuFormer.MemoryPlanner;
using McuFormer.Model.Ir;
using McuFormer.Model.Lowering;
using McuFormer.Model.Onnx;
using McuFormer.Pipeline;

namespace McuFormer.Compiler.Bench;

/// <summary>Arena bytes of one model under four memory strategies, for `mcuformer bench-plan`.</summary>
/// <param name="LowerBoundBytes">the lower bound of our schedule's placements (MemoryPlan.LowerBoundBytes)</param>
/// <param name="IndependentBoundBytes">the bytes any schedule keeps live with the image resident (ScheduleIndependentBound)</param>
/// <param name="BoundPhase">the phase that sets the independent bound</param>
/// <param name="StreamedPlannedBytes">our arena with the image read band by band (mcu_model_run_streamed); null without a streamed run</param>
/// <param name="StreamedIndependentBoundBytes">the bytes any schedule keeps live with the image streamed</param>
public sealed record PlanFigures(
    string Name,
    int Tokens,
    int Steps,
    long NoReuseBytes,
    long GreedyUnfusedBytes,
    long PlannedBytes,
    long LowerBoundBytes,
    long IndependentBoundBytes,
    string BoundPhase,
    long? StreamedPlannedBytes,
    long StreamedIndependentBoundBytes,
    string Schedule,
    string PlanMethod,
    double PlanMs,
    string PeakStep,
    IReadOnlyList<string> LiveAtPeak);

public static class PlanBenchmark
{
    public static PlanFigures Measure(string name, ModelGraph graph, TimeSpan exactTimeLimit)
    {
        // No board: the fused schedule planned in one arena, as the baselines below are.
        var compiled = ModelCompiler.Compile(new CompileRequest(ImportedModel.Of(graph), Board: null, Calibration: null, ScheduleOptions.Fused)
        {
            ExactTimeLimit = exactTimeLimit,
        });
        double ms = compiled.PlanningTime.TotalMilliseconds;
        var fused = compiled.Primary.Schedule;
        var plan = compiled.Primary.Plan.ByRegion[ModelCompiler.UnboundedArena];

        var unfused = KernelLowering.Lower(compiled.Model, ScheduleOptions.Unfused);
        long noReuse = unfused.Buffers.Sum(b => (long)b.Bytes);
        var greedy = GreedyPlanner.BySize(PlanningProblem.Of(unfused));
        var (peakStep, _) = plan.Problem.PeakStep();
        string stepName = fused.Describe(peakStep);
        int tokens = graph.Ops.OfType<LinearOp>().Select(l => l.Rows).DefaultIfEmpty(0).Max();
        var bound = ScheduleIndependentBound.Of(graph, inputResident: true);
        var streamed = compiled.Streamed;
        return new PlanFigures(name, tokens, fused.Steps.Count, noReuse, greedy.PeakBytes, plan.PeakBytes, plan.LowerBoundBytes,
            bound.Bytes, bound.Peak is { } peak ? $"{peak.Phase} {peak.Op}" : "none",
            streamed?.Plan.ByRegion[ModelCompiler.UnboundedArena].PeakBytes, ScheduleIndependentBound.Of(graph, inputResident: false).Bytes,
            fused.Options.Describe(), plan.Method, ms, stepName, plan.LiveAtPeak().Select(b => $"{b.Buffer.Name} ({b.Lifetime.Bytes} B)").ToList());
    }

    public static PlanFigures Measure(SyntheticVit vit, TimeSpan exactTimeLimit)
    {
        using var scratch = new ScratchFolder("mcuformer-bench-");
        var path = Path.Combine(scratch.Path, vit.Name + ".onnx");
        File.WriteAllBytes(path, Google.Protobuf.MessageExtensions.ToByteArray(vit.Build()));
        return Measure(vit.Name, OnnxImporter.Import(path), exactTimeLimit);
    }
}
