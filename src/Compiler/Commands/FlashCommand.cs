using System.CommandLine;
using McuFormer.Compiler.Board;

namespace McuFormer.Compiler.Commands;

public static class FlashCommand
{
    public static Command Create()
    {
        var folder = new Argument<string>("DIR") { Description = "project folder written by `mcuformer compile` for an ST-LINK board (stm32f746g-disco, nucleo-f746zg)" };
        var tool = new Option<string?>("--tool") { Description = "st-flash or openocd (default: st-flash when installed, else openocd)" };
        tool.AcceptOnlyFromAmong(FlashPlan.StFlashName, FlashPlan.OpenOcdName);
        var serial = new Option<string?>("--serial") { Description = "the board's console port (e.g. /dev/ttyACM0): print it until \"mcuformer: PASS\" or \"mcuformer: FAIL\"" };
        var baud = new Option<int?>("--baud") { Description = "console baud rate (default: the board profile's)" }.AtLeast(1);
        var timeout = new Option<int>("--timeout") { Description = "seconds to wait for the verdict on --serial", DefaultValueFactory = _ => 60 }.AtLeast(1);
        var command = new Command("flash", "write firmware.elf to the board through its ST-LINK, then optionally read the test verdict from its console")
        {
            folder, tool, serial, baud, timeout,
        };
        command.SetAction(parse => Cli.Guard(() =>
        {
            var options = new FlashOptions(parse.GetValue(folder)!,
                parse.GetValue(tool) is { } name ? FlashPlan.ToolNamed(name) : null,
                parse.GetValue(serial), parse.GetValue(baud), TimeSpan.FromSeconds(parse.GetValue(timeout)));
            try
            {
                return Flashing.Run(options, status: line => Console.Error.WriteLine(line), boardLine: Console.WriteLine);
            }
            catch (FlashFailedException e)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 1;
            }
        }));
        return command;
    }
}
