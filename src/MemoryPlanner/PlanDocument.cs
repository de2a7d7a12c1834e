using System.Globalization;
using System.Text;
using System.Text.Json.Serialization;

namespace McuFormer.MemoryPlanner;

/// <summary>plan.json: every buffer with its lifetime, region and offset, and each region's arena.</summary>
public sealed record PlanDocument(
    string Method,
    IReadOnlyDictionary<string, int> PeakBytes,
    int TotalPeakBytes,
    int LowerBoundBytes,
    bool Fits,
    IReadOnlyList<PlannedRegionRow> Regions,
    PlannedWeightsRow Weights,
    int PeakStep,
    IReadOnlyList<string> LiveAtPeak,
    IReadOnlyList<PlannedBufferRow> Buffers)
{
    public static PlanDocument From(RegionPlan plan, WeightPlacement weights)
    {
        var (step, live) = plan.Peak();
        return new PlanDocument(
            plan.Method,
            plan.Pools.ToDictionary(p => p.Region, p => plan.PeakBytes(p.Region)),
            plan.TotalPeakBytes,
            plan.LowerBoundBytes,
            plan.Fits,
            plan.Pools.Select(p => new PlannedRegionRow(p.Region, p.CapacityBytes, plan.PeakBytes(p.Region),
                plan.ByRegion.TryGetValue(p.Region, out var r) ? r.LowerBoundBytes : 0,
                plan.Buffers.Count(b => b.Region == p.Region), r?.Method)).ToList(),
            new PlannedWeightsRow(weights.Region, weights.Section, weights.Bytes, weights.BudgetBytes, weights.External is not null),
            step,
            live.Select(b => b.Placed.Buffer.Name).ToList(),
            plan.Buffers.Select(b => new PlannedBufferRow(b.Placed.Buffer.Name, b.Placed.Lifetime.Bytes, b.Placed.Lifetime.First,
                b.Placed.Lifetime.Last, b.Region, b.Offset, b.Placed.Lifetime.Accesses)).ToList());
    }
}

/// <param name="CapacityBytes">what the region offers activations: its size less the stack and the .data/.bss reserve kept there</param>
public sealed record PlannedRegionRow(
    string Name,
    long CapacityBytes,
    int PeakBytes,
    int LowerBoundBytes,
    int Buffers,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Method);

/// <summary>Where the model's constants go and what that flash offers them.</summary>
public sealed record PlannedWeightsRow(
    string Region,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Section,
    long Bytes,
    long BudgetBytes,
    bool External);

/// <param name="Accesses">kernel calls that take a pointer into the buffer (what ranks it for the fast region)</param>
public sealed record PlannedBufferRow(
    string Name,
    int Bytes,
    int First,
    int Last,
    string Region,
    int Offset,
    int Accesses);

/// <summary>
/// The plan as an SVG chart, one panel per region that holds buffers: steps across, offsets in the
/// region's arena up, one rectangle per buffer; the dashed red line is the region's lower bound and
/// the grey one its capacity when that is on the scale.
/// </summary>
public static class PlanChart
{
    public static string Svg(RegionPlan plan, string title)
    {
        const int width = 960, panelHeight = 300, margin = 48, header = 32;
        var regions = plan.UsedRegions.ToList();
        int height = header + Math.Max(1, regions.Count) * panelHeight;
        var all = plan.Buffers.Select(b => b.Placed.Lifetime).ToList();
        int firstStep = all.Count == 0 ? 0 : all.Min(l => l.First);
        int lastStep = all.Count == 0 ? 1 : all.Max(l => l.Last) + 1;
        double x(double step) => margin + (step - firstStep) * (width - 2 * margin) / Math.Max(1, lastStep - firstStep);
        string F(double v) => v.ToString("F1", CultureInfo.InvariantCulture);
        var svg = new StringBuilder();
        svg.Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"11\">\n");
        svg.Append($"<title>{SvgText.Escape(title)}</title>\n<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/>\n");
        svg.Append($"<text x=\"{margin}\" y=\"20\" font-size=\"14\">{SvgText.Escape(title)}: {plan.TotalPeakBytes:N0} B in {regions.Count} region(s), " +
                   $"lower bound {plan.LowerBoundBytes:N0} B</text>\n");
        int hue = 0;
        foreach (var (region, index) in regions.Select((r, i) => (r, i)))
        {
            var regionPlan = plan.ByRegion[region];
            long capacity = plan.Pools.First(p => p.Region == region).CapacityBytes;
            int top = header + index * panelHeight, bottom = top + panelHeight - margin / 2;
            double scale = Math.Max(1, regionPlan.PeakBytes);
            double y(double bytes) => bottom - bytes * (bottom - top - 24) / scale;
            svg.Append($"<text x=\"{margin}\" y=\"{top + 14}\" font-size=\"12\">{SvgText.Escape(region)}: peak {regionPlan.PeakBytes:N0} B of {capacity:N0} B, " +
                       $"lower bound {regionPlan.LowerBoundBytes:N0} B ({SvgText.Escape(regionPlan.Method)})</text>\n");
            foreach (var b in regionPlan.Buffers)
            {
                hue = (hue + 47) % 360;
                svg.Append($"<rect x=\"{F(x(b.Lifetime.First))}\" y=\"{F(y(b.End))}\" width=\"{F(x(b.Lifetime.Last + 1) - x(b.Lifetime.First))}\" " +
                           $"height=\"{F(y(b.Offset) - y(b.End))}\" fill=\"hsl({hue},60%,70%)\" stroke=\"#333\" stroke-width=\"0.5\">" +
                           $"<title>{SvgText.Escape(b.Buffer.Name)}: {b.Lifetime.Bytes:N0} B at {SvgText.Escape(region)}+{b.Offset:N0}, steps {b.Lifetime.First}..{b.Lifetime.Last}</title></rect>\n");
            }
            svg.Append($"<line x1=\"{margin}\" y1=\"{F(y(regionPlan.LowerBoundBytes))}\" x2=\"{width - margin}\" y2=\"{F(y(regionPlan.LowerBoundBytes))}\" stroke=\"red\" stroke-dasharray=\"4 3\"/>\n");
            if (capacity <= scale)
                svg.Append($"<line x1=\"{margin}\" y1=\"{F(y(capacity))}\" x2=\"{width - margin}\" y2=\"{F(y(capacity))}\" stroke=\"#888\"/>\n");
            svg.Append($"<text x=\"4\" y=\"{F(y(regionPlan.PeakBytes) + 4)}\">{regionPlan.PeakBytes / 1024.0:F1} KB</text>\n");
            svg.Append($"<line x1=\"{margin}\" y1=\"{bottom}\" x2=\"{width - margin}\" y2=\"{bottom}\" stroke=\"#333\"/>\n");
        }
        svg.Append($"<text x=\"{margin}\" y=\"{height - 6}\">step {firstStep}</text><text x=\"{width - margin - 60}\" y=\"{height - 6}\">step {lastStep - 1}</text>\n</svg>\n");
        return svg.ToString();
    }
}
