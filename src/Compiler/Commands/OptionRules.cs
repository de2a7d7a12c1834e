using System.CommandLine;
using System.CommandLine.Parsing;

namespace McuFormer.Compiler.Commands;

/// <summary>
/// Ranges of numeric options, checked while the command line is parsed: a value outside its range
/// (NaN and infinities included) is a parse error, so the command exits 2 before it does anything.
/// </summary>
public static class OptionRules
{
    public static Option<int> AtLeast(this Option<int> option, int minimum) =>
        Rule(option, value => value >= minimum, $"must be at least {minimum}");

    public static Option<int?> AtLeast(this Option<int?> option, int minimum) =>
        Rule(option, value => value is null || value >= minimum, $"must be at least {minimum}");

    /// <summary>A number from minimum to maximum, both included.</summary>
    public static Option<double> Between(this Option<double> option, double minimum, double maximum) =>
        Rule(option, value => value >= minimum && value <= maximum, $"must be a number from {minimum} to {maximum}");

    /// <summary>A number above 0 and at most maximum.</summary>
    public static Option<double> Positive(this Option<double> option, double maximum) =>
        Rule(option, value => value > 0 && value <= maximum, $"must be a number above 0 and at most {maximum}");

    /// <summary>A finite number above 0.</summary>
    public static Option<double?> Positive(this Option<double?> option) =>
        Rule(option, value => value is not { } v || (v > 0 && double.IsFinite(v)), "must be a finite number above 0");

    /// <summary>A size as users write it (98304, 96KB, 1MB; see <see cref="ByteSize"/>), as bytes.</summary>
    public static Option<long?> Bytes(this Option<long?> option)
    {
        option.CustomParser = result =>
        {
            var text = result.Tokens.Single().Value;
            if (ByteSize.TryParse(text, out long bytes, out var problem)) return bytes;
            result.AddError($"{option.Name}: {problem}");
            return null;
        };
        return option;
    }

    /// <summary>Each value one of names; the error names them all on one line (the parser's own list takes one line each).</summary>
    public static Option<string[]> OneOf(this Option<string[]> option, IReadOnlyList<string> names)
    {
        option.Validators.Add(result =>
        {
            foreach (var token in result.Tokens.Where(t => !names.Contains(t.Value)))
                result.AddError($"{option.Name}: '{token.Value}' is not one of {string.Join(", ", names)}");
        });
        return option;
    }

    /// <param name="rule">what a value must be, as the message says it ("must be at least 1")</param>
    private static Option<T> Rule<T>(Option<T> option, Func<T, bool> holds, string rule)
    {
        option.Validators.Add(result =>
        {
            if (result.Tokens.Count == 0) return; // the default
            T value;
            try
            {
                value = result.GetValueOrDefault<T>();
            }
            catch (InvalidOperationException)
            {
                return; // not a number: the parser's own error says so
            }
            if (!holds(value)) result.AddError($"{option.Name} {rule}, not {string.Join(' ', result.Tokens.Select(t => t.Value))}");
        });
        return option;
    }
}
