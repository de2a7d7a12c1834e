using System.Text.RegularExpressions;

namespace McuFormer.Model.Lowering;

/// <summary>
/// Names from a model (ONNX node and tensor names, which may hold any character) turned into C
/// identifiers that cannot collide with C keywords, the C library's types, the runtime's
/// names or the generated code's own, and stay short enough for readable lines.
/// </summary>
public static partial class CIdentifiers
{
    /// <summary>The longest stem kept; longer names keep their end, where ONNX names are most specific.</summary>
    public const int MaxStemLength = 48;

    private static readonly HashSet<string> Keywords =
    [
        "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum", "extern", "float",
        "for", "goto", "if", "inline", "int", "long", "register", "restrict", "return", "short", "signed", "sizeof", "static",
        "struct", "switch", "typedef", "union", "unsigned", "void", "volatile", "while", "_Bool", "_Complex", "_Imaginary",
        "bool", "true", "false", "asm", "NULL", "at", "status", "hook", "context", "user", "read_band", "run_layers",
    ];

    /// <summary>Prefixes and forms the runtime, the C library and the generated code use for their own names.</summary>
    [GeneratedRegex("^(mcu_|MCU_|arena_|streamed_arena_|_|[A-Z_0-9]+$)|_t$")]
    private static partial Regex Reserved();

    /// <summary>A C identifier for a model name: letters and digits kept, everything else '_', never empty or reserved.</summary>
    public static string Stem(string name)
    {
        var stem = new string(name.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '_').ToArray()).Trim('_');
        while (stem.Contains("__")) stem = stem.Replace("__", "_");
        if (stem.Length > MaxStemLength) stem = stem[^MaxStemLength..].TrimStart('_');
        if (stem.Length == 0 || char.IsAsciiDigit(stem[0]) || Keywords.Contains(stem) || Reserved().IsMatch(stem)) stem = "op_" + stem;
        return stem;
    }

    /// <summary>Hands out identifiers that are unique among those it has handed out: name, name_2, name_3, …</summary>
    public sealed class Registry
    {
        private readonly HashSet<string> used = new(StringComparer.Ordinal);

        public string Unique(string name)
        {
            var unique = name;
            for (int n = 2; !used.Add(unique); n++) unique = $"{name}_{n}";
            return unique;
        }
    }
}
