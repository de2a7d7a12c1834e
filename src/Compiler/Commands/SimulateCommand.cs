using System.CommandLine;
using System.Text.Json;
using McuFormer.Model.Json;
using McuFormer.Pipeline;
using McuFormer.Pipeline.Firmware;
using Spectre.Console;

namespace McuFormer.Compiler.Commands;

public static class SimulateCommand
{
    public static Command Create()
    {
        var folder = new Argument<string>("DIR") { Description = "project folder written by `mcuformer compile` for a QEMU board (mps2-an500)" };
        var data = new Option<string?>("--data") { Description = "test data (default: the data the project was compiled with, test split)" };
        var limit = new Option<int>("--limit") { Description = "samples to run", DefaultValueFactory = _ => 1000 }.AtLeast(1);
        var json = new Option<bool>("--json") { Description = "print one JSON object instead of tables" };
        var simulator = new Option<string>("--simulator") { Description = "qemu, or renode to run DIR/renode/<board>.robot with renode-test (boards whose profile names Renode)", DefaultValueFactory = _ => "qemu" };
        simulator.AcceptOnlyFromAmong("qemu", "renode");
        var command = new Command("simulate", "run the firmware in QEMU, check it bit-exact against the host build, and profile instructions per layer")
        {
            folder, data, limit, json, simulator,
        };
        command.SetAction(parse => Cli.Guard(() => parse.GetValue(simulator) == "renode"
            ? Board.RenodeSimulation.Run(parse.GetValue(folder)!)
            : Run(new SimulateOptions(parse.GetValue(folder)!, parse.GetValue(data), parse.GetValue(limit)), parse.GetValue(json))));
        return command;
    }

    public static int Run(SimulateOptions options, bool asJson)
    {
        var report = asJson
            ? Simulation.Simulate(options)
            : Cli.Status.Status().Start("simulating", context => Simulation.Simulate(options, new Progress<string>(s => context.Status(s))));
        if (asJson) Console.WriteLine(JsonSerializer.Serialize(report, JsonFiles.Options));
        else Print(report);
        if (!report.BitExact) Console.Error.WriteLine($"error: {report.Mismatches} of {report.Samples} outputs differ from the host build");
        return report.BitExact ? 0 : 1;
    }

    private static void Print(SimulationReport r)
    {
        var layers = new Table().Title($"instructions per layer ({Markup.Escape(r.Simulator)})").AddColumn("layer").AddColumn("op")
            .AddColumn(new TableColumn("MACs").RightAligned()).AddColumn(new TableColumn("instructions").RightAligned())
            .AddColumn(new TableColumn("instr/MAC").RightAligned()).AddColumn(new TableColumn("share").RightAligned());
        foreach (var l in r.Layers)
            layers.AddRow(Markup.Escape(l.Name), l.Op, l.Macs.ToString("N0"), l.Instructions.ToString("N0"),
                l.InstructionsPerMac is { } ipm ? ipm.ToString("F2") : "", $"{100 * l.Share:F1} %");
        AnsiConsole.Write(layers);
        var summary = new Table().Title("simulation").AddColumn("metric").AddColumn(new TableColumn("value").RightAligned());
        summary.AddRow("samples", r.Samples.ToString());
        summary.AddRow("bit-exact with host build", r.BitExact ? "[green]yes[/]" : $"[red]no: {r.Mismatches} mismatches[/]");
        summary.AddRow("top-1 int8 (firmware / host build)", r.Top1Int8 is { } t ? $"{t:F2} % / {r.Top1Host:F2} %" : "no labels");
        summary.AddRow("instructions per inference", r.InstructionsPerInference.ToString("N0"));
        summary.AddRow("instructions per MAC", r.InstructionsPerMac.ToString("F2"));
        summary.AddRow("latency estimate", $"{r.LatencyMsEstimate:F1} ms at {r.ClockHz / 1e6:F0} MHz, CPI {r.CyclesPerInstruction:F1} assumed");
        summary.AddRow("stack high-water", $"{r.StackHighWaterBytes:N0} bytes");
        AnsiConsole.Write(summary);
    }
}
