using McuFormer.CodeGen.Tools;
using McuFormer.Model.Boards;
using McuFormer.Pipeline.Firmware;

namespace McuFormer.Compiler.Board;

/// <param name="Tool">null: st-flash when installed, else OpenOCD</param>
/// <param name="SerialPort">the board's console (e.g. /dev/ttyACM0) to watch after flashing; null: flash only</param>
/// <param name="Baud">null: the board profile's console baud rate</param>
public sealed record FlashOptions(string ProjectFolder, FlashTool? Tool, string? SerialPort, int? Baud, TimeSpan Timeout);

/// <summary>Flashing or the run on the board went wrong; exit status 1, unlike bad input (2).</summary>
public sealed class FlashFailedException(string message) : Exception(message);

/// <summary>`mcuformer flash`: writes firmware.elf to the board, then optionally reads its verdict from the console.</summary>
public static class Flashing
{
    /// <summary>Erasing and writing 1 MB over an ST-LINK takes well under this.</summary>
    public static readonly TimeSpan ToolTimeout = TimeSpan.FromMinutes(3);

    /// <returns>0 when flashed (and, with a serial port, the firmware printed PASS)</returns>
    /// <param name="status">progress of the tools, for people</param>
    /// <param name="boardLine">each line the board prints on its console</param>
    public static int Run(FlashOptions options, Action<string> status, Action<string> boardLine)
    {
        var project = GeneratedProject.Open(options.ProjectFolder);
        if (FlashPlan.Unflashable(project.Board) is { } reason) throw new BoardException($"{project.Folder}: {reason}");
        project.RequireFirmware();
        if (FlashPlan.ExternalFlashRefusal(ElfMemory.Read(project.FirmwareElf, project.Board).ExternalByRegion) is { } refusal)
            throw new BoardException($"{project.Folder}: {refusal}");
        var tool = options.Tool ?? InstalledTool();
        var commands = FlashPlan.Commands(project.Board, tool);
        foreach (var command in commands)
            if (!ExternalTool.OnPath(command.Program)) throw new HostToolException(NotInstalled(command.Program, command.DebianPackage));

        using var serial = options.SerialPort is { } port ? BoardConsole.Open(port, options.Baud ?? project.Board.Console.Baud) : null;
        foreach (var command in commands)
        {
            status($"$ {command}");
            var result = ExternalTool.Run(command.Program, command.Arguments, project.Folder, ToolTimeout, $"install the Debian package {command.DebianPackage}");
            if (result.TimedOut) throw new FlashFailedException($"{command.Program} did not finish in {ToolTimeout.TotalMinutes} minutes");
            // Some st-flash versions exit 0 after finding no ST-LINK, so the output decides too.
            if (result.ExitCode != 0 || FlashDiagnosis.FoundNoProbe(result.Output))
                throw new FlashFailedException(FlashDiagnosis.Explain(command, result.ExitCode, result.Output));
        }
        status($"flashed {FlashPlan.FirmwareElf} to {project.Board.Name} with {FlashPlan.ToolName(tool)}");
        if (serial is null) return 0;

        var verdict = BoardConsole.Watch(wait => BoardConsole.ReadLine(serial, wait), options.Timeout, boardLine);
        return verdict switch
        {
            ConsoleVerdict.Pass => 0,
            ConsoleVerdict.Fail => throw new FlashFailedException($"the firmware printed \"{BoardConsole.FailLine}\": outputs on the board differ from the host build's"),
            _ => throw new FlashFailedException(
                $"no \"{BoardConsole.PassLine}\" or \"{BoardConsole.FailLine}\" on {serial.PortName} within {options.Timeout.TotalSeconds:0} s"),
        };
    }

    public static string NotInstalled(string program, string debianPackage) =>
        $"'{program}' is not installed: install the Debian package {debianPackage} (apt-get install {debianPackage})";

    /// <summary>st-flash when its tools are installed, else OpenOCD; neither is a one-line error naming both packages.</summary>
    private static FlashTool InstalledTool()
    {
        foreach (var tool in new[] { FlashTool.StFlash, FlashTool.OpenOcd })
            if (ExternalTool.OnPath(FlashPlan.ToolName(tool))) return tool;
        throw new HostToolException(
            $"neither st-flash nor openocd is installed: install the Debian package {FlashPlan.DebianPackage(FlashTool.StFlash)} or {FlashPlan.DebianPackage(FlashTool.OpenOcd)}");
    }
}
