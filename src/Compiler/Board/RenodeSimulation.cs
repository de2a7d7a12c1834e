using System.ComponentModel;
using System.Diagnostics;
using McuFormer.CodeGen.Renode;
using McuFormer.CodeGen.Tools;
using McuFormer.Model.Boards;
using McuFormer.Pipeline;
using McuFormer.Pipeline.Firmware;

namespace McuFormer.Compiler.Board;

/// <summary>`mcuformer simulate DIR --simulator renode`: runs DIR/renode/&lt;board&gt;.robot with renode-test.</summary>
public static class RenodeSimulation
{
    public const string RenodeTest = "renode-test";

    /// <summary>Renode is in neither Debian nor NuGet, so unlike QEMU mcuformer cannot install it.</summary>
    public static string InstallHint(string robotFile) =>
        $"'{RenodeTest}' is not on PATH, and mcuformer cannot install Renode (it is not in Debian or NuGet): "
        + "download the portable Linux package (renode-*.linux-portable*.tar.gz) from the Renode project's GitHub releases, "
        + "unpack it and add its folder to PATH (renode-test also needs the Python packages in its tests/requirements.txt); "
        + $"or run {robotFile} in CI with the antmicro/renode-test-action@v5 workflow in renode/.github/workflows/renode.yml";

    /// <returns>renode-test's verdict: 0 when every expected line came</returns>
    public static int Run(string projectFolder)
    {
        var project = GeneratedProject.Open(projectFolder);
        var board = project.Board;
        if (!RenodeProject.AppliesTo(board))
        {
            var renodeBoards = new BoardCatalog(ToolPaths.Boards).All().Where(RenodeProject.AppliesTo).Select(b => b.Name);
            throw new BoardException($"{project.Folder}: board {board.Name} is not simulated by Renode; compile with --board {string.Join(" or ", renodeBoards)}, or simulate in QEMU");
        }
        var robot = Path.Combine(project.Folder, RenodeProject.RobotFile(board.Name));
        if (File.Exists(project.FirmwareElf) && ElfMemory.Read(project.FirmwareElf, board).ExternalByRegion.Count > 0)
            throw new BoardException($"{project.Folder}: firmware.elf keeps the model's constants in external flash, which Renode cannot run: " +
                                     "it models no QUADSPI controller for the start-up to map that flash with");
        if (!File.Exists(robot))
            throw new BoardException($"{project.Folder}: {RenodeProject.RobotFile(board.Name)} is missing; compile again to write the Renode files");
        project.RequireFirmware();
        if (!ExternalTool.OnPath(RenodeTest)) throw new HostToolException(InstallHint(RenodeProject.RobotFile(board.Name)));

        // renode-test prints its progress as it goes and leaves its logs in the working directory.
        var start = new ProcessStartInfo(RenodeTest) { WorkingDirectory = Path.GetDirectoryName(robot)! };
        start.ArgumentList.Add(robot);
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (Win32Exception)
        {
            throw new HostToolException(InstallHint(RenodeProject.RobotFile(board.Name)));
        }
        using (process)
        {
            process.WaitForExit();
            if (process.ExitCode == 0) return 0;
            Console.Error.WriteLine($"error: {RenodeTest} reported a failure (exit status {process.ExitCode}); its logs are in {start.WorkingDirectory}");
            return 1;
        }
    }
}
