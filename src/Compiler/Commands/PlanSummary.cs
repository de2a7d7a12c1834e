using System.Text.Json.Serialization;
using McuFormer.MemoryPlanner;
using McuFormer.Model.Boards;
using McuFormer.Model.Ir;
using McuFormer.Model.Lowering;
using McuFormer.Model.Quantization;
using Spectre.Console;

namespace McuFormer.Compiler.Commands;

/// <summary>The activation plan of a model for a board, without calibration or building.</summary>
public sealed record PlanSummary(
    [property: JsonPropertyName("board")] string Board,
    [property: JsonPropertyName("method")] string Method,
    [property: JsonPropertyName("steps")] int Steps,
    [property: JsonPropertyName("arena_bytes")] int ArenaBytes,
    [property: JsonPropertyName("lower_bound_bytes")] int LowerBoundBytes,
    [property: JsonPropertyName("unfused_arena_bytes")] int UnfusedArenaBytes,
    [property: JsonPropertyName("arena_region")] string ArenaRegion,
    [property: JsonPropertyName("arena_region_bytes")] long ArenaRegionBytes,
    [property: JsonPropertyName("fits")] bool Fits,
    [property: JsonPropertyName("peak_step")] string PeakStep,
    [property: JsonPropertyName("live_at_peak")] IReadOnlyList<string> LiveAtPeak)
{
    /// <summary>The plan `compile` would make for this board (the same choice of schedule).</summary>
    public static PlanSummary For(ModelGraph graph, BoardProfile board)
    {
        var model = Quantizer.ForPlanning(graph);
        var region = board.RamRegion(board.Layout.ArenaRegion);
        var (schedule, plan) = SchedulePlanner.Plan(model, ScheduleOptions.Fused, region.Size, TimeSpan.FromSeconds(5));
        var unfused = GreedyPlanner.Plan(PlanningProblem.Of(KernelLowering.Lower(model, ScheduleOptions.Unfused)));
        var (step, _) = plan.Problem.PeakStep();
        return new PlanSummary(board.Name, plan.Method, schedule.Steps.Count, plan.PeakBytes, plan.LowerBoundBytes, unfused.PeakBytes,
            region.Name, region.Size, plan.PeakBytes <= region.Size, schedule.Describe(step),
            plan.LiveAtPeak().Select(b => $"{b.Buffer.Name} ({b.Lifetime.Bytes} B)").ToList());
    }

    public static void Print(PlanSummary p)
    {
        var table = new Table().Title($"activation plan for {p.Board}").AddColumn("").AddColumn(new TableColumn("value").RightAligned());
        table.AddRow("arena (fused, in place)", $"{p.ArenaBytes:N0} B");
        table.AddRow("lower bound / gap", $"{p.LowerBoundBytes:N0} B / {(p.LowerBoundBytes > 0 ? 100.0 * (p.ArenaBytes - p.LowerBoundBytes) / p.LowerBoundBytes : 0):F1} %");
        table.AddRow("unfused, greedy", $"{p.UnfusedArenaBytes:N0} B");
        table.AddRow($"fits {Markup.Escape(p.ArenaRegion)} ({p.ArenaRegionBytes:N0} B)", p.Fits ? "[green]yes[/]" : "[red]no[/]");
        table.AddRow("peak at step", Markup.Escape(p.PeakStep));
        table.AddRow("live at peak", Markup.Escape(string.Join(", ", p.LiveAtPeak)));
        AnsiConsole.Write(table);
    }
}
