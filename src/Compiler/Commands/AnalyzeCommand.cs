using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Serialization;
using McuFormer.Model.Boards;
using McuFormer.Model.Ir;
using McuFormer.Model.Json;
using McuFormer.Model.Onnx;
using McuFormer.Pipeline;
using Spectre.Console;

namespace McuFormer.Compiler.Commands;

public static class AnalyzeCommand
{
    public sealed record LayerRow(
        string Name,
        string Op,
        int[] OutputShape,
        long Macs,
        long Params,
        long WeightBytes,
        long ActivationBytes);

    public sealed record Analysis(
        string Model,
        int[] InputShape,
        long Params,
        long Macs,
        long WeightBytes,
        long ActivationBytes,
        IReadOnlyList<LayerRow> Layers,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] PlanSummary? Plan = null);

    public static Analysis Analyze(ModelGraph graph)
    {
        var layers = graph.Ops.Select(o => new LayerRow(o.Name, o.Kind, o.Output.Shape, o.Macs, o.Parameters, o.ParameterBytes, o.Output.Bytes)).ToList();
        return new Analysis(graph.SourcePath, graph.Input.SourceShape, layers.Sum(l => l.Params), graph.Macs,
            layers.Sum(l => l.WeightBytes), graph.Buffers.Sum(b => (long)b.Bytes), layers);
    }

    public static Command Create()
    {
        var model = new Argument<string>("MODEL") { Description = "ONNX model" };
        var json = new Option<bool>("--json") { Description = "print one JSON object instead of a table" };
        var board = new Option<string?>("--board") { Description = "also plan the activation memory for this board (fused schedule) and print the plan summary" };
        var command = new Command("analyze", "per-layer operators, shapes, MACs and bytes of a model") { model, json, board };
        command.SetAction(parse => Cli.Guard(() =>
        {
            var graph = OnnxImporter.Import(parse.GetValue(model)!);
            var analysis = Analyze(graph);
            var plan = parse.GetValue(board) is { } boardName ? PlanSummary.For(graph, new BoardCatalog(ToolPaths.Boards).Get(boardName)) : null;
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(analysis with { Plan = plan }, JsonFiles.Options));
                return 0;
            }
            var table = new Table().Title(Markup.Escape(analysis.Model)).AddColumn("layer").AddColumn("op").AddColumn("output")
                .AddColumn(new TableColumn("MACs").RightAligned()).AddColumn(new TableColumn("weight B").RightAligned())
                .AddColumn(new TableColumn("activation B").RightAligned());
            foreach (var l in analysis.Layers)
                table.AddRow(Markup.Escape(l.Name), l.Op, Markup.Escape(Shapes.Format(l.OutputShape)), l.Macs.ToString("N0"), l.WeightBytes.ToString("N0"), l.ActivationBytes.ToString("N0"));
            table.AddRow("[bold]total[/]", "", $"{analysis.Params:N0} params", analysis.Macs.ToString("N0"), analysis.WeightBytes.ToString("N0"), analysis.ActivationBytes.ToString("N0"));
            AnsiConsole.Write(table);
            if (plan is not null) PlanSummary.Print(plan);
            return 0;
        }));
        return command;
    }
}
