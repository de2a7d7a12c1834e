using System.Text.Json;
using System.Xml.Linq;
using McuFormer.CodeGen;
using McuFormer.CodeGen.Tools;
using McuFormer.MemoryPlanner;
using McuFormer.Tests.Board;

namespace McuFormer.Tests.Firmware;

/// <summary>
/// A model whose file, node and tensor names, and an output folder whose name, hold what ends a
/// comment, a line, a string or a command in some generated file: every file stays well-formed
/// and nothing of the names runs (make, the shell) or compiles (C, CMake).
/// </summary>
[Collection(CompiledDiscoCollection.Name)]
public class HostileNamesTests(CompiledDiscoProject benign)
{
    /// <summary>Written by make or a shell only if a name got out of its comment or string.</summary>
    private const string MadeByMake = "made_by_make", MadeByShell = "made_by_shell";

    private static readonly string Breakers =
        $" */ int injected_symbol; /* ??/\n#define MCU_MODEL_OUTPUT_SIZE 0\n$(shell touch {MadeByMake}) `touch {MadeByShell}` $$(touch {MadeByShell}) " +
        "\"' \\ ; # --> ]]> <x y=\"1\"> &amp; ${X} @{Y} %{Z} \r\u0001\u2028é\\";

    private static string Hostile(string name) => name + Breakers;

    /// <summary>The generated text files, by extension (the Makefile besides).</summary>
    private static readonly string[] TextExtensions = [".c", ".h", ".ld", ".md", ".yml", ".robot", ".resc", ".repl", ".json", ".svg", ".csproj", ".props", ".targets", ".cs", ".cpp", ".cmake", ".txt"];

    /// <summary>model.c and the headers wrap calls at 120 characters, so their line counts follow the identifiers' lengths.</summary>
    private static readonly string[] WrappedByLength = ["model.c", "model.h", "model_weights.c", "model_weights.h"];

    private static ExternalTool.Result Run(string program, string folder, params string[] args) =>
        ExternalTool.Run(program, args, folder, TimeSpan.FromMinutes(5), program);

    [Fact]
    public void NamesThatBreakCommentsLinesAndCommandsStayInertInEveryGeneratedFile()
    {
        benign.RequireCompiled();
        using var temp = new TempFolder();
        var model = TestModels.Write(TestModels.Renamed(TestModels.PatchMeanHead(), Hostile, Hostile), temp.Path,
            $"hostile\n*x $(shell touch {MadeByMake}) `touch {MadeByShell}` ; # \\ \"q\" 'q' --> ${{X}} ??.onnx");
        var output = Path.Combine(temp.Path, $"out $(shell touch {MadeByMake}) `touch {MadeByShell}` ; # 'q' \"q\" --x");
        var compile = CliRunner.Run("compile", model, "--board", CompiledDiscoProject.BoardName, "--emit", "renode,nanoframework",
            "--calib", TestModels.FashionMnist, "--calib-samples", "16", "--out", output);
        Assert.True(compile.ExitCode == 0, compile.Stderr + compile.Stdout);

        // The firmware (make), the host build and the CMake project all build, and none has the injected declaration.
        var elf = Path.Combine(output, "firmware.elf");
        var symbols = Run("arm-none-eabi-nm", output, elf);
        Assert.Equal(0, symbols.ExitCode);
        Assert.DoesNotContain("injected", symbols.Output);
        var host = Run("make", output, "host_model");
        Assert.True(host.ExitCode == 0, host.Output);
        // CMake takes ';' in a path for a list separator, so the project is built from a copy under a plain name.
        var copy = Path.Combine(temp.Path, "copy");
        foreach (var file in Directory.GetFiles(output, "*", SearchOption.AllDirectories))
        {
            var to = Path.Combine(copy, Path.GetRelativePath(output, file));
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(file, to);
        }
        var cmakeBuild = Path.Combine(temp.Path, "cmake-build");
        var configure = Run("cmake", temp.Path, "-S", copy, "-B", cmakeBuild, "-DCMAKE_TOOLCHAIN_FILE=" + Path.Combine(copy, "cmake", "arm-none-eabi.cmake"));
        Assert.True(configure.ExitCode == 0, configure.Output);
        var build = Run("cmake", temp.Path, "--build", cmakeBuild);
        Assert.True(build.ExitCode == 0, build.Output);
        Assert.DoesNotContain("injected", Run("arm-none-eabi-nm", temp.Path, Path.Combine(cmakeBuild, "firmware.elf")).Output);
        foreach (var made in new[] { MadeByMake, MadeByShell })
        {
            Assert.DoesNotContain(Directory.GetFiles(temp.Path, "*", SearchOption.AllDirectories), f => Path.GetFileName(f) == made);
            Assert.False(File.Exists(Path.Combine(Environment.CurrentDirectory, made)), made);
        }

        // Every generated file is well-formed and has as many lines as for plain names: no name added one.
        var files = Directory.GetFiles(output, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(output, f))
            .Where(f => TextExtensions.Contains(Path.GetExtension(f)) || Path.GetFileName(f) == "Makefile").Order(StringComparer.Ordinal).ToList();
        Assert.Contains("renode/stm32f746g-disco.robot", files);
        Assert.Contains("nanoframework/native/McuFormer_Generated.cpp", files);
        foreach (var file in files)
        {
            var text = File.ReadAllText(Path.Combine(output, file));
            switch (Path.GetExtension(file))
            {
                case ".json": JsonDocument.Parse(text).Dispose(); break;
                case ".svg" or ".csproj" or ".props" or ".targets": XDocument.Parse(text); break;
            }
            Assert.DoesNotContain(text.Split('\n'), line => line.TrimStart().StartsWith("#define MCU_MODEL_OUTPUT_SIZE 0", StringComparison.Ordinal));
            if (!WrappedByLength.Contains(file))
                Assert.True(text.Split('\n').Length == benign.Read(file).Split('\n').Length, $"{file} has other lines than for plain names:\n{text}");
        }
        foreach (var buildFile in new[] { "Makefile", "CMakeLists.txt", "cmake/arm-none-eabi.cmake" })
            Assert.DoesNotContain("$(shell", File.ReadAllText(Path.Combine(output, buildFile)));
    }

    [Theory]
    [InlineData("vit_fmnist", "vit_fmnist", "vit_fmnist")]
    [InlineData("deit_tiny.fb_in1k-v2+qat", "deit_tiny.fb_in1k-v2+qat", "deit_tiny.fb_in1k-v2+qat")]
    [InlineData("a\nb */ $(x) `y` #;\\\"'", "a_b __ __x_ _y_ _____", "'a_b __ __x_ _y_ _____'")]
    [InlineData("a--b  c -->", "a-b c -_", "'a-b c -_'")]
    [InlineData("--help", "-help", "./-help")]
    [InlineData("", "", "./")]
    public void LabelsKeepPlainNamesAndReplaceAnythingElse(string name, string label, string shellWord)
    {
        Assert.Equal(label, ProjectText.Label(name));
        Assert.Equal(shellWord, ProjectText.ShellWord(name));
    }

    [Fact]
    public void SvgTextOfAnyNameIsWellFormedXml()
    {
        const string name = "a\u0001<b c=\"d\">&amp;\n\r\t\uFFFE\uD800z\U0001F600";
        var element = XElement.Parse($"<title name=\"{SvgText.Escape(name)}\">{SvgText.Escape(name)}</title>");
        const string readBack = "a\uFFFD<b c=\"d\">&amp;\n\r\t\uFFFD\uFFFDz\U0001F600";
        Assert.Equal(readBack, element.Value);
        Assert.Equal(readBack, element.Attribute("name")!.Value);
        Assert.DoesNotContain('\n', SvgText.Escape(name));
    }
}
