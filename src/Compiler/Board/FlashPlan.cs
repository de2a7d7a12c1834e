using System.Globalization;
using McuFormer.Model.Boards;

namespace McuFormer.Compiler.Board;

public enum FlashTool
{
    StFlash,
    OpenOcd,
}

/// <summary>One program to run, in the project folder, and the Debian package that provides it.</summary>
public sealed record ToolCommand(string Program, IReadOnlyList<string> Arguments, string DebianPackage)
{
    public override string ToString() => string.Join(' ', new[] { Program }.Concat(Arguments.Select(a => a.Contains(' ') ? $"\"{a}\"" : a)));
}

/// <summary>
/// The commands that put firmware.elf on a board through its on-board ST-LINK. Pure: nothing here
/// touches the file system or runs a program, so the command lines can be checked in tests.
/// </summary>
public static class FlashPlan
{
    /// <summary>Where STM32 flash is mapped, and so where st-flash must write the raw image.</summary>
    public const long Stm32FlashOrigin = 0x08000000;

    public const string FirmwareElf = "firmware.elf";
    public const string FirmwareBin = "firmware.bin";

    /// <summary>
    /// OpenOCD's board scripts for the boards mcuformer can flash. Kept here, keyed by board name,
    /// rather than in boards/profiles: the profiles describe the hardware, and which script of
    /// one particular programming tool fits a board is a fact about that tool.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> OpenOcdBoardScripts = new Dictionary<string, string>
    {
        ["stm32f746g-disco"] = "board/stm32f7discovery.cfg",
        ["nucleo-f746zg"] = "board/st_nucleo_f7.cfg",
    };

    public const string StFlashName = "st-flash";
    public const string OpenOcdName = "openocd";

    public static string ToolName(FlashTool tool) => tool == FlashTool.StFlash ? StFlashName : OpenOcdName;

    public static FlashTool ToolNamed(string name) => name switch
    {
        StFlashName => FlashTool.StFlash,
        OpenOcdName => FlashTool.OpenOcd,
        _ => throw new BoardException($"unknown flashing tool '{name}' ({StFlashName} or {OpenOcdName})"),
    };

    public static string DebianPackage(FlashTool tool) => tool == FlashTool.StFlash ? "stlink-tools" : "openocd";

    /// <summary>Why a board cannot be flashed this way, or null when it can.</summary>
    public static string? Unflashable(BoardProfile board)
    {
        if (!OpenOcdBoardScripts.ContainsKey(board.Name))
            return $"board {board.Name} cannot be flashed by mcuformer (it knows the ST-LINK boards {string.Join(", ", OpenOcdBoardScripts.Keys.Order(StringComparer.Ordinal))})";
        if (board.Flash.Origin != Stm32FlashOrigin)
            return $"board {board.Name} has its flash at {board.Flash.OriginText}, not at 0x{Stm32FlashOrigin:X8} where ST-LINK programming writes";
        return null;
    }

    /// <summary>
    /// Why an image with bytes in external flash is not flashed, or null when it has none: both
    /// tools as run here write the internal flash only, and the rest would be missing.
    /// </summary>
    public static string? ExternalFlashRefusal(IReadOnlyDictionary<string, long> externalBytes)
    {
        if (externalBytes.Count == 0) return null;
        var parts = string.Join(" and ", externalBytes.Select(e => $"{e.Value} bytes in external {e.Key} flash"));
        return $"{FirmwareElf} puts {parts} (the model's constants); st-flash and OpenOCD as mcuformer runs them program internal flash " +
               "only, and external flash needs an external loader for the board's flash chip (e.g. STM32CubeProgrammer with the board's " +
               "QSPI loader). mcuformer does not flash half an image: program the external part with such a tool, or compile for a board " +
               "whose internal flash holds the model";
    }

    /// <summary>The commands, in order, to run in the project folder.</summary>
    public static IReadOnlyList<ToolCommand> Commands(BoardProfile board, FlashTool tool)
    {
        if (Unflashable(board) is { } reason) throw new BoardException(reason);
        return tool switch
        {
            // st-flash writes a raw image at an address; objcopy turns the ELF's loadable sections into one.
            FlashTool.StFlash =>
            [
                new ToolCommand("arm-none-eabi-objcopy", ["-O", "binary", FirmwareElf, FirmwareBin], "binutils-arm-none-eabi"),
                new ToolCommand("st-flash", ["--reset", "write", FirmwareBin, "0x" + board.Flash.Origin.ToString("x8", CultureInfo.InvariantCulture)], "stlink-tools"),
            ],
            // OpenOCD reads the ELF itself, verifies what it wrote and resets the board.
            FlashTool.OpenOcd =>
            [
                new ToolCommand("openocd", ["-f", OpenOcdBoardScripts[board.Name], "-c", $"program {FirmwareElf} verify reset exit"], "openocd"),
            ],
            _ => throw new ArgumentOutOfRangeException(nameof(tool)),
        };
    }
}
