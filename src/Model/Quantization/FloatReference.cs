using Google.Protobuf;
using McuFormer.Model.Onnx;
using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace McuFormer.Model.Quantization;

/// <summary>
/// The source model run in float by ONNX Runtime, with any intermediate values exposed as extra
/// outputs: the reference for calibration ranges and for every comparison.
/// </summary>
public sealed class FloatReference : IDisposable
{
    private readonly InferenceSession session;
    private readonly string path;
    private readonly string inputName;
    private readonly long[] inputShape;

    public FloatReference(OnnxModelFile file, IReadOnlyCollection<string> exposedValues)
    {
        var proto = file.Proto.Clone();
        var graph = proto.Graph;
        foreach (var tensor in graph.Initializer.Where(t => t.DataLocation == TensorProto.Types.DataLocation.External))
            Inline(tensor, file.Initializers[tensor.Name]);
        var existing = graph.Output.Select(o => o.Name).ToHashSet();
        foreach (var name in exposedValues.Where(n => !existing.Contains(n) && n != file.InputName))
            graph.Output.Add(new ValueInfoProto
            {
                Name = name,
                Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float } },
            });
        Outputs = graph.Output.Select(o => o.Name).ToList();
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL, LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
        try
        {
            session = new InferenceSession(proto.ToByteArray(), options);
        }
        catch (OnnxRuntimeException e)
        {
            throw new ModelImportException($"{file.Path}: ONNX Runtime cannot load the model: {e.Message.Split('\n')[0]}");
        }
        path = file.Path;
        inputName = file.InputName;
        inputShape = file.InputShape.Select(d => (long)d).ToArray();
    }

    public IReadOnlyList<string> Outputs { get; }

    /// <summary>Runs one sample; returns every exposed value (the input included) by name.</summary>
    public Dictionary<string, float[]> Run(ReadOnlySpan<float> sample)
    {
        // Every native handle the call uses lives in a local until the call returns: a handle made
        // inline in the argument list may be finalised while ONNX Runtime still reads it.
        using var runOptions = new RunOptions();
        using var input = OrtValue.CreateTensorValueFromMemory(sample.ToArray(), inputShape);
        using var results = RunSession(runOptions, input);
        var values = new Dictionary<string, float[]> { [inputName] = sample.ToArray() };
        for (int i = 0; i < Outputs.Count; i++) values[Outputs[i]] = results[i].GetTensorDataAsSpan<float>().ToArray();
        return values;
    }

    private IDisposableReadOnlyCollection<OrtValue> RunSession(RunOptions runOptions, OrtValue input)
    {
        try
        {
            return session.Run(runOptions, [inputName], [input], Outputs);
        }
        catch (OnnxRuntimeException e)
        {
            throw new ModelImportException($"{path}: ONNX Runtime cannot run the model: {e.Message.Split('\n')[0]}");
        }
    }

    private static void Inline(TensorProto tensor, ConstTensor value)
    {
        tensor.ExternalData.Clear();
        tensor.DataLocation = TensorProto.Types.DataLocation.Default;
        var bytes = (TensorProto.Types.DataType)tensor.DataType switch
        {
            TensorProto.Types.DataType.Float => value.Data.SelectMany(v => BitConverter.GetBytes((float)v)).ToArray(),
            TensorProto.Types.DataType.Int64 => value.Data.SelectMany(v => BitConverter.GetBytes((long)v)).ToArray(),
            TensorProto.Types.DataType.Int32 => value.Data.SelectMany(v => BitConverter.GetBytes((int)v)).ToArray(),
            TensorProto.Types.DataType.Double => value.Data.SelectMany(BitConverter.GetBytes).ToArray(),
            _ => value.Data.Select(v => (byte)(sbyte)v).ToArray(),
        };
        tensor.RawData = ByteString.CopyFrom(bytes);
    }

    public void Dispose() => session.Dispose();
}
