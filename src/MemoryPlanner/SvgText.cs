using System.Text;

namespace McuFormer.MemoryPlanner;

/// <summary>Names (buffers from a model, a board, a file) as the text of an SVG element or attribute.</summary>
public static class SvgText
{
    /// <summary>
    /// '&amp;', '&lt;', '&gt;', '"', tabs and line breaks as references, so every element keeps its line;
    /// every character XML 1.0 does not allow (other control characters, lone surrogates, U+FFFE,
    /// U+FFFF) as U+FFFD, so the file stays well-formed.
    /// </summary>
    public static string Escape(string text)
    {
        var escaped = new StringBuilder(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                escaped.Append(c).Append(text[++i]);
                continue;
            }
            escaped.Append(c switch
            {
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                '"' => "&quot;",
                '\t' or '\n' or '\r' => $"&#{(int)c};",
                < ' ' or '\uFFFE' or '\uFFFF' => "\uFFFD",
                _ when char.IsSurrogate(c) => "\uFFFD",
                _ => c.ToString(),
            });
        }
        return escaped.ToString();
    }
}
