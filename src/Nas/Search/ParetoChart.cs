using System.Globalization;
using System.Text;
using McuFormer.MemoryPlanner;

namespace McuFormer.Nas.Search;

/// <summary>
/// pareto.svg: validation top-1 against flash for every subnet that met the budgets, coloured by
/// peak RAM (light = little RAM), the Pareto front drawn over it and the chosen subnet marked.
/// </summary>
public static class ParetoChart
{
    private const int Width = 820, Height = 520, Left = 70, Right = 150, Top = 40, Bottom = 60;

    public static string Svg(IReadOnlyCollection<SubnetRecord> records, ISet<string> front, string? bestKey, string title)
    {
        var points = records.Where(r => r.Fits && r.Top1 is not null).ToList();
        var svg = new StringBuilder();
        string F(double v) => v.ToString("0.#", CultureInfo.InvariantCulture);
        svg.AppendLine($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" font-family=\"sans-serif\" font-size=\"12\">");
        svg.AppendLine($"<rect width=\"{Width}\" height=\"{Height}\" fill=\"white\"/>");
        svg.AppendLine($"<text x=\"{Left}\" y=\"24\" font-size=\"15\">{SvgText.Escape(title)}</text>");
        if (points.Count == 0)
        {
            svg.AppendLine($"<text x=\"{Left}\" y=\"{Height / 2}\">no subnet met the budgets</text></svg>");
            return svg.ToString();
        }
        double minX = points.Min(p => p.Cost.FlashBytes) / 1024.0, maxX = points.Max(p => p.Cost.FlashBytes) / 1024.0;
        double minY = points.Min(p => p.Top1!.Value) * 100, maxY = points.Max(p => p.Top1!.Value) * 100;
        long minRam = points.Min(p => p.Cost.RamBytes), maxRam = points.Max(p => p.Cost.RamBytes);
        (minX, maxX) = Pad(minX, maxX);
        (minY, maxY) = Pad(minY, maxY);
        double X(double kb) => Left + (kb - minX) / (maxX - minX) * (Width - Left - Right);
        double Y(double top1) => Height - Bottom - (top1 - minY) / (maxY - minY) * (Height - Top - Bottom);
        string Colour(long ram)
        {
            double t = maxRam == minRam ? 0 : (double)(ram - minRam) / (maxRam - minRam);
            return $"rgb({(int)(240 - 200 * t)},{(int)(200 - 150 * t)},{(int)(90 + 120 * t)})";
        }

        svg.AppendLine($"<line x1=\"{Left}\" y1=\"{Height - Bottom}\" x2=\"{Width - Right}\" y2=\"{Height - Bottom}\" stroke=\"black\"/>");
        svg.AppendLine($"<line x1=\"{Left}\" y1=\"{Top}\" x2=\"{Left}\" y2=\"{Height - Bottom}\" stroke=\"black\"/>");
        for (int tick = 0; tick <= 5; tick++)
        {
            double kb = minX + (maxX - minX) * tick / 5, top1 = minY + (maxY - minY) * tick / 5;
            svg.AppendLine($"<text x=\"{F(X(kb))}\" y=\"{Height - Bottom + 18}\" text-anchor=\"middle\">{F(kb)}</text>");
            svg.AppendLine($"<text x=\"{Left - 8}\" y=\"{F(Y(top1) + 4)}\" text-anchor=\"end\">{F(top1)}</text>");
        }
        svg.AppendLine($"<text x=\"{(Left + Width - Right) / 2}\" y=\"{Height - 20}\" text-anchor=\"middle\">flash (KB)</text>");
        svg.AppendLine($"<text transform=\"translate(20 {(Top + Height - Bottom) / 2}) rotate(-90)\" text-anchor=\"middle\">validation top-1 (%)</text>");

        foreach (var p in points)
            svg.AppendLine($"<circle cx=\"{F(X(p.Cost.FlashBytes / 1024.0))}\" cy=\"{F(Y(p.Top1!.Value * 100))}\" r=\"4\" fill=\"{Colour(p.Cost.RamBytes)}\" opacity=\"0.85\"><title>{SvgText.Escape(p.Key)}: {F(p.Top1.Value * 100)} %, {p.Cost.RamBytes} B RAM, {p.Cost.FlashBytes} B flash, {p.Cost.LatencyMs:F1} ms</title></circle>");
        var frontPoints = points.Where(p => front.Contains(p.Key)).OrderBy(p => p.Cost.FlashBytes).ThenBy(p => p.Top1).ToList();
        svg.AppendLine($"<polyline fill=\"none\" stroke=\"black\" stroke-width=\"1\" points=\"{string.Join(" ", frontPoints.Select(p => $"{F(X(p.Cost.FlashBytes / 1024.0))},{F(Y(p.Top1!.Value * 100))}"))}\"/>");
        if (points.FirstOrDefault(p => p.Key == bestKey) is { } best)
            svg.AppendLine($"<circle cx=\"{F(X(best.Cost.FlashBytes / 1024.0))}\" cy=\"{F(Y(best.Top1!.Value * 100))}\" r=\"8\" fill=\"none\" stroke=\"red\" stroke-width=\"2\"><title>chosen: {SvgText.Escape(best.Key)}</title></circle>");

        int legendX = Width - Right + 20;
        svg.AppendLine($"<text x=\"{legendX}\" y=\"{Top + 10}\">peak RAM</text>");
        for (int i = 0; i <= 4; i++)
        {
            long ram = minRam + (maxRam - minRam) * i / 4;
            svg.AppendLine($"<circle cx=\"{legendX + 6}\" cy=\"{Top + 30 + 20 * i}\" r=\"5\" fill=\"{Colour(ram)}\"/><text x=\"{legendX + 16}\" y=\"{Top + 34 + 20 * i}\">{F(ram / 1024.0)} KB</text>");
        }
        svg.AppendLine($"<circle cx=\"{legendX + 6}\" cy=\"{Top + 150}\" r=\"8\" fill=\"none\" stroke=\"red\" stroke-width=\"2\"/><text x=\"{legendX + 18}\" y=\"{Top + 154}\">chosen</text>");
        svg.AppendLine($"<line x1=\"{legendX}\" y1=\"{Top + 175}\" x2=\"{legendX + 12}\" y2=\"{Top + 175}\" stroke=\"black\"/><text x=\"{legendX + 18}\" y=\"{Top + 179}\">Pareto front</text>");
        svg.AppendLine("</svg>");
        return svg.ToString();
    }

    private static (double Min, double Max) Pad(double min, double max)
    {
        double margin = Math.Max((max - min) * 0.05, 0.5);
        return (min - margin, max + margin);
    }
}
