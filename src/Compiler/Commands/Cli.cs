using System.CommandLine;
using System.CommandLine.Parsing;
using McuFormer.CodeGen.Tools;
using McuFormer.Model.Boards;
using McuFormer.Model.Datasets;
using McuFormer.Model.Onnx;
using McuFormer.Pipeline;
using McuFormer.Pipeline.Firmware;
using McuFormer.Pipeline.Output;
using Spectre.Console;

namespace McuFormer.Compiler.Commands;

/// <summary>The `mcuformer` command line.</summary>
public static class Cli
{
    /// <summary>Exit code for input the tool rejects (bad model, bad data, missing tool).</summary>
    public const int BadInput = 2;

    /// <summary>Exit code for a model that does not fit the board's RAM or flash.</summary>
    public const int DoesNotFit = 3;

    public static int Run(string[] args)
    {
        var root = new RootCommand("mcuformer: compiles vision transformers to int8 C for microcontrollers")
        {
            BoardsCommand.Create(),
            CompileCommand.Create(),
            SimulateCommand.Create(),
            DemoCommand.Create(),
            BenchPlanCommand.Create(),
            BenchModelCommand.Create(),
            ValidateCommand.Create(),
            AnalyzeCommand.Create(),
            BenchKernelsCommand.Create(),
            FlashCommand.Create(),
            SearchCommand.Create(),
        };
        var parse = root.Parse(args);
        var errors = parse.Errors.Select(e => e.Message).Concat(UnknownOptions(parse)).ToList();
        if (errors.Count == 0)
        {
            using var interrupts = Interruption.Install();
            return parse.Invoke();
        }
        foreach (var error in errors) Console.Error.WriteLine($"error: {error}");
        return BadInput;
    }

    /// <summary>
    /// Tokens written as options that no option of the command has. The parser takes such a token
    /// for the value of an argument (compile --bogus would compile a model named "--bogus"), so they
    /// are looked for here: "--anything" and "-x", unless after "--".
    /// </summary>
    private static IEnumerable<string> UnknownOptions(ParseResult parse)
    {
        foreach (var token in parse.Tokens.TakeWhile(t => t.Type != TokenType.DoubleDash))
        {
            bool looksLikeOption = token.Value.StartsWith("--", StringComparison.Ordinal) || (token.Value.Length == 2 && token.Value[0] == '-' && char.IsAsciiLetter(token.Value[1]));
            if (token.Type == TokenType.Argument && looksLikeOption && !parse.UnmatchedTokens.Contains(token.Value))
                yield return $"unknown option '{token.Value}' (see mcuformer {parse.CommandResult.Command.Name} --help)";
        }
    }

    /// <summary>Console for progress and messages, kept off stdout so that --json output stays one object.</summary>
    public static readonly IAnsiConsole Status = AnsiConsole.Create(new AnsiConsoleSettings
    {
        Out = new AnsiConsoleOutput(Console.Error),
    });

    /// <summary>
    /// The exit code and message of a failure that the input causes: <see cref="BadInput"/> for a model, data, board or
    /// tool the command cannot take, <see cref="DoesNotFit"/> for a model too big for the board; null for any other
    /// exception, which is a bug.
    /// </summary>
    public static (int ExitCode, string Message)? Rejection(Exception e) => e switch
    {
        ModelImportException or DatasetException or HostToolException or BoardException or SearchInputException or OutputFolderException
            or OptionException => (BadInput, e.Message),
        FirmwareDoesNotFitException => (DoesNotFit, e.Message),
        _ => null,
    };

    /// <summary>Runs a command body; a rejection (<see cref="Rejection"/>) becomes one line on stderr and its exit code.</summary>
    public static int Guard(Func<int> body)
    {
        try
        {
            return body();
        }
        // After a signal, whatever the work threw on its way out (a cancellation, a tool's files gone) is the interruption.
        catch (Exception) when (Interruption.Requested)
        {
            Interruption.Acknowledge();
            Console.Error.WriteLine($"error: {Interruption.Message}");
            return Interruption.ExitCode;
        }
        catch (Exception e) when (Rejection(e) is { } rejection)
        {
            Console.Error.WriteLine($"error: {rejection.Message}");
            return rejection.ExitCode;
        }
        catch (Exception e) when (Environment.GetEnvironmentVariable("MCUFORMER_DEBUG") is null)
        {
            Console.Error.WriteLine($"internal error ({e.GetType().Name}): {e.Message} (set MCUFORMER_DEBUG=1 for details)");
            return 1;
        }
    }
}

/// <summary>An option's value that the command cannot use; the message names the option.</summary>
public sealed class OptionException(string option, string problem) : Exception($"{option}: {problem}");
