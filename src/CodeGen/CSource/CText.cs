using System.Globalization;
using System.Text;

namespace McuFormer.CodeGen.CSource;

/// <summary>Values and names from a model written safely into C source: literals, string literals, comments, wrapped calls.</summary>
public static class CText
{
    /// <summary>Generated lines stay within this many characters.</summary>
    public const int MaxLineLength = 120;

    public static string Literal(long v) => v switch
    {
        int.MinValue => "(-2147483647 - 1)",
        >= int.MinValue and <= int.MaxValue => v.ToString(CultureInfo.InvariantCulture),
        _ => $"INT64_C({v})",
    };

    public static string Float(double v) => ((float)v).ToString("G9", CultureInfo.InvariantCulture);

    /// <summary>
    /// The contents of a C string literal that reads back as the UTF-8 bytes of <paramref name="text"/>: quotes,
    /// backslashes and '?' (trigraphs) escaped, every byte outside printable ASCII in octal.
    /// </summary>
    public static string StringContents(string text)
    {
        var result = new StringBuilder();
        foreach (byte b in Encoding.UTF8.GetBytes(text))
            result.Append(b switch
            {
                (byte)'"' or (byte)'\\' or (byte)'?' => $"\\{(char)b}",
                >= 0x20 and < 0x7f => ((char)b).ToString(),
                _ => "\\" + Convert.ToString(b, 8).PadLeft(3, '0'),
            });
        return result.ToString();
    }

    /// <summary>Text for inside a /* */ comment on one line: no comment end, no line breaks, nothing outside printable ASCII.</summary>
    public static string Comment(string text, int maxLength = 60)
    {
        var printable = new string(text.Select(c => c is >= ' ' and < '\x7f' ? c : '?').ToArray()).Replace("*/", "*?/").Replace("/*", "/?*");
        return printable.Length <= maxLength ? printable : printable[..(maxLength - 3)] + "...";
    }

    /// <summary>
    /// `head(arg, arg, …)tail` on one line when it fits <see cref="MaxLineLength"/>, otherwise with the
    /// arguments on continuation lines aligned under the first.
    /// </summary>
    public static IEnumerable<string> Call(string indent, string head, IReadOnlyList<string> args, string tail)
    {
        var line = $"{indent}{head}({string.Join(", ", args)}){tail}";
        if (line.Length <= MaxLineLength || args.Count < 2)
        {
            yield return line;
            yield break;
        }
        int underFirst = indent.Length + head.Length + 1;
        var continuation = new string(' ', underFirst <= 40 ? underFirst : indent.Length + 8);
        var current = new StringBuilder($"{indent}{head}(");
        for (int i = 0; i < args.Count; i++)
        {
            var piece = args[i] + (i + 1 < args.Count ? "," : ")" + tail);
            bool first = i == 0 || current.Length == continuation.Length;
            if (!first && current.Length + 1 + piece.Length > MaxLineLength)
            {
                yield return current.ToString();
                current = new StringBuilder(continuation);
                first = true;
            }
            current.Append(first ? piece : " " + piece);
        }
        yield return current.ToString();
    }

    /// <summary>Array initializer values, each followed by a comma, packed into lines of at most <see cref="MaxLineLength"/>.</summary>
    public static IEnumerable<string> ValueLines(IEnumerable<string> values, string indent)
    {
        var line = new StringBuilder(indent);
        foreach (var value in values)
        {
            if (line.Length > indent.Length && line.Length + 1 + value.Length + 1 > MaxLineLength)
            {
                yield return line.ToString();
                line = new StringBuilder(indent);
            }
            line.Append(line.Length > indent.Length ? " " : "").Append(value).Append(',');
        }
        if (line.Length > indent.Length) yield return line.ToString();
    }
}
