using System.Text.Json;
using McuFormer.Compiler.Commands;
using McuFormer.Model.Boards;
using McuFormer.Model.Datasets;
using McuFormer.Model.Json;
using McuFormer.Model.Lowering;
using McuFormer.Model.Onnx;
using McuFormer.Model.Quantization;
using McuFormer.Pipeline;
using McuFormer.Pipeline.HostRuntime;
using McuFormer.CodeGen;

namespace McuFormer.Fuzz;

/// <summary>How a case ended. Passed and Rejected are what the tool promises; the rest are failures.</summary>
public enum Verdict
{
    /// <summary>The command succeeded.</summary>
    Passed,

    /// <summary>The command failed as the CLI reports bad input: exit code 2 or 3 and one line naming the file.</summary>
    Rejected,

    /// <summary>Any other exception: the CLI's "internal error", exit code 1.</summary>
    Crash,

    /// <summary>A rejection whose message is not one line naming the file.</summary>
    UnclearMessage,

    /// <summary>Still running when its time budget ran out.</summary>
    Hang,

    /// <summary>Out of memory, or more managed memory allocated than the budget allows.</summary>
    BlowUp,
}

public sealed record CaseResult(Verdict Verdict, string Detail)
{
    public TimeSpan Elapsed { get; init; }

    /// <summary>Managed bytes the case's thread allocated (freed or not).</summary>
    public long AllocatedBytes { get; init; }

    public bool IsFailure => Verdict is not (Verdict.Passed or Verdict.Rejected);
}

/// <summary>Runs one case's command in this process, as the CLI's command body would, under a time and a memory budget.</summary>
public static class CaseRunner
{
    private static readonly Lazy<BoardProfile> Board = new(() => new BoardCatalog(ToolPaths.Boards).Get(ToolPaths.DefaultBoard));

    public static CaseResult Run(CaseCommand command, string modelPath, string calibrationPath, TimeSpan budget, long allocationBudget)
    {
        Exception? failure = null;
        long allocated = 0;
        // A thread of its own, so that a case over budget can be left behind; its default (small) stack makes deep
        // recursion show up sooner than on the CLI's main thread.
        var thread = new Thread(() =>
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                Execute(command, modelPath, calibrationPath);
            }
            catch (Exception e)
            {
                failure = e;
            }
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        }) { IsBackground = true, Name = "fuzz case" };
        var clock = System.Diagnostics.Stopwatch.StartNew();
        thread.Start();
        if (!thread.Join(budget)) return new CaseResult(Verdict.Hang, $"still running after {budget.TotalSeconds:F0} s") { Elapsed = clock.Elapsed };
        return Classify(failure, allocated, allocationBudget, modelPath, calibrationPath) with { Elapsed = clock.Elapsed, AllocatedBytes = allocated };
    }

    private static CaseResult Classify(Exception? failure, long allocated, long allocationBudget, string modelPath, string calibrationPath)
    {
        if (failure is OutOfMemoryException) return new CaseResult(Verdict.BlowUp, failure.ToString());
        if (allocated > allocationBudget) return new CaseResult(Verdict.BlowUp, $"allocated {allocated >> 20} MiB, more than the {allocationBudget >> 20} MiB budget");
        if (failure is null) return new CaseResult(Verdict.Passed, "");
        if (Cli.Rejection(failure) is not { } rejection) return new CaseResult(Verdict.Crash, failure.ToString());
        var message = $"exit {rejection.ExitCode}: error: {rejection.Message}";
        bool clear = !rejection.Message.Contains('\n') && (rejection.Message.Contains(modelPath) || rejection.Message.Contains(calibrationPath));
        return new CaseResult(clear ? Verdict.Rejected : Verdict.UnclearMessage, message);
    }

    private static void Execute(CaseCommand command, string modelPath, string calibrationPath)
    {
        switch (command)
        {
            case CaseCommand.Analyze:
            case CaseCommand.AnalyzeForBoard:
                var graph = OnnxImporter.Import(modelPath);
                var plan = command == CaseCommand.AnalyzeForBoard ? PlanSummary.For(graph, Board.Value) : null;
                JsonSerializer.Serialize(AnalyzeCommand.Analyze(graph) with { Plan = plan }, JsonFiles.Options);
                break;
            case CaseCommand.Compile:
                Compile(modelPath, calibrationPath);
                break;
        }
    }

    /// <summary>What `compile` does before it writes the project and builds the firmware.</summary>
    private static void Compile(string modelPath, string calibrationPath)
    {
        var model = ImportedModel.Load(modelPath);
        var samples = DatasetLoader.Load(calibrationPath, model.Graph.Input.SampleShape, DatasetSplit.Train, 4);
        var request = new CompileRequest(model, Board.Value, new Calibration(samples, RangeMethod.MinMax), ScheduleOptions.Fused)
        {
            // The plan's quality does not matter here, only that planning ends.
            ExactTimeLimit = TimeSpan.FromSeconds(1),
        };
        var compiled = ModelCompiler.Compile(request);
        using (var host = new HostExecutor(compiled.Model, ScheduleOptions.Fused)) host.Run(samples.Sample(0));
        var (schedule, plan) = compiled.Primary;
        ModelSource.Generate(compiled.Model, schedule, plan, Board.Value.Name, compiled.Weights!.InputSection, compiled.Streamed);
    }
}
