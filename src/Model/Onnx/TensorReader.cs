using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace McuFormer.Model.Onnx;

/// <summary>Decodes an ONNX TensorProto (raw, typed or external data) into a constant.</summary>
public static class TensorReader
{
    public static ConstTensor Read(TensorProto tensor, string modelFolder, string modelPath)
    {
        var shape = tensor.Dims.Select(d => checked((int)d)).ToArray();
        int count = Ir.Shapes.Product(shape);
        var type = (DataType)tensor.DataType;
        var raw = tensor.DataLocation == TensorProto.Types.DataLocation.External
            ? ReadExternal(tensor, modelFolder, modelPath)
            : tensor.RawData.Span;
        var data = new double[count];
        var kind = type switch
        {
            DataType.Float or DataType.Double => ConstKind.Float,
            DataType.Bool => ConstKind.Bool,
            DataType.Int64 or DataType.Int32 or DataType.Int8 or DataType.Uint8 or DataType.Int16 => ConstKind.Int,
            _ => throw new ModelImportException($"{modelPath}: tensor '{tensor.Name}' has unsupported data type {type}"),
        };
        if (raw.Length > 0)
        {
            int width = type switch
            {
                DataType.Float or DataType.Int32 => 4,
                DataType.Double or DataType.Int64 => 8,
                DataType.Int16 => 2,
                _ => 1,
            };
            if (raw.Length != (long)count * width)
                throw new ModelImportException($"{modelPath}: tensor '{tensor.Name}' holds {raw.Length} bytes, expected {(long)count * width} for shape {Ir.Shapes.Format(shape)}");
            for (int i = 0; i < count; i++)
            {
                var bytes = raw.Slice(i * width, width);
                data[i] = type switch
                {
                    DataType.Float => BitConverter.ToSingle(bytes),
                    DataType.Double => BitConverter.ToDouble(bytes),
                    DataType.Int32 => BitConverter.ToInt32(bytes),
                    DataType.Int64 => BitConverter.ToInt64(bytes),
                    DataType.Int16 => BitConverter.ToInt16(bytes),
                    DataType.Int8 => (sbyte)bytes[0],
                    _ => bytes[0],
                };
            }
            return new ConstTensor(kind, shape, data);
        }
        IReadOnlyList<double> typed = type switch
        {
            DataType.Float => tensor.FloatData.Select(v => (double)v).ToList(),
            DataType.Double => tensor.DoubleData.ToList(),
            DataType.Int64 => tensor.Int64Data.Select(v => (double)v).ToList(),
            _ => tensor.Int32Data.Select(v => (double)v).ToList(),
        };
        if (typed.Count != count)
            throw new ModelImportException($"{modelPath}: tensor '{tensor.Name}' holds {typed.Count} values, expected {count} for shape {Ir.Shapes.Format(shape)}");
        for (int i = 0; i < count; i++) data[i] = typed[i];
        return new ConstTensor(kind, shape, data);
    }

    private static ReadOnlySpan<byte> ReadExternal(TensorProto tensor, string modelFolder, string modelPath)
    {
        var entries = tensor.ExternalData.ToDictionary(e => e.Key, e => e.Value);
        if (!entries.TryGetValue("location", out var location) || location.Length == 0)
            throw new ModelImportException($"{modelPath}: tensor '{tensor.Name}' is stored externally but names no location");
        var folder = Path.GetFullPath(modelFolder).TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar;
        var full = Path.GetFullPath(Path.Combine(folder, location));
        if (Path.IsPathRooted(location) || !full.StartsWith(folder, StringComparison.Ordinal))
            throw new ModelImportException($"{modelPath}: tensor '{tensor.Name}' external data path '{location}' leaves the model's folder");
        if (!File.Exists(full))
            throw new ModelImportException($"{modelPath}: tensor '{tensor.Name}' external data file '{location}' not found");
        long offset = entries.TryGetValue("offset", out var o) ? long.Parse(o) : 0;
        using var stream = File.OpenRead(full);
        long length = entries.TryGetValue("length", out var l) ? long.Parse(l) : stream.Length - offset;
        if (offset < 0 || length < 0 || offset + length > stream.Length)
            throw new ModelImportException($"{modelPath}: tensor '{tensor.Name}' external data range {offset}+{length} lies outside '{location}' ({stream.Length} bytes)");
        var buffer = new byte[length];
        stream.Position = offset;
        stream.ReadExactly(buffer);
        return buffer;
    }
}
