using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace McuFormer.Model.Onnx;

/// <summary>
/// Folds a node whose inputs are all constants by running it in ONNX Runtime: a one-node model
/// with the constants as initializers, at the file's opset. Any operator ONNX Runtime implements
/// folds to exactly the values the float reference computes from the same file.
/// </summary>
public static class OrtNodeEvaluator
{
    /// <summary>The node's outputs by name. Throws ModelImportException naming the node when ONNX Runtime refuses it.</summary>
    public static Dictionary<string, ConstTensor> Evaluate(OnnxNode node, IReadOnlyList<ConstTensor?> inputs, OnnxModelFile file)
    {
        var graph = new GraphProto { Name = "fold" };
        var proto = new NodeProto { Name = node.Name, OpType = node.OpType, Domain = node.Domain };
        proto.Input.AddRange(node.Inputs);
        proto.Output.AddRange(node.Outputs);
        proto.Attribute.AddRange(node.Attributes.Values);
        graph.Node.Add(proto);
        var initialized = new HashSet<string>();
        for (int i = 0; i < node.Inputs.Count; i++)
            if (node.HasInput(i) && initialized.Add(node.Inputs[i]))
                graph.Initializer.Add(TensorReader.Write(node.Inputs[i],
                    (i < inputs.Count ? inputs[i] : null) ?? throw file.Error(node, $"input {i} is not a constant")));
        var outputNames = node.Outputs.Where(o => o.Length > 0).ToList();
        foreach (var name in outputNames) graph.Output.Add(new ValueInfoProto { Name = name });
        var model = new ModelProto { IrVersion = file.Proto.IrVersion, Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = file.Opset });

        try
        {
            // Every native handle lives in a local until the run returns: a handle made inline in
            // an argument list may be finalised while ONNX Runtime still reads it.
            using var options = new SessionOptions
            {
                GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL,
                LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL,
                IntraOpNumThreads = 1,
            };
            using var session = new InferenceSession(model.ToByteArray(), options);
            // Shape inference knows the output's size from the constant inputs: refuse a huge one before it is computed.
            foreach (var name in outputNames)
                if (session.OutputMetadata[name].Dimensions is var dims && dims.All(d => d >= 0)) FoldableShape(dims.Select(d => (long)d), node, file);
            using var runOptions = new RunOptions();
            using var results = session.Run(runOptions, Array.Empty<string>(), Array.Empty<OrtValue>(), outputNames);
            var folded = new Dictionary<string, ConstTensor>();
            for (int i = 0; i < outputNames.Count; i++) folded[outputNames[i]] = Read(results[i], node, file);
            return folded;
        }
        catch (OnnxRuntimeException e)
        {
            throw file.Error(node, $"ONNX Runtime cannot evaluate the operator on its constant inputs: {e.Message.Split('\n')[0].Trim()}");
        }
    }

    private static ConstTensor Read(OrtValue value, OnnxNode node, OnnxModelFile file)
    {
        if (!value.IsTensor) throw file.Error(node, "the operator's output is not a tensor");
        var info = value.GetTensorTypeAndShape();
        var shape = FoldableShape(info.Shape, node, file);
        var type = (DataType)(int)info.ElementDataType;
        double[] data = info.ElementDataType switch
        {
            TensorElementType.Float => ToDoubles<float>(value, v => v),
            TensorElementType.Double => ToDoubles<double>(value, v => v),
            TensorElementType.Float16 => ToDoubles<Float16>(value, v => (float)v),
            TensorElementType.Int64 => ToDoubles<long>(value, v => v),
            TensorElementType.Int32 => ToDoubles<int>(value, v => v),
            TensorElementType.Int16 => ToDoubles<short>(value, v => v),
            TensorElementType.Int8 => ToDoubles<sbyte>(value, v => v),
            TensorElementType.UInt64 => ToDoubles<ulong>(value, v => v),
            TensorElementType.UInt32 => ToDoubles<uint>(value, v => v),
            TensorElementType.UInt16 => ToDoubles<ushort>(value, v => v),
            TensorElementType.UInt8 => ToDoubles<byte>(value, v => v),
            TensorElementType.Bool => ToDoubles<bool>(value, v => v ? 1 : 0),
            _ => throw file.Error(node, $"the operator's output has element type {info.ElementDataType}, which mcuformer cannot hold as a constant"),
        };
        return new ConstTensor(type, shape, data);
    }

    /// <summary>The shape of a folded output, checked as <see cref="ConstantEvaluator.FoldableShape"/> checks one.</summary>
    private static int[] FoldableShape(IEnumerable<long> dims, OnnxNode node, OnnxModelFile file)
    {
        var shape = dims.ToArray();
        if (shape.Any(d => d is < 0 or > int.MaxValue))
            throw file.Error(node, $"the output's shape [{string.Join(", ", shape)}] has a dimension outside 0 to {int.MaxValue}");
        return ConstantEvaluator.FoldableShape(shape.Select(d => (int)d).ToArray(), node, file);
    }

    private static double[] ToDoubles<T>(OrtValue value, Func<T, double> convert) where T : unmanaged
    {
        var span = value.GetTensorDataAsSpan<T>();
        var data = new double[span.Length];
        for (int i = 0; i < span.Length; i++) data[i] = convert(span[i]);
        return data;
    }
}
