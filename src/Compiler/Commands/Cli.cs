using System.CommandLine;
using McuFormer.CodeGen.Tools;
using McuFormer.Model.Boards;
using McuFormer.Model.Datasets;
using McuFormer.Model.Onnx;
using McuFormer.Pipeline;
using McuFormer.Pipeline.Firmware;
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
            ValidateCommand.Create(),
            AnalyzeCommand.Create(),
            BenchKernelsCommand.Create(),
            FlashCommand.Create(),
            SearchCommand.Create(),
        };
        return root.Parse(args).Invoke();
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
        ModelImportException or DatasetException or HostToolException or BoardException or SearchInputException => (BadInput, e.Message),
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
