using Google.Protobuf;
using McuFormer.Model.Ir;
using McuFormer.Model.Onnx;
using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace McuFormer.Tests.Onnx;

/// <summary>
/// Runs an imported graph in float, op by op through its views, so that an import can be checked
/// against ONNX Runtime on the source model without quantizing or building C.
/// </summary>
public static class FloatGraphRunner
{
    public static float[] Run(ModelGraph graph, float[] input)
    {
        var buffers = new Dictionary<ActivationBuffer, float[]> { [graph.Input.Buffer] = input };
        foreach (var op in graph.Ops)
        {
            var output = new float[op.Output.ElementCount];
            buffers[op.Output] = output;
            Execute(op, output, view => buffers[view.Buffer]);
        }
        return Elements(graph.Output).Select(i => buffers[graph.Output.Buffer][i]).ToArray();
    }

    /// <summary>Buffer positions of a view's elements in row-major index order.</summary>
    private static IEnumerable<long> Elements(View view)
    {
        var index = new int[view.Rank];
        for (int i = 0; i < view.ElementCount; i++)
        {
            yield return view.IndexOf(index);
            for (int d = view.Rank - 1; d >= 0; d--)
            {
                if (++index[d] < view.Shape[d]) break;
                index[d] = 0;
            }
        }
    }

    private static void Execute(Op op, float[] output, Func<View, float[]> data)
    {
        switch (op)
        {
            case PatchEmbedOp p:
                {
                    var image = data(p.Image);
                    int channels = p.Channels, height = p.Image.Shape[1], width = p.Image.Shape[2], k = p.Patch;
                    for (int gy = 0; gy < p.GridH; gy++)
                        for (int gx = 0; gx < p.GridW; gx++)
                            for (int e = 0; e < p.Embed; e++)
                            {
                                double sum = p.Bias?[e] ?? 0;
                                for (int c = 0; c < channels; c++)
                                    for (int ky = 0; ky < k; ky++)
                                        for (int kx = 0; kx < k; kx++)
                                        {
                                            int y = gy * k + ky - p.PadTop, x = gx * k + kx - p.PadLeft;
                                            if (y < 0 || y >= height || x < 0 || x >= width) continue;
                                            sum += p.Weights[((e * channels + c) * k + ky) * k + kx] * image[p.Image.IndexOf([c, y, x])];
                                        }
                                output[(gy * p.GridW + gx) * p.Embed + e] = (float)sum;
                            }
                    break;
                }
            case LinearOp l:
                {
                    var x = data(l.Input);
                    for (int r = 0; r < l.Rows; r++)
                        for (int o = 0; o < l.OutFeatures; o++)
                        {
                            double sum = l.Bias?[o] ?? 0;
                            for (int i = 0; i < l.InFeatures; i++) sum += l.Weights[o * l.InFeatures + i] * x[l.Input.Offset + r * l.InputRowStride + i];
                            output[r * l.OutFeatures + o] = (float)sum;
                        }
                    break;
                }
            case LayerNormOp n:
                {
                    var x = data(n.Input);
                    for (int r = 0; r < n.Rows; r++)
                    {
                        var row = Enumerable.Range(0, n.Dim).Select(i => (double)x[n.Input.Offset + r * n.InputRowStride + i]).ToArray();
                        double mean = row.Average(), variance = row.Select(v => (v - mean) * (v - mean)).Average();
                        for (int i = 0; i < n.Dim; i++)
                            output[r * n.Dim + i] = (float)((row[i] - mean) / Math.Sqrt(variance + n.Epsilon) * n.Gamma[i] + n.Beta[i]);
                    }
                    break;
                }
            case ElementwiseOp e:
                {
                    var x = data(e.Input);
                    foreach (var at in Elements(e.Input)) output[at] = (float)e.Evaluate(x[at]);
                    break;
                }
            case MatMulOp m:
                {
                    var a = data(m.A);
                    var b = data(m.B);
                    for (int batch = 0; batch < m.Batch; batch++)
                        for (int i = 0; i < m.M; i++)
                            for (int j = 0; j < m.N; j++)
                            {
                                double sum = 0;
                                for (int p = 0; p < m.K; p++)
                                    sum += a[m.A.Offset + batch * m.ABatchStride + i * m.AStrides.Row + p * m.AStrides.Col]
                                        * b[m.B.Offset + batch * m.BBatchStride + p * m.BStrides.Row + j * m.BStrides.Col];
                                output[(i * m.Batch + batch) * m.N + j] = (float)(m.Alpha * sum);
                            }
                    break;
                }
            case SoftmaxOp s:
                {
                    var x = data(s.Input);
                    for (int r = 0; r < s.Rows; r++)
                    {
                        var row = x.AsSpan(s.Input.Offset + r * s.Length, s.Length);
                        float max = row.ToArray().Max();
                        double total = 0;
                        foreach (var v in row) total += Math.Exp(v - max);
                        for (int i = 0; i < s.Length; i++) output[s.Input.Offset + r * s.Length + i] = (float)(Math.Exp(row[i] - max) / total);
                    }
                    break;
                }
            case AddOp add:
                {
                    var a = data(add.A);
                    var b = data(add.B);
                    var positions = Elements(add.B).ToArray();
                    int i = 0;
                    foreach (var at in Elements(add.A)) output[at] = a[at] + b[positions[i++]];
                    break;
                }
            case AddConstantOp c:
                {
                    var x = data(c.Input);
                    foreach (var at in Elements(c.Input)) output[at] = x[at] + c.Constant[at];
                    break;
                }
            case ConcatOp concat:
                foreach (var part in concat.Parts)
                {
                    var destination = Elements(part.Destination).ToArray();
                    var values = part.Input is { } input
                        ? Elements(input).Select(at => data(input)[at]).ToArray()
                        : part.Constant!;
                    for (int i = 0; i < destination.Length; i++) output[destination[i]] = values[i];
                }
                break;
            case MeanTokensOp mean:
                {
                    var x = data(mean.Input);
                    for (int d = 0; d < mean.Dim; d++)
                    {
                        double sum = 0;
                        for (int r = 0; r < mean.Rows; r++) sum += x[mean.Input.Offset + r * mean.InputRowStride + d];
                        output[d] = (float)(sum / mean.Rows);
                    }
                    break;
                }
            case CopyOp copy:
                {
                    var x = data(copy.Input);
                    int i = 0;
                    foreach (var at in Elements(copy.Input)) output[i++] = x[at];
                    break;
                }
            default: throw new NotSupportedException(op.Kind);
        }
    }

    /// <summary>The model's single output for one input, by ONNX Runtime.</summary>
    public static float[] RunOnnxRuntime(ModelProto model, float[] input)
    {
        var shape = model.Graph.Input[0].Type.TensorType.Shape.Dim.Select(d => d.DimValue).ToArray();
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL };
        using var session = new InferenceSession(model.ToByteArray(), options);
        using var runOptions = new RunOptions();
        using var value = OrtValue.CreateTensorValueFromMemory(input, shape);
        using var results = session.Run(runOptions, [model.Graph.Input[0].Name], [value], [model.Graph.Output[0].Name]);
        return results[0].GetTensorDataAsSpan<float>().ToArray();
    }

    /// <summary>Imports the model and checks its float run against ONNX Runtime on a pseudo-random input.</summary>
    public static ModelGraph AssertImportMatchesOnnxRuntime(ModelProto model, double tolerance = 1e-4)
    {
        using var folder = new TempFolder();
        var graph = OnnxImporter.Import(TestModels.Write(model, folder.Path));
        var random = new Random(7);
        var input = Enumerable.Range(0, graph.Input.Buffer.ElementCount).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var expected = RunOnnxRuntime(model, input);
        var actual = Run(graph, input);
        Assert.Equal(expected.Length, actual.Length);
        double scale = Math.Max(1, expected.Max(Math.Abs));
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance * scale, $"output {i}: imported {actual[i]}, ONNX Runtime {expected[i]}");
        return graph;
    }
}
