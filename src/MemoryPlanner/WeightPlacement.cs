using McuFormer.Model.Boards;

namespace McuFormer.MemoryPlanner;

/// <summary>
/// Where the model's constants (weights, biases, tables) go: internal flash when they fit beside
/// the code (the profile's code_reserve) and the harness's embedded test samples, else the board's
/// first external flash when they fit there. On a real board external flash is memory-mapped only
/// once the platform has configured its controller (the disco's QSPI); QEMU maps mps2-an500-extflash's from reset.
/// </summary>
/// <param name="Region">the flash region that holds them</param>
/// <param name="BudgetBytes">what that region offers them</param>
/// <param name="SampleBytes">the embedded test samples (inputs and expected outputs), which stay in internal flash</param>
/// <param name="External">null for internal flash; the external flash otherwise</param>
public sealed record WeightPlacement(string Region, long Bytes, long BudgetBytes, long SampleBytes, MemoryRegion? External)
{
    public bool Fits => Bytes <= BudgetBytes;

    /// <summary>The linker output section the constants go in when they are in external flash, e.g. ".qspi_weights" or ".extflash_weights".</summary>
    public string? Section => External is { } region ? SectionOf(region) : null;

    /// <summary>The input section C objects name to land in <see cref="Section"/> (plain .rodata in any other build).</summary>
    public string? InputSection => External is { } region ? InputSectionOf(region) : null;

    public static string SectionOf(MemoryRegion external) => "." + external.Name.ToLowerInvariant() + "_weights";

    public static string InputSectionOf(MemoryRegion external) => ".rodata" + SectionOf(external);

    /// <summary>What internal flash offers the model's constants: its size less the code reserve and the samples.</summary>
    public static long InternalBudget(BoardProfile board, long sampleBytes) => Math.Max(0, board.Flash.Size - board.Layout.CodeReserve - sampleBytes);

    public static WeightPlacement For(BoardProfile board, long bytes, long sampleBytes)
    {
        var inside = new WeightPlacement(board.Flash.Name, bytes, InternalBudget(board, sampleBytes), sampleBytes, null);
        if (inside.Fits) return inside;
        var external = board.External.FirstOrDefault(e => e.Kind == "flash");
        return external is null ? inside : new WeightPlacement(external.Name, bytes, external.Size, sampleBytes, external);
    }

    /// <summary>Why the constants fit nowhere, naming the bytes over each budget; null when they fit.</summary>
    public string? Overflow(BoardProfile board)
    {
        if (Fits) return null;
        long internalBudget = InternalBudget(board, SampleBytes);
        string samples = SampleBytes > 0 ? $" and {SampleBytes} bytes of embedded test samples" : "";
        var text = $"the model's constants need {Bytes} bytes but internal {board.Flash.Name} has {internalBudget} for them " +
                   $"({board.Flash.Size} less a {board.Layout.CodeReserve}-byte code reserve{samples}; over by {Bytes - internalBudget} bytes)";
        return External is { } region ? text + $" and external {region.Name} has {region.Size} (over by {Bytes - region.Size} bytes)" : text;
    }
}
