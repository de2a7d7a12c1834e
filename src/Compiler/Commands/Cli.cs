using System.CommandLine;
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
            ValidateCommand.Create(),
            AnalyzeCommand.Create(),
            BenchKernelsCommand.Create(),
            FlashCommand.Create(),
            SearchCommand.Create(),
        };
        using var interrupts = Interruption.Install();
        return root.Parse(args).Invoke();
    }

    /// <summary>Console for progress and messages, kept off stdout so that --json output stays one object.</summary>
    public static readonly IAnsiConsole Status = AnsiConsole.Create(new AnsiConsoleSettings
    {
        Out = new AnsiConsoleOutput(Console.Error),
    });

    /// <summary>Runs a command body; known failures become one line on stderr and exit code 2.</summary>
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
        catch (Exception e) when (e is ModelImportException or DatasetException or HostToolException or BoardException or SearchInputException or OutputFolderException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return BadInput;
        }
        catch (FirmwareDoesNotFitException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return DoesNotFit;
        }
        catch (Exception e) when (Environment.GetEnvironmentVariable("MCUFORMER_DEBUG") is null)
        {
            Console.Error.WriteLine($"internal error ({e.GetType().Name}): {e.Message} (set MCUFORMER_DEBUG=1 for details)");
            return 1;
        }
    }
}
