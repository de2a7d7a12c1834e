using System.Diagnostics;
using McuFormer.Model.Ir;
using McuFormer.Model.Onnx;

namespace McuFormer.Tests.Onnx;

/// <summary>
/// Element-wise chains are DAGs (x + x reads x twice): importing and evaluating one visits each node once, and
/// nothing recurses along a chain, however long.
/// </summary>
public sealed class ElementwiseChainTests : IDisposable
{
    private readonly TempFolder folder = new();

    public void Dispose() => folder.Dispose();

    [Fact]
    public void ChainOfAddsOfATensorToItselfImportsAtOnce()
    {
        var model = TestModels.PatchMeanHead();
        var adds = Enumerable.Range(0, 30).Select(i => TestModels.Node($"double_{i}", "Add", [i == 0 ? "tokens" : $"d{i - 1}", i == 0 ? "tokens" : $"d{i - 1}"], [$"d{i}"]));
        TestModels.InsertAfter(model, "to_tokens", [.. adds]);
        var clock = Stopwatch.StartNew();
        var graph = OnnxImporter.Import(TestModels.Write(model, folder.Path));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
        var doubling = graph.Ops.OfType<ElementwiseOp>().Single();
        Assert.Equal(0.75 * (1 << 30), doubling.Evaluate(0.75));
    }

    [Fact]
    public void ElementwiseChainDeeperThanTheBoundIsRejectedWithoutRecursion()
    {
        var model = TestModels.PatchMeanHead();
        var chain = Enumerable.Range(0, 10_000).Select(i => TestModels.Node($"relu_{i}", "Relu", [i == 0 ? "tokens" : $"r{i - 1}"], [$"r{i}"])).ToArray();
        TestModels.InsertAfter(model, "to_tokens", chain);
        var path = TestModels.Write(model, folder.Path);
        Exception? error = null;
        // A small stack: the walk over the chain must not recurse.
        var thread = new Thread(() =>
        {
            try
            {
                OnnxImporter.Import(path);
            }
            catch (Exception e)
            {
                error = e;
            }
        }, 256 * 1024);
        thread.Start();
        thread.Join();
        Assert.IsType<ModelImportException>(error);
        Assert.Equal($"{path}: node 'relu_1000' (Relu, opset 17): the element-wise chain here is 1001 operations deep; mcuformer takes chains of at most 1000",
            error.Message);
    }

    [Fact]
    public void ChainAtTheDepthBoundEvaluatesOnASmallStack()
    {
        var expression = ElementwiseExpr.Input;
        for (int i = 0; i < ElementwiseExpr.MaxDepth; i++) expression = ElementwiseExpr.Unary("Neg", expression);
        double value = 0;
        var thread = new Thread(() => value = expression.Evaluate(2.5), 64 * 1024);
        thread.Start();
        thread.Join();
        Assert.Equal(2.5, value);
        Assert.Equal(ElementwiseExpr.MaxDepth, expression.Depth);
    }
}
