using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace McuFormer.Tests.Firmware;

/// <summary>
/// What `compile` leaves in its output folder: a complete project or the folder as it was, whatever
/// fails or interrupts it; one compile at a time; the user's files kept; the same bytes at any path.
/// </summary>
public class OutputFolderTests
{
    private static string[] CompileArgs(string output, string board = "mps2-an500", string model = "") =>
        ["compile", model.Length > 0 ? model : TestModels.Fixture, "--board", board, "--calib", TestModels.FashionMnist, "--calib-samples", "16", "--out", output];

    private static void Compile(string output, params string[] extra)
    {
        var result = CliRunner.Run([.. CompileArgs(output), .. extra]);
        Assert.True(result.ExitCode == 0, result.Stderr);
    }

    /// <summary>Every file under folder by relative path, with its bytes.</summary>
    private static SortedDictionary<string, byte[]> Snapshot(string folder) =>
        new(Directory.GetFiles(folder, "*", SearchOption.AllDirectories).ToDictionary(f => Path.GetRelativePath(folder, f), File.ReadAllBytes),
            StringComparer.Ordinal);

    private static void AssertSameFiles(SortedDictionary<string, byte[]> expected, SortedDictionary<string, byte[]> actual)
    {
        Assert.Equal(expected.Keys, actual.Keys);
        Assert.All(expected, file => Assert.True(file.Value.AsSpan().SequenceEqual(actual[file.Key]), $"{file.Key} differs"));
    }

    /// <summary>The lock and staging folders compile puts beside DIR while it runs.</summary>
    private static string[] Leftovers(string folder) =>
        [.. Directory.GetFileSystemEntries(Path.GetDirectoryName(folder)!).Select(e => Path.GetFileName(e)).Where(n => n.StartsWith(Path.GetFileName(folder) + ".", StringComparison.Ordinal))];

    /// <summary>DIR holds what it held before, and nothing of the run that failed is left beside it.</summary>
    private static void AssertUntouched(SortedDictionary<string, byte[]> before, string folder)
    {
        AssertSameFiles(before, Snapshot(folder));
        Assert.Empty(Leftovers(folder));
    }

    private static string LastLine(string text) => text.Trim().Split('\n')[^1];

    [Fact]
    public void FailedLinkLeavesThePreviousProjectAsItWas()
    {
        using var temp = new TempFolder();
        var output = Path.Combine(temp.Path, "project");
        Compile(output, "--emit", "none");
        var before = Snapshot(output);

        // Room for the constants beside a small code reserve, but not for the code itself: the link overflows flash.
        var profile = JsonNode.Parse(File.ReadAllText(Path.Combine(TestModels.RepositoryRoot, "boards", "profiles", "mps2-an500.json")))!;
        profile["name"] = "small-flash";
        profile["flash"]!["size"] = 180 * 1024;
        profile["layout"]!["code_reserve"] = 8 * 1024;
        var board = Path.Combine(temp.Path, "small-flash.json");
        File.WriteAllText(board, profile.ToJsonString());
        var result = CliRunner.Run(CompileArgs(output, board));

        Assert.Equal(3, result.ExitCode);
        Assert.StartsWith($"error: {output}: firmware.elf does not fit: region FLASH overflowed by", LastLine(result.Stderr));
        AssertUntouched(before, output);
    }

    /// <summary>The processes below root, from /proc: (id, name).</summary>
    private static List<(int Id, string Name)> Descendants(int root)
    {
        var parents = new Dictionary<int, int>();
        foreach (var folder in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(folder), out int id)) continue;
            try
            {
                var stat = File.ReadAllText(Path.Combine(folder, "stat"));
                parents[id] = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1]);
            }
            catch (IOException)
            {
                // It ended meanwhile.
            }
        }
        var found = new List<(int, string)>();
        var pending = new Queue<int>([root]);
        while (pending.TryDequeue(out int parent))
            foreach (var (child, _) in parents.Where(p => p.Value == parent))
            {
                found.Add((child, NameOf(child) ?? "?"));
                pending.Enqueue(child);
            }
        return found;
    }

    private static string? NameOf(int id)
    {
        try
        {
            return File.ReadAllText($"/proc/{id}/comm").Trim();
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>Whether a process still runs (a zombie waiting for its parent does not).</summary>
    private static bool Runs(int id)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{id}/stat");
            return stat[stat.LastIndexOf(')') + 2] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static void Signal(int id, string signal)
    {
        using var kill = Process.Start("kill", [$"-{signal}", id.ToString()]);
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }

    [Theory]
    [InlineData("INT", 130)]
    [InlineData("TERM", 143)]
    public void SignalDuringTheFirmwareBuildStopsTheBuildAndLeavesTheFolderAsItWas(string signal, int exitCode)
    {
        using var temp = new TempFolder();
        var output = Path.Combine(temp.Path, "project");
        Compile(output, "--emit", "none");
        var before = Snapshot(output);

        // The compiler waits before it starts, so the signal surely comes while make runs, however loaded the machine.
        var slowCompiler = Path.Combine(temp.Path, "bin");
        Directory.CreateDirectory(slowCompiler);
        var realCompiler = Environment.GetEnvironmentVariable("PATH")!.Split(':').Select(d => Path.Combine(d, "arm-none-eabi-gcc")).First(File.Exists);
        var wrapper = Path.Combine(slowCompiler, "arm-none-eabi-gcc");
        File.WriteAllText(wrapper, $"#!/bin/sh\nsleep 20\nexec '{realCompiler}' \"$@\"\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(wrapper, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var path = new Dictionary<string, string> { ["PATH"] = slowCompiler + ":" + Environment.GetEnvironmentVariable("PATH") };
        var compile = CliRunner.Start(path, [.. CompileArgs(output), "--emit", "none"]);
        var clock = Stopwatch.StartNew();
        List<(int Id, string Name)> builders;
        do
        {
            if (compile.HasExited) Assert.Fail("compile ended before it built the firmware: " + compile.Finish().Stderr);
            Assert.True(clock.Elapsed < TimeSpan.FromMinutes(5), "make never started");
            Thread.Sleep(20);
            builders = Descendants(compile.Id);
        }
        while (!builders.Any(p => p.Name == "make"));
        Signal(compile.Id, signal);
        var result = compile.Finish();

        Assert.Equal(exitCode, result.ExitCode);
        Assert.Equal($"error: interrupted by SIG{signal}; the output folders were left as they were", LastLine(result.Stderr));
        // The kill of the build's tree is sent before compile exits; give the system a moment to deliver it.
        var survivors = builders.Where(p => Runs(p.Id)).ToList();
        for (var wait = Stopwatch.StartNew(); survivors.Count > 0 && wait.Elapsed < TimeSpan.FromSeconds(10); survivors = survivors.Where(p => Runs(p.Id)).ToList())
            Thread.Sleep(50);
        Assert.Empty(survivors);
        AssertUntouched(before, output);
    }

    [Fact]
    public void SecondCompileIntoTheSameFolderIsRefusedWhileTheFirstRuns()
    {
        using var temp = new TempFolder();
        var output = Path.Combine(temp.Path, "project");
        var first = CliRunner.Start([.. CompileArgs(output), "--emit", "none"]);
        var lockFile = output + ".lock";
        for (var clock = Stopwatch.StartNew(); !(File.Exists(lockFile) && new FileInfo(lockFile).Length > 0); Thread.Sleep(20))
        {
            if (first.HasExited) Assert.Fail("the first compile ended before it was seen: " + first.Finish().Stderr);
            Assert.True(clock.Elapsed < TimeSpan.FromMinutes(1), "no lock file");
        }

        var second = CliRunner.Run([.. CompileArgs(output), "--emit", "none"]);

        Assert.Equal(2, second.ExitCode);
        Assert.Equal($"error: {output} is being written by another mcuformer (process {first.Id}); wait for it to finish or choose another --out",
            LastLine(second.Stderr));
        var done = first.Finish();
        Assert.True(done.ExitCode == 0, done.Stderr);
        Assert.True(File.Exists(Path.Combine(output, "report.json")));
        Assert.Empty(Leftovers(output));
    }

    [Fact]
    public void RecompileKeepsTheUsersFilesAndRefusesToLoseTheirEdits()
    {
        using var temp = new TempFolder();
        var output = Path.Combine(temp.Path, "project");
        Compile(output, "--emit", "none");
        File.WriteAllText(Path.Combine(output, "NOTES.md"), "flashed on board 3\n");
        Directory.CreateDirectory(Path.Combine(output, "board", "mine"));
        File.WriteAllText(Path.Combine(output, "board", "mine", "pins.h"), "#define LED 13\n");
        Directory.CreateDirectory(Path.Combine(output, "empty"));

        Compile(output, "--emit", "none");
        Assert.Equal("flashed on board 3\n", File.ReadAllText(Path.Combine(output, "NOTES.md")));
        Assert.Equal("#define LED 13\n", File.ReadAllText(Path.Combine(output, "board", "mine", "pins.h")));
        Assert.True(Directory.Exists(Path.Combine(output, "empty")));
        var files = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "mcuformer.json"))).RootElement.GetProperty("files");
        Assert.True(files.TryGetProperty("main.c", out _));
        Assert.True(files.TryGetProperty("runtime-c/src/linear_s8.c", out _));
        Assert.False(files.TryGetProperty("NOTES.md", out _));

        var main = Path.Combine(output, "main.c");
        File.AppendAllText(main, "/* my change */\n");
        var before = Snapshot(output);
        var refused = CliRunner.Run([.. CompileArgs(output), "--emit", "none"]);
        Assert.Equal(2, refused.ExitCode);
        Assert.Equal($"error: {output}: main.c changed since mcuformer wrote it; move your version out of the folder (compile writes the file again), or choose another --out",
            LastLine(refused.Stderr));
        AssertUntouched(before, output);

        File.Move(main, Path.Combine(temp.Path, "main.c"));
        Compile(output, "--emit", "none");
        Assert.DoesNotContain("my change", File.ReadAllText(main));
        Assert.Equal("flashed on board 3\n", File.ReadAllText(Path.Combine(output, "NOTES.md")));
    }

    [Fact]
    public void FileOfTheUsersWhereTheNewProjectWritesOneIsRefused()
    {
        using var temp = new TempFolder();
        var output = Path.Combine(temp.Path, "disco");
        var board = "stm32f746g-disco";
        var first = CliRunner.Run([.. CompileArgs(output, board), "--emit", "none"]);
        Assert.True(first.ExitCode == 0, first.Stderr);
        Directory.CreateDirectory(Path.Combine(output, "renode"));
        File.WriteAllText(Path.Combine(output, "renode", "stm32f746g-disco.robot"), "*** my own test ***\n");
        var before = Snapshot(output);

        var result = CliRunner.Run([.. CompileArgs(output, board), "--emit", "renode"]);

        Assert.Equal(2, result.ExitCode);
        Assert.Equal($"error: {output}: renode/stm32f746g-disco.robot is not mcuformer's, but the new project writes files of those names; "
            + "move them out of the folder, or choose another --out", LastLine(result.Stderr));
        AssertUntouched(before, output);
    }

    [Fact]
    public void FolderWhoseManifestListsNoFilesIsNotReplaced()
    {
        using var temp = new TempFolder();
        var output = Path.Combine(temp.Path, "old");
        Directory.CreateDirectory(output);
        File.WriteAllText(Path.Combine(output, "mcuformer.json"), """{ "model": "m.onnx", "board": "mps2-an500", "data": "d", "input_shape": [1, 28, 28], "input_scale": 1, "input_zero_point": 0, "output_size": 10, "layers": [] }""");
        File.WriteAllText(Path.Combine(output, "main.c"), "int main(void) { return 0; }\n");

        var result = CliRunner.Run([.. CompileArgs(output), "--emit", "none"]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("does not list the files mcuformer wrote (an older mcuformer wrote it)", LastLine(result.Stderr));
        Assert.Equal(["main.c", "mcuformer.json"], Snapshot(output).Keys);
    }

    [Fact]
    public void SameInputsGiveTheSameProjectByteForByteAtAnyPath()
    {
        using var temp = new TempFolder();
        // The model at the same place relative to each project, so the relative paths in the JSON files agree.
        var projects = new[] { "first", "second-somewhere-else" }.Select(root =>
        {
            var model = Path.Combine(temp.Path, root, "model.onnx");
            Directory.CreateDirectory(Path.GetDirectoryName(model)!);
            File.Copy(TestModels.Fixture, model);
            return (Model: model, Output: Path.Combine(temp.Path, root, "out", "disco"));
        }).ToList();
        foreach (var (model, output) in projects)
        {
            var result = CliRunner.Run([.. CompileArgs(output, "stm32f746g-disco", model), "--emit", "renode"]);
            Assert.True(result.ExitCode == 0, result.Stderr);
        }

        var first = Snapshot(projects[0].Output);
        Assert.Contains("firmware.elf", first.Keys);
        Assert.Contains("firmware.map", first.Keys);
        Assert.Contains(Path.Combine("renode", "stm32f746g-disco.robot"), first.Keys);
        AssertSameFiles(first, Snapshot(projects[1].Output));
    }
}
