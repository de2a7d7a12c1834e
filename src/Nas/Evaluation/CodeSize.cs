
namespace McuFormer.Nas.Evaluation;

/// <summary>
/// Flash a firmware needs besides the model's constants: startup, drivers, the runtime kernels the
/// model links, embedded test samples and the generated op sequence. It depends mostly on which
/// kernels a subnet links and how, so it is estimated as the larger of two measured builds, the
/// smallest and the largest subnet's; other subnets land within a few percent of it either way, and the
/// search builds the subnet it chooses to check the budgets exactly.
/// </summary>
public sealed record CodeSize(
    long Bytes,
    string Source)
{
    /// <summary>No firmware could be built: flash then counts the constants only.</summary>
    public static CodeSize Unmeasured(string why) => new(0, $"not measured ({why}): flash counts the model's constants only");

    public static CodeSize LargerOf(IReadOnlyList<(string Subnet, long Bytes)> builds, string board) =>
        new(builds.Max(b => b.Bytes), $"largest of the firmwares built for {board}: " +
            string.Join(", ", builds.Select(b => $"{b.Subnet} {b.Bytes} B")) + " besides constants");
}
