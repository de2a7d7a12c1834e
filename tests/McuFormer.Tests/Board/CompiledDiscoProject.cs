using System.Text.Json;
using McuFormer.Model.Boards;
using McuFormer.Model.Json;
using McuFormer.Pipeline.Firmware;

namespace McuFormer.Tests.Board;

/// <summary>
/// One `mcuformer compile` of a small code-built model for the STM32F746G-DISCO, shared by the
/// board-integration tests: it writes renode/ and nanoframework/ and, with arm-none-eabi-gcc,
/// firmware.elf.
/// </summary>
public sealed class CompiledDiscoProject : IDisposable
{
    public const string BoardName = "stm32f746g-disco";
    private readonly TempFolder temp = new();

    public CompiledDiscoProject()
    {
        var model = TestModels.Write(TestModels.PatchMeanHead(), temp.Path);
        Folder = Path.Combine(temp.Path, "disco");
        Compile = CliRunner.Run("compile", model, "--board", BoardName, "--calib", TestModels.FashionMnist, "--calib-samples", "16", "--out", Folder);
    }

    public string Folder { get; }
    public CliRunner.Result Compile { get; }
    public string Scratch => temp.Path;

    public static BoardProfile Profile(string name) =>
        BoardProfile.Load(Path.Combine(TestModels.RepositoryRoot, "boards", "profiles", name + ".json"));

    public string Read(string relative) => File.ReadAllText(Path.Combine(Folder, relative));

    /// <summary>A minimal mcuformer.json, as compile writes it, for folders that need no real project.</summary>
    public static void WriteManifest(string folder, string board) =>
        File.WriteAllText(Path.Combine(folder, "mcuformer.json"), JsonSerializer.Serialize(new ProjectManifest
        {
            Model = "model.onnx",
            Board = board,
            Data = TestModels.FashionMnist,
            InputShape = [1, 28, 28],
            InputScale = 1 / 255.0,
            InputZeroPoint = -128,
            OutputSize = 10,
            Layers = [],
        }, JsonFiles.Options));

    public void RequireCompiled() => Assert.True(Compile.ExitCode == 0, Compile.Stderr + Compile.Stdout);

    public void Dispose() => temp.Dispose();
}

[CollectionDefinition(Name)]
public sealed class CompiledDiscoCollection : ICollectionFixture<CompiledDiscoProject>
{
    public const string Name = "compiled stm32f746g-disco project";
}
