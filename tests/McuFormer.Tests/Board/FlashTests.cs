using McuFormer.CodeGen.Tools;
using McuFormer.Compiler.Board;
using McuFormer.Model.Boards;
using McuFormer.Pipeline.Firmware;

namespace McuFormer.Tests.Board;

[Collection(CompiledDiscoCollection.Name)]
public class FlashTests(CompiledDiscoProject project)
{
    [Fact]
    public void StFlashConvertsTheElfThenWritesTheBinaryAtTheFlashOrigin()
    {
        var commands = FlashPlan.Commands(CompiledDiscoProject.Profile("stm32f746g-disco"), FlashTool.StFlash);
        Assert.Equal(
            ["arm-none-eabi-objcopy -O binary firmware.elf firmware.bin", "st-flash --reset write firmware.bin 0x08000000"],
            commands.Select(c => c.ToString()));
        Assert.Equal(["binutils-arm-none-eabi", "stlink-tools"], commands.Select(c => c.DebianPackage));
    }

    [Theory]
    [InlineData("stm32f746g-disco", "board/stm32f7discovery.cfg")]
    [InlineData("nucleo-f746zg", "board/st_nucleo_f7.cfg")]
    public void OpenOcdProgramsVerifiesAndResetsWithTheBoardsScript(string board, string script)
    {
        var command = Assert.Single(FlashPlan.Commands(CompiledDiscoProject.Profile(board), FlashTool.OpenOcd));
        Assert.Equal("openocd", command.Program);
        Assert.Equal(["-f", script, "-c", "program firmware.elf verify reset exit"], command.Arguments);
        Assert.Equal("openocd", command.DebianPackage);
    }

    [Fact]
    public void BoardsWithoutAnStLinkCannotBeFlashed()
    {
        var error = Assert.Throws<BoardException>(() => FlashPlan.Commands(CompiledDiscoProject.Profile("mps2-an500"), FlashTool.StFlash));
        Assert.Equal("board mps2-an500 cannot be flashed by mcuformer (it knows the ST-LINK boards nucleo-f746zg, stm32f746g-disco)", error.Message);
        var moved = CompiledDiscoProject.Profile("nucleo-f746zg") with { Flash = new MemoryRegion("FLASH", "0x00200000", 1048576) };
        Assert.Equal("board nucleo-f746zg has its flash at 0x00200000, not at 0x08000000 where ST-LINK programming writes", FlashPlan.Unflashable(moved));
    }

    /// <summary>What st-flash 1.7 (Debian's stlink-tools) prints with no ST-LINK on the USB bus.</summary>
    private const string StFlashWithoutProbe = """
        st-flash 1.7.0
        2026-11-30T10:12:44 WARN usb.c: Couldn't find any ST-Link devices
        """;

    /// <summary>What OpenOCD 0.12 prints for `program` with board/stm32f7discovery.cfg and no ST-LINK.</summary>
    private const string OpenOcdWithoutProbe = """
        Open On-Chip Debugger 0.12.0
        Licensed under GNU GPL v2
        For bug reports, read
                http://openocd.org/doc/doxygen/bugs.html
        Info : The selected transport took over low-level target control. The results might differ compared to plain JTAG/SWD
        srst_only separate srst_nogate srst_open_drain connect_deassert_srst

        Info : Listening on port 6666 for tcl connections
        Info : Listening on port 4444 for telnet connections
        Error: open failed
        in procedure 'program'
        ** OpenOCD init failed **
        shutdown command invoked
        """;

    [Fact]
    public void NoBoardAttachedIsRecognisedInBothToolsOutput()
    {
        var stFlash = FlashPlan.Commands(CompiledDiscoProject.Profile("stm32f746g-disco"), FlashTool.StFlash)[1];
        var openOcd = FlashPlan.Commands(CompiledDiscoProject.Profile("stm32f746g-disco"), FlashTool.OpenOcd)[0];
        Assert.True(FlashDiagnosis.FoundNoProbe(StFlashWithoutProbe));
        Assert.Equal(FlashDiagnosis.NoProbeMessage, FlashDiagnosis.Explain(stFlash, 255, StFlashWithoutProbe));
        Assert.Equal(FlashDiagnosis.NoProbeMessage, FlashDiagnosis.Explain(openOcd, 1, OpenOcdWithoutProbe));
        Assert.Equal(FlashDiagnosis.NoPermissionMessage, FlashDiagnosis.Explain(openOcd, 1,
            "Open On-Chip Debugger 0.12.0\nError: libusb_open() failed with LIBUSB_ERROR_ACCESS\nError: open failed\n"));
        Assert.Equal("st-flash failed (exit status 255): ERROR common.c: Failed to connect to target",
            FlashDiagnosis.Explain(stFlash, 255, "st-flash 1.7.0\nERROR common.c: Failed to connect to target\n"));
        Assert.False(FlashDiagnosis.FoundNoProbe("st-flash 1.7.0\nFlash written and verified! jolly good!\n"));
    }

    /// <summary>
    /// CI has neither st-flash nor OpenOCD nor a board: the tool check must fail with the package to
    /// install. Where a tool is installed and no board is attached, it must say that no ST-LINK was found.
    /// </summary>
    [Theory]
    [InlineData(FlashTool.StFlash)]
    [InlineData(FlashTool.OpenOcd)]
    public void FlashSaysWhichPackageIsMissingOrThatNoBoardIsAttached(FlashTool tool)
    {
        project.RequireCompiled();
        var result = CliRunner.Run("flash", project.Folder, "--tool", FlashPlan.ToolName(tool));
        var missing = FlashPlan.Commands(CompiledDiscoProject.Profile("stm32f746g-disco"), tool).FirstOrDefault(c => !ExternalTool.OnPath(c.Program));
        if (missing is not null)
        {
            Assert.Equal(2, result.ExitCode);
            Assert.Equal($"error: '{missing.Program}' is not installed: install the Debian package {missing.DebianPackage} (apt-get install {missing.DebianPackage})",
                result.Stderr.Trim());
        }
        else
        {
            Assert.Equal(1, result.ExitCode);
            Assert.EndsWith("error: " + FlashDiagnosis.NoProbeMessage, result.Stderr.Trim());
        }
    }

    [Fact]
    public void FolderWithoutFirmwareIsABadInput()
    {
        using var folder = new TempFolder();
        CompiledDiscoProject.WriteManifest(folder.Path, "stm32f746g-disco");
        var result = CliRunner.Run("flash", folder.Path);
        Assert.Equal(2, result.ExitCode);
        Assert.Equal($"error: {folder.Path}: firmware.elf is missing; {FirmwareBuilder.ArmInstallHint}, then compile again", result.Stderr.Trim());
    }

    [Fact]
    public void FolderThatCompileDidNotWriteIsABadInput()
    {
        using var folder = new TempFolder();
        var result = CliRunner.Run("flash", folder.Path);
        Assert.Equal(2, result.ExitCode);
        Assert.Equal($"error: {folder.Path}: not a project written by `mcuformer compile` (no mcuformer.json)", result.Stderr.Trim());
    }

    [Fact]
    public void QemuBoardIsRejectedBeforeAnyToolRuns()
    {
        using var folder = new TempFolder();
        CompiledDiscoProject.WriteManifest(folder.Path, "mps2-an500");
        var result = CliRunner.Run("flash", folder.Path, "--tool", "openocd");
        Assert.Equal(2, result.ExitCode);
        Assert.Equal($"error: {folder.Path}: board mps2-an500 cannot be flashed by mcuformer (it knows the ST-LINK boards nucleo-f746zg, stm32f746g-disco)",
            result.Stderr.Trim());
    }

    [Fact]
    public void MissingSerialPortIsNamed()
    {
        var error = Assert.Throws<CodeGen.Tools.HostToolException>(() => BoardConsole.Open("/dev/ttyMCUFORMER-NONE", 115200));
        Assert.Equal("serial port /dev/ttyMCUFORMER-NONE does not exist (is the board's USB cable connected?)", error.Message);
    }
}
