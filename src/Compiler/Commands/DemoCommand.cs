using System.CommandLine;
using McuFormer.CodeGen.Tools;
using McuFormer.Model.Lowering;
using McuFormer.Model.Quantization;
using McuFormer.Pipeline;
using McuFormer.Pipeline.Firmware;
using Spectre.Console;

namespace McuFormer.Compiler.Commands;

/// <summary>
/// `mcuformer demo`: the whole job on the bundled model: installs what is missing (when root with
/// apt), compiles for the STM32F746G-DISCO and for QEMU's mps2-an500, and simulates the latter.
/// </summary>
public static class DemoCommand
{
    private static readonly (string Program, string Package)[] Requirements =
    [
        ("cc", "gcc"), ("make", "make"), (FirmwareBuilder.ArmCompiler, "gcc-arm-none-eabi"),
        ("arm-none-eabi-size", "binutils-arm-none-eabi"), ("qemu-system-arm", "qemu-system-arm"),
    ];

    public static Command Create()
    {
        var limit = new Option<int>("--limit") { Description = "test images to simulate", DefaultValueFactory = _ => 1000 }.AtLeast(1);
        var output = new Option<string>("--out") { Description = "output folder", DefaultValueFactory = _ => "build" };
        var command = new Command("demo", "compile the bundled ViT for stm32f746g-disco and mps2-an500, then simulate it in QEMU") { limit, output };
        command.SetAction(parse => Cli.Guard(() =>
        {
            var outDir = parse.GetValue(output)!;
            OutputFolder.Require(outDir);
            InstallMissing();
            foreach (var board in new[] { ToolPaths.DefaultBoard, "mps2-an500" })
            {
                AnsiConsole.Write(new Rule($"compile for {board}"));
                var outcome = Compilation.Compile(new CompileOptions(ToolPaths.BundledModel, board, ToolPaths.FashionMnist, 512,
                    RangeMethod.MinMax, Path.Combine(outDir, $"vit_fmnist-{board}"), ScheduleOptions.Fused));
                var r = outcome.Report;
                AnsiConsole.MarkupLine($"{board}: flash {r.FlashBytes:N0} / {r.FlashBudgetBytes:N0} B, RAM {r.PeakRamBytes:N0} / {r.RamBudgetBytes:N0} B " +
                    $"(arena {r.ArenaBytes:N0} B), {(r.Fits ? "[green]fits[/]" : "[red]does not fit[/]")}; {Markup.Escape(outcome.OutputFolder)}");
                if (!r.Fits) return Cli.DoesNotFit;
            }
            AnsiConsole.Write(new Rule("simulate on mps2-an500 (QEMU)"));
            return SimulateCommand.Run(new SimulateOptions(Path.Combine(outDir, "vit_fmnist-mps2-an500"), null, parse.GetValue(limit)), asJson: false);
        }));
        return command;
    }

    private static void InstallMissing()
    {
        var missing = Requirements.Where(r => !ExternalTool.OnPath(r.Program)).Select(r => r.Package).ToList();
        if (!Directory.Exists(ToolPaths.FashionMnist)) missing.Add("dataset-fashion-mnist");
        if (missing.Contains("gcc-arm-none-eabi")) missing.Add("libnewlib-arm-none-eabi");
        if (missing.Count == 0) return;
        bool canInstall = Environment.UserName == "root" && ExternalTool.OnPath("apt-get");
        if (!canInstall)
            throw new HostToolException($"missing Debian packages: {string.Join(' ', missing)} (sudo apt-get install {string.Join(' ', missing)})");
        Cli.Status.MarkupLine($"installing {Markup.Escape(string.Join(' ', missing))}");
        var update = ExternalTool.Run("apt-get", ["update"], ".", TimeSpan.FromMinutes(10), "apt-get");
        var install = ExternalTool.Run("apt-get", ["install", "-y", "--no-install-recommends", .. missing], ".", TimeSpan.FromMinutes(20), "apt-get");
        if (update.ExitCode != 0 || install.ExitCode != 0)
            throw new HostToolException($"apt-get could not install {string.Join(' ', missing)}: {install.Output.Trim().Split('\n').LastOrDefault()}");
    }
}
