using System.Globalization;
using System.Text;
using System.Text.Json.Serialization;

namespace McuFormer.MemoryPlanner;

/// <summary>plan.json: every buffer of the arena with its lifetime, region and offset.</summary>
public sealed record PlanDocument(
    [property: JsonPropertyName("method")] string Method,
    [property: JsonPropertyName("peak_bytes")] IReadOnlyDictionary<string, int> PeakBytes,
    [property: JsonPropertyName("total_peak_bytes")] int TotalPeakBytes,
    [property: JsonPropertyName("lower_bound_bytes")] int LowerBoundBytes,
    [property: JsonPropertyName("peak_step")] int PeakStep,
    [property: JsonPropertyName("live_at_peak")] IReadOnlyList<string> LiveAtPeak,
    [property: JsonPropertyName("buffers")] IReadOnlyList<PlannedBufferRow> Buffers)
{
    public static PlanDocument From(MemoryPlan plan, string region) => new(
        plan.Method,
        new Dictionary<string, int> { [region] = plan.PeakBytes },
        plan.PeakBytes,
        plan.LowerBoundBytes,
        plan.Problem.PeakStep().Step,
        plan.LiveAtPeak().Select(b => b.Buffer.Name).ToList(),
        plan.Buffers.Select(b => new PlannedBufferRow(b.Buffer.Name, b.Lifetime.Bytes, b.Lifetime.First, b.Lifetime.Last, region, b.Offset)).ToList());
}

public sealed record PlannedBufferRow(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("bytes")] int Bytes,
    [property: JsonPropertyName("first")] int First,
    [property: JsonPropertyName("last")] int Last,
    [property: JsonPropertyName("region")] string Region,
    [property: JsonPropertyName("offset")] int Offset);

/// <summary>The plan as an SVG chart: steps across, arena offsets up, one rectangle per buffer.</summary>
public static class PlanChart
{
    public static string Svg(MemoryPlan plan, string title)
    {
        const int width = 960, height = 540, margin = 48;
        int firstStep = plan.Buffers.Count == 0 ? 0 : plan.Buffers.Min(b => b.Lifetime.First);
        int lastStep = plan.Buffers.Count == 0 ? 1 : plan.Buffers.Max(b => b.Lifetime.Last) + 1;
        double x(double step) => margin + (step - firstStep) * (width - 2 * margin) / Math.Max(1, lastStep - firstStep);
        double y(double bytes) => height - margin - bytes * (height - 2 * margin) / Math.Max(1, plan.PeakBytes);
        string F(double v) => v.ToString("F1", CultureInfo.InvariantCulture);
        var svg = new StringBuilder();
        svg.Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"11\">\n");
        svg.Append($"<title>{Escape(title)}</title>\n<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/>\n");
        svg.Append($"<text x=\"{margin}\" y=\"20\" font-size=\"14\">{Escape(title)}: peak {plan.PeakBytes:N0} B, lower bound {plan.LowerBoundBytes:N0} B ({Escape(plan.Method)})</text>\n");
        int hue = 0;
        foreach (var b in plan.Buffers)
        {
            hue = (hue + 47) % 360;
            svg.Append($"<rect x=\"{F(x(b.Lifetime.First))}\" y=\"{F(y(b.End))}\" width=\"{F(x(b.Lifetime.Last + 1) - x(b.Lifetime.First))}\" " +
                       $"height=\"{F(y(b.Offset) - y(b.End))}\" fill=\"hsl({hue},60%,70%)\" stroke=\"#333\" stroke-width=\"0.5\">" +
                       $"<title>{Escape(b.Buffer.Name)}: {b.Lifetime.Bytes:N0} B at {b.Offset:N0}, steps {b.Lifetime.First}..{b.Lifetime.Last}</title></rect>\n");
        }
        svg.Append($"<line x1=\"{margin}\" y1=\"{F(y(plan.LowerBoundBytes))}\" x2=\"{width - margin}\" y2=\"{F(y(plan.LowerBoundBytes))}\" stroke=\"red\" stroke-dasharray=\"4 3\"/>\n");
        svg.Append($"<text x=\"{margin}\" y=\"{height - 16}\">step {firstStep}</text><text x=\"{width - margin - 60}\" y=\"{height - 16}\">step {lastStep - 1}</text>\n");
        svg.Append($"<text x=\"4\" y=\"{F(y(plan.PeakBytes) + 4)}\">{plan.PeakBytes / 1024.0:F1} KB</text>\n</svg>\n");
        return svg.ToString();
    }

    private static string Escape(string text) => text.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;").Replace("\"", "&quot;");
}
