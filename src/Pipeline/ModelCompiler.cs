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
        var model = Quantize(request);
        var pools = request.Board is { } board ? MemoryPool.Of(board) : null;
        var limit = request.ExactTimeLimit;
        PlannedRun Planned(Schedule schedule)
        {
            var problem = PlanningProblem.Of(schedule);
            return new PlannedRun(schedule, pools is null ? InOneArena(problem, limit)
                : schedule.Options.LeastMemory ? RegionPlanner.PlanLeastTotal(problem, pools, limit) : RegionPlanner.Plan(problem, pools, limit));
        }

        var clock = Stopwatch.StartNew();
        // Without RAM to fit there is nothing to trade bigger blocks against: the requested ones stay.
        var primary = pools is null ? Planned(SchedulePlanner.Lower(model, request.Schedule)) : SchedulePlanner.Plan(model, request.Schedule, pools, limit);
        var planningTime = clock.Elapsed;
        // The streamed entry point reads the image band by band to need less RAM: under --least-ram it keeps the
        // smallest blocks, which the resident run may have grown beside its image.
        var streamed = KernelLowering.StreamedVariant(model, primary.Schedule,
            request.Schedule.LeastMemory && pools is not null ? SchedulePlanner.Lower(model, request.Schedule).Options : null);
        long constantBytes = ModelSource.ConstantBytesOf(new[] { primary.Schedule, streamed }.OfType<Schedule>());
        var weights = request.Board is { } target ? WeightPlacement.For(target, constantBytes, SampleBytes(model.Graph, request.EmbeddedSamples)) : null;
        return new CompiledModel(model, primary, planningTime, () => streamed is null ? null : Planned(streamed), weights, constantBytes);
    }

    private static QuantizedModel Quantize(CompileRequest request)
    {
        var (graph, file) = request.Model;
        if (request.Calibration is not { } calibration) return Quantizer.ForPlanning(graph);
        if (file is null) throw new ArgumentException("calibration runs the ONNX file: give the model with it", nameof(request));
        return Calibrator.Calibrate(file, graph, calibration.Samples, calibration.Method);
    }

    /// <summary>One arena that any peak fits: a single region has no placement to choose, so the exact planner's plan is the whole plan.</summary>
    private static RegionPlan InOneArena(PlanningProblem problem, TimeSpan limit) =>
        new(problem, [new MemoryPool(UnboundedArena, long.MaxValue)],
            new Dictionary<string, MemoryPlan> { [UnboundedArena] = ExactPlanner.Plan(problem, limit) });

    /// <summary>Flash bytes of that many embedded samples: each input and its expected output, int8.</summary>
    private static long SampleBytes(ModelGraph graph, int samples) => (long)samples * (graph.Input.Buffer.ElementCount + graph.Output.ElementCount);
}
