using McuFormer.MemoryPlanner;
using McuFormer.Model.Boards;
using McuFormer.Model.Ir;
using McuFormer.Model.Lowering;
using McuFormer.Pipeline;
using Spectre.Console;

namespace McuFormer.Compiler.Commands;

/// <summary>The activation plan of a model for a board, without calibration or building.</summary>
public sealed record PlanSummary(
    string Board,
    string Method,
    int Steps,
    string Schedule,
    int ArenaBytes,
    int LowerBoundBytes,
    int UnfusedArenaBytes,
    IReadOnlyList<PlannedRegionRow> Regions,
    PlannedWeightsRow Weights,
    bool Fits,
    string PeakStep,
    IReadOnlyList<string> LiveAtPeak)
{
    /// <summary>The plan `compile` would make for this board (the same choice of schedule).</summary>
    public static PlanSummary For(ModelGraph graph, BoardProfile board)
    {
        var compiled = ModelCompiler.Compile(new CompileRequest(ImportedModel.Of(graph), board, Calibration: null, ScheduleOptions.Fused));
        var (schedule, plan) = compiled.Primary;
        var unfused = GreedyPlanner.Plan(PlanningProblem.Of(KernelLowering.Lower(compiled.Model, ScheduleOptions.Unfused)));
        var document = PlanDocument.From(plan, compiled.Weights!); // placed, since a board was given
        var (step, live) = plan.Peak();
        return new PlanSummary(board.Name, plan.Method, schedule.Steps.Count, schedule.Options.Describe(), plan.TotalPeakBytes, plan.LowerBoundBytes,
            unfused.PeakBytes, document.Regions, document.Weights, plan.Fits && document.Weights.Bytes <= document.Weights.BudgetBytes, schedule.Describe(step),
            live.Select(b => $"{b.Placed.Buffer.Name} ({b.Placed.Lifetime.Bytes} B, {b.Region})").ToList());
    }

    public static void Print(PlanSummary p)
    {
        var table = new Table().Title($"activation plan for {p.Board}").AddColumn("").AddColumn(new TableColumn("value").RightAligned());
        table.AddRow("schedule", Markup.Escape(p.Schedule));
        table.AddRow("arenas (fused, in place), all regions", $"{p.ArenaBytes:N0} B");
        table.AddRow("lower bound / gap", $"{p.LowerBoundBytes:N0} B / {(p.LowerBoundBytes > 0 ? 100.0 * (p.ArenaBytes - p.LowerBoundBytes) / p.LowerBoundBytes : 0):F1} %");
        table.AddRow("unfused, greedy, one region", $"{p.UnfusedArenaBytes:N0} B");
        var w = p.Weights;
        table.AddRow($"model constants in {Markup.Escape(w.Region)}{(w.Section is null ? "" : $" ({Markup.Escape(w.Section)})")}",
            $"{w.Bytes:N0} B of {w.BudgetBytes:N0} B{(w.Bytes > w.BudgetBytes ? $" [red](over by {w.Bytes - w.BudgetBytes:N0} B)[/]" : "")}");
        table.AddRow("fits", p.Fits ? "[green]yes[/]" : "[red]no[/]");
        table.AddRow("peak at step", Markup.Escape(p.PeakStep));
        table.AddRow("live at peak", Markup.Escape(string.Join(", ", p.LiveAtPeak)));
        AnsiConsole.Write(table);
        var regions = new Table().Title("by region (fastest first)").AddColumn("region").AddColumn(new TableColumn("buffers").RightAligned())
            .AddColumn(new TableColumn("arena B").RightAligned()).AddColumn(new TableColumn("lower bound B").RightAligned())
            .AddColumn(new TableColumn("for activations B").RightAligned()).AddColumn(new TableColumn("use").RightAligned()).AddColumn("planner");
        foreach (var r in p.Regions)
            regions.AddRow(Markup.Escape(r.Name), r.Buffers.ToString("N0"), r.PeakBytes.ToString("N0"), r.LowerBoundBytes.ToString("N0"),
                r.CapacityBytes.ToString("N0"), r.PeakBytes > r.CapacityBytes ? $"[red]over by {r.PeakBytes - r.CapacityBytes:N0} B[/]" : $"{100.0 * r.PeakBytes / Math.Max(1, r.CapacityBytes):F1} %",
                Markup.Escape(r.Method ?? "-"));
        AnsiConsole.Write(regions);
    }
}
