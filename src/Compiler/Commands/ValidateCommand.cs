using System.CommandLine;
using System.Text.Json;
using McuFormer.Compiler.Validation;
using McuFormer.Model.Json;
using McuFormer.Model.Quantization;
using McuFormer.Pipeline;
using Spectre.Console;

namespace McuFormer.Compiler.Commands;

public static class ValidateCommand
{
    public static Command Create()
    {
        var model = new Argument<string>("MODEL") { Description = "ONNX model (batch 1, static shapes)" };
        var data = new Option<string>("--data") { Description = "evaluation data: IDX file or folder, .npy, or an image folder with one subfolder per class", Required = true };
        var limit = new Option<int?>("--limit") { Description = "evaluate at most this many samples" }.AtLeast(1);
        var calib = new Option<string?>("--calib") { Description = "calibration data (default: the training split of --data when it has one, else --data)" };
        var calibSamples = new Option<int>("--calib-samples") { Description = "calibration samples", DefaultValueFactory = _ => 512 }.AtLeast(1);
        var range = new Option<RangeMethod>("--range") { Description = "activation range method", DefaultValueFactory = _ => RangeMethod.MinMax };
        var layerSamples = new Option<int>("--layer-samples") { Description = "samples used for the per-layer comparison", DefaultValueFactory = _ => 100 }.AtLeast(1);
        var json = new Option<bool>("--json") { Description = "print one JSON object instead of tables" };
        var command = new Command("validate", "quantize to int8, run on runtime-c (host build) and compare with ONNX Runtime")
        {
            model, data, limit, calib, calibSamples, range, layerSamples, json,
        };
        command.SetAction(parse => Cli.Guard(() =>
        {
            var options = new ValidationOptions(parse.GetValue(model)!, parse.GetValue(data)!, parse.GetValue(limit),
                parse.GetValue(calib), parse.GetValue(calibSamples), parse.GetValue(range), parse.GetValue(layerSamples));
            bool asJson = parse.GetValue(json);
            ValidationReport report = asJson
                ? Validator.Validate(options)
                : Cli.Status.Progress().AutoClear(true).Start(context =>
                {
                    var tasks = new Dictionary<string, ProgressTask>();
                    return Validator.Validate(options, new Progress<(string Stage, double Fraction)>(p =>
                    {
                        if (!tasks.TryGetValue(p.Stage, out var task)) tasks[p.Stage] = task = context.AddTask(p.Stage, maxValue: 1);
                        task.Value = p.Fraction;
                    }));
                });
            if (asJson) Console.WriteLine(JsonSerializer.Serialize(report, JsonFiles.Options));
            else Print(report);
            foreach (var warning in report.Warnings) Console.Error.WriteLine($"warning: {warning}");
            return 0;
        }));
        return command;
    }

    private static void Print(ValidationReport r)
    {
        var layers = new Table().Title($"per-layer cosine, int8 vs float ({r.LayerSamples} samples)")
            .AddColumn("layer").AddColumn("op").AddColumn(new TableColumn("cosine").RightAligned())
            .AddColumn(new TableColumn("prefix tokens").RightAligned());
        foreach (var l in r.Layers)
            layers.AddRow(Markup.Escape(l.Name), l.Op, Flagged(l.Cosine), l.PrefixCosine is { } p ? Flagged(p) : "");
        AnsiConsole.Write(layers);
        var summary = new Table().Title("validation").AddColumn("metric").AddColumn(new TableColumn("value").RightAligned());
        summary.AddRow("model", Markup.Escape(r.Model));
        summary.AddRow("samples", r.Samples.ToString());
        summary.AddRow("calibration", Markup.Escape($"{r.Calibration.Samples} samples, {r.Calibration.Method}, {r.Calibration.Data}"));
        summary.AddRow("top-1 float (ONNX Runtime)", r.Top1Float is { } f ? $"{f:F2} %" : "no labels");
        summary.AddRow("top-1 int8 (runtime-c)", r.Top1Int8 is { } q ? $"{q:F2} %" : "no labels");
        summary.AddRow("agreement", $"{r.Agreement:F2} %");
        summary.AddRow("logit cosine mean / min", $"{r.CosineMean:F5} / {r.CosineMin:F5}");
        summary.AddRow("seconds", $"{r.Seconds:F1}");
        AnsiConsole.Write(summary);
    }

    private static string Flagged(double cosine) =>
        cosine < Validator.LayerCosineWarning ? $"[yellow]{cosine:F5}[/]" : cosine.ToString("F5");
}
