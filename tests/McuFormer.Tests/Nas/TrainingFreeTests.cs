using System.Text.Json;
using McuFormer.Model.Datasets;
using McuFormer.Model.Onnx;
using McuFormer.Nas.Materialize;
using McuFormer.Nas.Space;
using McuFormer.Pipeline;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace McuFormer.Tests.Nas;

/// <summary>The training-free path: a plain ViT rebuilt from its SVD factors, and searched from the command line.</summary>
public class TrainingFreeTests
{
    private static float[][] Logits(string model, Dataset images)
    {
        using var session = new InferenceSession(model);
        string input = session.InputMetadata.Keys.Single();
        return [.. Enumerable.Range(0, images.Count).Select(i =>
        {
            using var results = session.Run([NamedOnnxValue.CreateFromTensor(input, new DenseTensor<float>(images.Sample(i).ToArray(), [1, .. images.SampleShape]))]);
            return results[0].AsTensor<float>().ToArray();
        })];
    }

    [Theory]
    [InlineData("vit_fmnist.onnx")]
    [InlineData("variants/mha_cls_erf_opset13.onnx")]
    [InlineData("variants/timm_cls_nobias_opset15.onnx")]
    public void FullRankOriginalPatchReproducesTheModel(string file)
    {
        string path = Path.Combine(TestModels.RepositoryRoot, "models", file);
        var graph = OnnxImporter.Import(path);
        var (space, materializer) = PretrainedSupernet.Build(graph, [0.25, 0.5], [7], new ValidationSplit("test", 0, 10));
        using var folder = new TempFolder();
        string rebuilt = Path.Combine(folder.Path, "rebuilt.onnx");
        materializer.WriteOnnx(PretrainedSupernet.Original(space, graph), rebuilt);
        var images = DatasetLoader.Load(TestModels.FashionMnist, graph.Input.SampleShape, DatasetSplit.Test, 4);
        var expected = Logits(path, images);
        var actual = Logits(rebuilt, images);
        for (int i = 0; i < images.Count; i++)
            for (int c = 0; c < expected[i].Length; c++)
                Assert.True(Math.Abs(expected[i][c] - actual[i][c]) < 1e-3, $"{file} image {i} class {c}: {actual[i][c]} vs {expected[i][c]}");

        // A lower rank really truncates: fewer parameters, different outputs.
        var low = PretrainedSupernet.Original(space, graph) with { RankRatio = [.. Enumerable.Repeat(0.25, space.Choices.Depth[0])] };
        Assert.True(materializer.Materialize(low).Blocks[0].Qkv.Layers.Count == 2);
    }

    [Fact]
    public void MeanPooledModelsAreRefusedWithAReason()
    {
        var graph = OnnxImporter.Import(Path.Combine(TestModels.Variants, "mha_mean_erf_opset16.onnx"));
        var error = Assert.Throws<SearchInputException>(() => PretrainedSupernet.Build(graph, [0.5], [], new ValidationSplit("test", 0, 10)));
        Assert.Contains("class token", error.Message);
        Assert.Contains("mha_mean_erf_opset16.onnx", error.Message);
    }

    [Fact]
    public void SearchOfAPlainOnnxModelWritesACompilableBestModel()
    {
        using var folder = new TempFolder();
        string output = Path.Combine(folder.Path, "search");
        var result = CliRunner.Run("search", TestModels.Fixture, "--board", "mps2-an500", "--data", TestModels.FashionMnist,
            "--flash-budget", "150KB", "--patch-sizes", "7", "--population", "4", "--generations", "1", "--parents", "2",
            "--val-samples", "100", "--test-samples", "100", "--out", output, "--json");
        Assert.True(result.ExitCode == 0, result.Stderr + result.Stdout);
        var report = JsonDocument.Parse(result.Stdout).RootElement;
        Assert.True(report.GetProperty("training_free").GetBoolean());
        Assert.False(report.GetProperty("original").GetProperty("fits").GetBoolean());
        Assert.True(report.GetProperty("best").GetProperty("cost").GetProperty("flash_bytes").GetInt64() <= 150 * 1024);
        var graph = OnnxImporter.Import(Path.Combine(output, "best.onnx"));
        Assert.True(graph.Ops.Sum(o => o.Parameters) < 139018);
    }
}
