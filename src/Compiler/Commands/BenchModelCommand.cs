using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using McuFormer.Compiler.Bench;
using McuFormer.Model.Json;
using McuFormer.Pipeline.Firmware;
using Spectre.Console;

namespace McuFormer.Compiler.Commands;

/// <summary>`mcuformer bench-model`: whole models compiled, built and simulated in QEMU, with their cost figures.</summary>
public static class BenchModelCommand
{
    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "print one JSON object instead of a table" };
        var models = new Option<string[]>("--model")
        {
            Description = $"a model to run, repeatable (default: all of {string.Join(", ", ModelBench.ModelNames)})",
            DefaultValueFactory = _ => [.. ModelBench.ModelNames],
        }.OneOf(ModelBench.ModelNames);
        var samples = new Option<int>("--samples") { Description = "inputs simulated per model and checked bit-exact", DefaultValueFactory = _ => 2 }.AtLeast(1);
        var command = new Command("bench-model",
            $"compile, build and simulate the fixture on {ModelBench.FixtureBoard} and a DeiT-tiny-like model on {ModelBench.ExternalFlashBoard}; " +
            "print instructions, memory, flash, latency estimate, bit-exactness and compile time")
        {
            json, models, samples,
        };
        command.SetAction(parse => Cli.Guard(() => Run(parse.GetValue(models)!, parse.GetValue(samples), parse.GetValue(json))));
        return command;
    }

    private static int Run(string[] names, int samples, bool asJson)
    {
        var clock = Stopwatch.StartNew();
        var figures = names.Distinct().Select(name => asJson
            ? ModelBench.Run(name, samples)
            : Cli.Status.Status().Start(name, context => ModelBench.Run(name, samples, new Progress<string>(s => context.Status(s))))).ToList();
        if (asJson) Console.WriteLine(JsonSerializer.Serialize(new { models = figures, seconds = clock.Elapsed.TotalSeconds }, JsonFiles.Options));
        else Print(figures, clock.Elapsed);
        var differing = figures.Where(f => !f.BitExact).Select(f => f.Name).ToList();
        if (differing.Count > 0) Console.Error.WriteLine($"error: the firmware's outputs differ from the host build's for {string.Join(", ", differing)}");
        return differing.Count == 0 ? 0 : 1;
    }

    private static void Print(IReadOnlyList<ModelFigures> figures, TimeSpan total)
    {
        var table = new Table().Title("whole models in QEMU (-icount), bit-exact against the host build").AddColumn("");
        foreach (var f in figures) table.AddColumn(new TableColumn(Markup.Escape($"{f.Name} ({f.Board})")).RightAligned());
        void Row(string label, Func<ModelFigures, string> value) => table.AddRow([label, .. figures.Select(f => Markup.Escape(value(f)))]);
        Row("parameters", f => f.Params.ToString("N0"));
        Row("MACs", f => f.Macs.ToString("N0"));
        Row("instructions per inference", f => f.Instructions.ToString("N0"));
        Row("instructions per MAC", f => f.InstrPerMac.ToString("F2"));
        Row("arena bytes (image resident)", f => f.ArenaBytes.ToString("N0"));
        Row("  any schedule's bound", f => f.LowerBoundBytes.ToString("N0"));
        Row("arena bytes (image streamed)", f => f.StreamedArenaBytes?.ToString("N0") ?? "-");
        Row("  any schedule's bound", f => f.StreamedLowerBoundBytes?.ToString("N0") ?? "-");
        Row("schedule", f => f.Schedule);
        Row("internal flash bytes", f => f.FlashBytes.ToString("N0"));
        Row("external flash bytes", f => f.ExternalFlashBytes.ToString("N0"));
        Row("weights in", f => f.WeightsRegion);
        Row("stack high-water bytes", f => f.StackHighWaterBytes.ToString("N0"));
        Row("latency estimate ms", f => $"{f.LatencyMsEstimate:F1} at {f.ClockHz / 1e6:0.#} MHz");
        Row("bit-exact", f => f.BitExact ? $"yes, {f.Samples} of {f.Samples} inputs" : $"NO, {f.Mismatches} of {f.Samples} inputs differ");
        Row("compile s (no firmware build)", f => f.CompileSeconds.ToString("F1"));
        Row("compile CPU s, all threads", f => f.CompileCpuSeconds.ToString("F1"));
        foreach (var phase in figures.SelectMany(f => f.CompilePhaseSeconds.Keys).Distinct())
            Row($"  {phase} s", f => f.CompilePhaseSeconds.TryGetValue(phase, out var seconds) ? seconds.ToString("F1") : "-");
        Row($"  planning, part of {CompilePhases.Calibrate} s", f => f.PlanSeconds.ToString("F1"));
        Row("firmware build s", f => f.BuildSeconds.ToString("F1"));
        Row("simulate s", f => f.SimulateSeconds.ToString("F1"));
        Row("  host build (cc) s", f => f.HostBuildSeconds.ToString("F1"));
        Row("  host run s", f => f.HostRunSeconds.ToString("F1"));
        Row("  QEMU s", f => f.QemuSeconds.ToString("F1"));
        AnsiConsole.Write(table);
        foreach (var f in figures) AnsiConsole.MarkupLine(Markup.Escape($"{f.Name} latency assumes: {f.LatencyAssumptions}"));
        AnsiConsole.MarkupLine(Markup.Escape($"compile: import, calibration on {ModelBench.CalibrationSamples} images, quantization, planning, the host's " +
                                             $"reference outputs and the C project, without the arm-none-eabi build; total {total.TotalSeconds:F0} s"));
    }
}
