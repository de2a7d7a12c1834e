using System.CommandLine;
using System.Text.Json;
using McuFormer.Compiler.Bench;
using McuFormer.Model.Json;
using McuFormer.Model.Onnx;
using McuFormer.Pipeline;
using Spectre.Console;

namespace McuFormer.Compiler.Commands;

public static class BenchPlanCommand
{
    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "print one JSON object instead of a table" };
        var seconds = new Option<double>("--exact-seconds") { Description = "time limit of the exact (CP-SAT) solve per model", DefaultValueFactory = _ => 10 }.Positive(maximum: 86_400);
        var command = new Command("bench-plan", "activation memory of the fixture and a DeiT-tiny-like 240/P16 model: no reuse, greedy unfused, ours, lower bound")
        {
            json, seconds,
        };
        command.SetAction(parse => Cli.Guard(() =>
        {
            var limit = TimeSpan.FromSeconds(parse.GetValue(seconds));
            var models = new List<PlanFigures>
            {
                PlanBenchmark.Measure("vit_fmnist (fixture)", OnnxImporter.Import(ToolPaths.BundledModel), limit),
                PlanBenchmark.Measure(SyntheticVit.DeitTiny240, limit),
            };
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new { models }, JsonFiles.Options));
                return 0;
            }
            static string Ratio(long? planned, long bound) => planned is { } p && bound > 0 ? $"{(double)p / bound:F3}" : "-";
            var table = new Table().Title("activation memory (bytes)").AddColumn("model").AddColumn(new TableColumn("no reuse").RightAligned())
                .AddColumn(new TableColumn("greedy, unfused").RightAligned()).AddColumn(new TableColumn("ours").RightAligned())
                .AddColumn(new TableColumn("lower bound").RightAligned()).AddColumn(new TableColumn("ours / bound").RightAligned())
                .AddColumn(new TableColumn("any schedule's bound").RightAligned()).AddColumn(new TableColumn("ours / any").RightAligned())
                .AddColumn(new TableColumn("ours / greedy").RightAligned()).AddColumn(new TableColumn("plan ms").RightAligned());
            foreach (var m in models)
                table.AddRow(Markup.Escape(m.Name), m.NoReuseBytes.ToString("N0"), m.GreedyUnfusedBytes.ToString("N0"), m.PlannedBytes.ToString("N0"),
                    m.LowerBoundBytes.ToString("N0"), Ratio(m.PlannedBytes, m.LowerBoundBytes), m.IndependentBoundBytes.ToString("N0"),
                    Ratio(m.PlannedBytes, m.IndependentBoundBytes), Ratio(m.PlannedBytes, m.GreedyUnfusedBytes), m.PlanMs.ToString("F0"));
            AnsiConsole.Write(table);
            foreach (var m in models)
            {
                AnsiConsole.MarkupLine($"{Markup.Escape(m.Name)}: {Markup.Escape(m.Schedule)}; peak at step {Markup.Escape(m.PeakStep)} ({m.PlanMethod}); " +
                    $"live: {Markup.Escape(string.Join(", ", m.LiveAtPeak))}; any schedule's bound set by {Markup.Escape(m.BoundPhase)}");
                AnsiConsole.MarkupLine(m.StreamedPlannedBytes is { } streamed
                    ? $"  image streamed band by band: ours {streamed:N0}, any schedule's bound {m.StreamedIndependentBoundBytes:N0}, ours / any {Ratio(streamed, m.StreamedIndependentBoundBytes)}"
                    : "  no streamed run (the image is not read by a patch embedding alone)");
            }
            return 0;
        }));
        return command;
    }
}
