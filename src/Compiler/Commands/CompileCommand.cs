using System.CommandLine;
using McuFormer.Model.Lowering;
using McuFormer.Model.Quantization;
using McuFormer.Pipeline;
using McuFormer.Pipeline.Firmware;
using Spectre.Console;

namespace McuFormer.Compiler.Commands;

public static class CompileCommand
{
    public static Command Create()
    {
        var model = new Argument<string?>("MODEL") { Description = "ONNX model (default: the bundled Fashion-MNIST ViT)", Arity = ArgumentArity.ZeroOrOne };
        var board = new Option<string>("--board") { Description = "board profile (see `mcuformer boards`)", DefaultValueFactory = _ => ToolPaths.DefaultBoard };
        var calib = new Option<string?>("--calib") { Description = $"calibration data (default: {ToolPaths.FashionMnist} for the bundled model)" };
        var calibSamples = new Option<int>("--calib-samples") { Description = "calibration samples", DefaultValueFactory = _ => 512 }.AtLeast(1);
        var range = new Option<RangeMethod>("--range") { Description = "activation range method", DefaultValueFactory = _ => RangeMethod.MinMax };
        var output = new Option<string?>("--out") { Description = "output folder (default: build/<model>-<board>)" };
        var unfused = new Option<bool>("--unfused") { Description = "one step per op with separate buffers: no attention streaming, MLP chunking or in-place adds" };
        var leastRam = new Option<bool>("--least-ram")
        {
            Description = "plan the schedule that needs the least RAM even where a faster one fits the board (leaves RAM to the application)",
        };
        var emit = new Option<string?>("--emit")
        {
            Description = "what to write besides the C project, comma-separated: renode (DIR/renode/), nanoframework (DIR/nanoframework/, "
                + "built with dotnet build), or none (default: renode for a board its profile simulates in Renode, nanoframework for a board that is not a QEMU machine)",
        };
        var command = new Command("compile", "quantize, plan memory and generate a firmware project for a board; build it when arm-none-eabi-gcc is installed")
        {
            model, board, calib, calibSamples, range, output, unfused, leastRam, emit,
        };
        command.SetAction(parse => Cli.Guard(() =>
        {
            var modelPath = parse.GetValue(model) ?? ToolPaths.BundledModel;
            var boardName = parse.GetValue(board)!;
            var calibPath = parse.GetValue(calib) ?? (parse.GetValue(model) is null ? ToolPaths.FashionMnist
                : throw new Model.Datasets.DatasetException(modelPath, "no calibration data: pass --calib DATA"));
            // A profile of the user's own (--board path/to/x.json) names the default folder by its file name.
            var boardLabel = boardName.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? Path.GetFileNameWithoutExtension(boardName) : boardName;
            var outDir = parse.GetValue(output) ?? Path.Combine("build", $"{Path.GetFileNameWithoutExtension(modelPath)}-{boardLabel}");
            OutputFolder.Require(outDir);
            var options = new CompileOptions(modelPath, boardName, calibPath, parse.GetValue(calibSamples), parse.GetValue(range), outDir,
                parse.GetValue(unfused) ? ScheduleOptions.Unfused : ScheduleOptions.Fused with { LeastMemory = parse.GetValue(leastRam) },
                Emit: parse.GetValue(emit));
            var outcome = Cli.Status.Status().Start("compiling", context =>
                Compilation.Compile(options, new Progress<string>(stage => context.Status(stage))));
            Print(outcome);
            if (!outcome.Built)
                Cli.Status.MarkupLine($"[yellow]C project written to {Markup.Escape(outcome.OutputFolder)}; firmware not built: {Markup.Escape(FirmwareBuilder.ArmInstallHint)}[/]");
            if (!outcome.Report.Fits)
            {
                var r = outcome.Report;
                Console.Error.WriteLine($"error: {modelPath} does not fit {r.Board}: " + string.Join("; ",
                    new[] { ("RAM", r.PeakRamBytes, r.RamBudgetBytes), ("flash", r.FlashBytes, r.FlashBudgetBytes) }
                        .Where(x => x.Item2 > x.Item3).Select(x => $"{x.Item1} {x.Item2} bytes > {x.Item3} (over by {x.Item2 - x.Item3} bytes)")));
                return Cli.DoesNotFit;
            }
            return 0;
        }));
        return command;
    }

    private static void Print(CompileOutcome outcome)
    {
        var r = outcome.Report;
        var layers = new Table().Title($"{Markup.Escape(Path.GetFileName(r.Model))} on {r.Board}").AddColumn("layer").AddColumn("op")
            .AddColumn(new TableColumn("MACs").RightAligned()).AddColumn(new TableColumn("weight B").RightAligned())
            .AddColumn("region").AddColumn(new TableColumn("arena offset").RightAligned()).AddColumn(new TableColumn("bytes").RightAligned());
        foreach (var l in r.Layers)
            layers.AddRow(Markup.Escape(l.Name), l.Op, l.Macs.ToString("N0"), l.WeightBytes.ToString("N0"), Markup.Escape(l.ArenaRegion),
                l.ArenaOffset.ToString("N0"), l.Bytes.ToString("N0"));
        AnsiConsole.Write(layers);
        var summary = new Table().Title("memory").AddColumn("").AddColumn(new TableColumn("used").RightAligned())
            .AddColumn(new TableColumn("budget").RightAligned()).AddColumn(new TableColumn("share").RightAligned());
        summary.AddRow($"flash ({r.MemorySource})", r.FlashBytes.ToString("N0"), r.FlashBudgetBytes.ToString("N0"), $"{100.0 * r.FlashBytes / r.FlashBudgetBytes:F1} %");
        foreach (var (region, bytes) in r.ExternalFlashByRegion)
            summary.AddRow($"  external {Markup.Escape(region)} ({Markup.Escape(r.WeightsSection ?? "")})", bytes.ToString("N0"), "", "");
        summary.AddRow($"RAM ({r.MemorySource})", r.PeakRamBytes.ToString("N0"), r.RamBudgetBytes.ToString("N0"), $"{100.0 * r.PeakRamBytes / r.RamBudgetBytes:F1} %");
        summary.AddRow("activation arena", r.ArenaBytes.ToString("N0"), $"bound {r.ArenaLowerBoundBytes:N0}", "");
        summary.AddRow("schedule", Markup.Escape(r.Schedule), "", "");
        foreach (var (region, bytes) in r.RamByRegion)
            summary.AddRow($"  {Markup.Escape(region)}", bytes.ToString("N0"), $"arena {r.ArenaByRegion.GetValueOrDefault(region):N0}", "");
        summary.AddRow("MACs / params", r.Macs.ToString("N0"), r.Params.ToString("N0"), "");
        AnsiConsole.Write(summary);
        AnsiConsole.MarkupLine($"{(r.Fits ? "[green]fits[/]" : "[red]does not fit[/]")}: {Markup.Escape(Path.Combine(outcome.OutputFolder, "report.json"))}");
    }
}
