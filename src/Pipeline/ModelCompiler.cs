using System.Diagnostics;
using McuFormer.CodeGen;
using McuFormer.MemoryPlanner;
using McuFormer.Model.Ir;
using McuFormer.Model.Lowering;
using McuFormer.Model.Quantization;

namespace McuFormer.Pipeline;

/// <summary>
/// Quantizes a model, chooses its schedule and plans its memory: what `compile` deploys, what `analyze`
/// prints, what the search costs and what bench-plan measures all come from here.
/// </summary>
public static class ModelCompiler
{
    /// <summary>The one region of a plan made without a board.</summary>
    public const string UnboundedArena = "arena";

    /// <exception cref="ArgumentException">calibration was asked for a graph given without its ONNX file</exception>
    public static CompiledModel Compile(CompileRequest request)
    {
        var graph = request.Model.Graph;
        var model = request.Calibration is { } calibration
            ? Calibrator.Calibrate(request.Model.File ?? throw new ArgumentException("calibration runs the ONNX file: give the model with it", nameof(request)),
                graph, calibration.Samples, calibration.Method)
            : Quantizer.ForPlanning(graph);
        var limit = request.ExactTimeLimit;
        var clock = Stopwatch.StartNew();
        Func<Schedule, RegionPlan> plan;
        PlannedRun primary;
        if (request.Board is { } board)
        {
            var pools = MemoryPool.Of(board);
            plan = schedule => RegionPlanner.Plan(PlanningProblem.Of(schedule), pools, limit);
            primary = SchedulePlanner.Plan(model, request.Schedule, pools, limit);
        }
        else
        {
            plan = schedule =>
            {
                var problem = PlanningProblem.Of(schedule);
                return Unbounded(problem, ExactPlanner.Plan(problem, limit));
            };
            // Without RAM to fit there is nothing to trade bigger blocks against: the requested ones stay.
            var schedule = SchedulePlanner.Lower(model, request.Schedule);
            primary = new PlannedRun(schedule, plan(schedule));
        }
        var planningTime = clock.Elapsed;
        var streamedSchedule = KernelLowering.StreamedVariant(model, primary.Schedule);
        long constantBytes = ModelSource.ConstantBytesOf(new[] { primary.Schedule, streamedSchedule }.OfType<Schedule>());
        var weights = request.Board is { } target
            ? WeightPlacement.For(target, constantBytes, SampleBytes(graph, request.EmbeddedSamples))
            : null;
        return new CompiledModel(graph, model, primary, planningTime,
            () => streamedSchedule is null ? null : new PlannedRun(streamedSchedule, plan(streamedSchedule)), weights, constantBytes);
    }

    /// <summary>One arena that any peak fits: a single region has no placement to choose, so the exact planner's plan is the whole plan.</summary>
    private static RegionPlan Unbounded(PlanningProblem problem, MemoryPlan plan) =>
        new(problem, [new MemoryPool(UnboundedArena, long.MaxValue)], new Dictionary<string, MemoryPlan> { [UnboundedArena] = plan });

    /// <summary>Flash bytes of that many embedded samples: each input and its expected output, int8.</summary>
    private static long SampleBytes(ModelGraph graph, int samples) => (long)samples * (graph.Input.Buffer.ElementCount + graph.Output.ElementCount);
}
