using System.CommandLine;
using System.Text.Json;
using McuFormer.Compiler.Bench;
using McuFormer.Model.Json;
using McuFormer.Pipeline;
using Spectre.Console;

namespace McuFormer.Compiler.Commands;

/// <summary>`mcuformer bench-kernels`: instructions per MAC of the portable and the DSP kernels in QEMU.</summary>
public static class BenchKernelsCommand
{
    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "print one JSON object instead of a table" };
        var command = new Command("bench-kernels",
            "build the kernels twice (portable and Cortex-M7 DSP) into one firmware, run it in QEMU mps2-an500 and compare instructions per MAC")
        {
            json,
        };
        command.SetAction(parse => Cli.Guard(() => Run(parse.GetValue(json))));
        return command;
    }

    public static int Run(bool asJson)
    {
        var report = asJson
            ? KernelBench.Run()
            : Cli.Status.Status().Start("benchmarking", context => KernelBench.Run(new Progress<string>(s => context.Status(s))));
        if (asJson) Console.WriteLine(JsonSerializer.Serialize(report, JsonFiles.Options));
        else Print(report);
        if (!report.BitExact) Console.Error.WriteLine("error: the DSP and portable kernels gave different outputs on a benchmark case");
        return report.BitExact ? 0 : 1;
    }

    private static void Print(KernelBenchReport report)
    {
        var table = new Table().Title($"instructions per MAC ({Markup.Escape(report.Simulator)})")
            .Caption("softmax, layernorm, gelu_lut, add: per element (MACs counts elements)")
            .AddColumn("kernel").AddColumn(new TableColumn("in").RightAligned()).AddColumn(new TableColumn("out").RightAligned())
            .AddColumn(new TableColumn("tok").RightAligned()).AddColumn(new TableColumn("MACs").RightAligned())
            .AddColumn(new TableColumn("portable").RightAligned()).AddColumn(new TableColumn("DSP").RightAligned())
            .AddColumn(new TableColumn("gain").RightAligned());
        foreach (var group in report.Kernels.GroupBy(k => (k.Name, k.In, k.Out, k.Tokens)))
        {
            var portable = group.FirstOrDefault(k => k.Path == "portable");
            var dsp = group.FirstOrDefault(k => k.Path == "dsp");
            var first = group.First();
            table.AddRow(first.Name, first.In.ToString(), first.Out.ToString(), first.Tokens.ToString(), first.Macs.ToString("N0"),
                portable is null ? "" : portable.InstructionsPerMac.ToString("F2"),
                dsp is null ? "" : dsp.InstructionsPerMac.ToString("F2"),
                portable is null || dsp is null || dsp.Instructions == 0 ? "" : $"{(double)portable.Instructions / dsp.Instructions:F1}x");
        }
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine(report.BitExact
            ? "DSP and portable outputs: [green]bit-exact[/] on every case"
            : "DSP and portable outputs: [red]differ[/]");
    }
}
