using System.Globalization;
using McuFormer.Fuzz;

const string usage = "usage: McuFormer.Fuzz --models DIR [--cases N] [--seed S] [--case I] [--out DIR] [--budget SECONDS] [--verbose]";
var settings = new FuzzSettings { ModelsFolder = "" };
int? single = null;
try
{
    for (int i = 0; i < args.Length; i++)
    {
        string Value() => i + 1 < args.Length ? args[++i] : throw new FormatException($"{args[i]} needs a value");
        int Number() => int.Parse(Value(), NumberStyles.None, CultureInfo.InvariantCulture);
        switch (args[i])
        {
            case "--models": settings = settings with { ModelsFolder = Value() }; break;
            case "--cases": settings = settings with { Cases = Number() }; break;
            case "--seed": settings = settings with { Seed = Number() }; break;
            case "--case": single = Number(); break;
            case "--out": settings = settings with { OutputFolder = Value() }; break;
            case "--budget": settings = settings with { Budget = TimeSpan.FromSeconds(Number()) }; break;
            case "--verbose": settings = settings with { Verbose = true }; break;
            default: throw new FormatException($"unknown option {args[i]}");
        }
    }
    if (settings.ModelsFolder.Length == 0) throw new FormatException("--models is required");
}
catch (Exception e) when (e is FormatException or OverflowException)
{
    Console.Error.WriteLine($"error: {e.Message}\n{usage}");
    return 2;
}
if (single is { } index) settings = settings with { FirstCase = index, Cases = 1 };

var summary = Fuzzer.Run(settings, Console.Out);
Console.WriteLine(summary);
return summary.Failures == 0 ? 0 : 1;
