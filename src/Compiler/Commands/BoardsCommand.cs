using System.CommandLine;
using McuFormer.Model.Boards;
using McuFormer.Pipeline;
using Spectre.Console;

namespace McuFormer.Compiler.Commands;

public static class BoardsCommand
{
    public static Command Create()
    {
        var command = new Command("boards", "list the board profiles and their memory budgets");
        command.SetAction(_ => Cli.Guard(() =>
        {
            var table = new Table().AddColumn("board").AddColumn("cpu").AddColumn(new TableColumn("MHz").RightAligned())
                .AddColumn(new TableColumn("RAM").RightAligned()).AddColumn("RAM regions").AddColumn(new TableColumn("flash").RightAligned())
                .AddColumn("external").AddColumn("simulator");
            foreach (var b in new BoardCatalog(ToolPaths.Boards).All())
                table.AddRow(b.Name, b.Cpu, (b.ClockHz / 1_000_000).ToString(), $"{b.RamBytes / 1024} KB",
                    string.Join(", ", b.Ram.Select(r => $"{r.Name} {r.Size / 1024} KB")), $"{b.FlashBytes / 1024} KB",
                    string.Join(", ", b.External.Select(e => $"{e.Name} {e.Size / 1024 / 1024} MB")),
                    b.Simulator?.Kind ?? "");
            AnsiConsole.Write(table);
            return 0;
        }));
        return command;
    }
}
