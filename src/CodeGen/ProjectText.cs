using System.Text;

namespace McuFormer.CodeGen;

/// <summary>
/// Names from a model or a path (the model's file name, the output folder's) written into the
/// project's files besides model.c and its headers: comments and prose in the Makefile, the CMake
/// files, main.c, the Renode script, robot test and workflow, the nanoFramework shim and the
/// READMEs. C identifiers come from CIdentifiers and C literals from CText instead.
/// </summary>
public static class ProjectText
{
    /// <summary>
    /// The name with every character but ASCII letters, digits, '_', '.', '+', '-' and single spaces
    /// turned into '_', and no "--": text that no comment or line of those files can end early at
    /// (no line break, "*/", "-->", trailing '\'), and that make, CMake, a shell, YAML, Robot
    /// Framework, Markdown and XML read as plain characters (no '$', '#', quotes, '`', ';', '&lt;', '&amp;').
    /// </summary>
    public static string Label(string name)
    {
        var label = new StringBuilder(name.Length);
        foreach (char c in name)
        {
            char kept = char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '+' or '-' or ' ' ? c : '_';
            bool repeats = label.Length > 0 && label[^1] == kept && kept is '-' or ' ';
            if (!repeats) label.Append(kept);
        }
        return label.ToString();
    }

    /// <summary>The label of a name as one shell word: quoted when it holds a space, never read as an option.</summary>
    public static string ShellWord(string name)
    {
        var label = Label(name);
        if (label.StartsWith('-') || label.Length == 0) label = "./" + label;
        return label.Contains(' ') ? $"'{label}'" : label;
    }
}
