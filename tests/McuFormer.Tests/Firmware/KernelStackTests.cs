using System.Text.RegularExpressions;
using McuFormer.Compiler.Bench;
using McuFormer.Model.Lowering;

namespace McuFormer.Tests.Firmware;

/// <summary>
/// The kernels' stack buffers against a board's stack: compile refuses a profile whose stack_size cannot hold the
/// operand buffer the model's layers take, before it writes anything.
/// </summary>
public class KernelStackTests
{
    [Fact]
    public void TheBufferSizesAreRuntimeCs()
    {
        var header = File.ReadAllText(Path.Combine(TestModels.RepositoryRoot, "runtime-c", "src", "kernel_dsp_dot.h"));
        int Words(string name) => int.Parse(Regex.Match(header, $@"#define {name} (\d+)").Groups[1].Value);
        Assert.Equal(KernelStack.BufferBytes, 4 * Words("DSP_DOT_BUFFER_WORDS"));
        Assert.Equal(KernelStack.WideBufferBytes, 4 * Words("DSP_DOT_WIDE_BUFFER_WORDS"));
    }

    [Fact]
    public void AStackTooSmallForTheWideBufferIsRefusedAndTheFixtureStillFits()
    {
        using var temp = new TempFolder();
        // Its MLP's second linear has 768 inputs: the 6 KB buffer.
        var vit = new SyntheticVit("mlp-768", 3, 32, 32, 16, 192, 1, 3, 4, 10);
        var model = Path.Combine(temp.Path, "mlp768.onnx");
        File.WriteAllBytes(model, Google.Protobuf.MessageExtensions.ToByteArray(vit.Build()));
        var images = Path.Combine(temp.Path, "images.npy");
        SyntheticImages.Write(images, 4, vit.Channels, vit.Height, vit.Width);
        var profiles = Path.Combine(temp.Path, "profiles");
        Directory.CreateDirectory(profiles);
        var small = Board.ProfileSchemaTests.Hostile(profiles, "layout.stack_size", "4096", "mps2-an500");

        var output = Path.Combine(temp.Path, "out");
        var refused = CliRunner.Run("compile", model, "--board", small, "--calib", images, "--calib-samples", "4", "--emit", "none", "--out", output);
        Assert.Equal(3, refused.ExitCode);
        Assert.Contains("need about 7168 bytes of stack", refused.Stderr);
        Assert.Contains("reserves 4096 (layout.stack_size)", refused.Stderr);
        Assert.False(Directory.Exists(output));

        var fixture = CliRunner.Run("compile", TestModels.Fixture, "--board", small, "--calib", TestModels.FashionMnist, "--calib-samples", "4",
            "--emit", "none", "--out", Path.Combine(temp.Path, "fixture"));
        Assert.True(fixture.ExitCode == 0, fixture.Stderr);
        var wide = CliRunner.Run("compile", model, "--board", "mps2-an500", "--calib", images, "--calib-samples", "4", "--emit", "none",
            "--out", Path.Combine(temp.Path, "wide"));
        Assert.True(wide.ExitCode == 0, wide.Stderr);
    }
}
