namespace McuFormer.Nas.Search;

/// <summary>Subnets no other subnet beats on accuracy, peak RAM, flash and latency all at once.</summary>
public static class ParetoFront
{
    public static HashSet<string> Of(IReadOnlyCollection<SubnetRecord> records)
    {
        var fits = records.Where(r => r.Fits && r.Top1 is not null).ToList();
        static bool Dominates(SubnetRecord a, SubnetRecord b) =>
            a.Top1 >= b.Top1 && a.Cost.RamBytes <= b.Cost.RamBytes && a.Cost.FlashBytes <= b.Cost.FlashBytes && a.Cost.LatencyMs <= b.Cost.LatencyMs
            && (a.Top1 > b.Top1 || a.Cost.RamBytes < b.Cost.RamBytes || a.Cost.FlashBytes < b.Cost.FlashBytes || a.Cost.LatencyMs < b.Cost.LatencyMs);
        return fits.Where(b => !fits.Any(a => Dominates(a, b))).Select(r => r.Key).ToHashSet(StringComparer.Ordinal);
    }
}
