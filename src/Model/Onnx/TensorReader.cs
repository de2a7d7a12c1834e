using Google.Protobuf;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace McuFormer.Model.Onnx;

/// <summary>Decodes an ONNX TensorProto (raw, typed or external data) into a constant, and encodes one back.</summary>
public static class TensorReader
{
    public static ConstTensor Read(TensorProto tensor, string modelFolder, string modelPath)
    {
        var shape = tensor.Dims.Select(d => checked((int)d)).ToArray();
        int count = Ir.Shapes.Product(shape);
        var type = (DataType)tensor.DataType;
        if (!ConstTensor.IsSupported(type))
            throw new ModelImportException($"{modelPath}: tensor '{tensor.Name}' has unsupported data type {type}");
        var raw = tensor.DataLocation == TensorProto.Types.DataLocation.External
            ? ReadExternal(tensor, modelFolder, modelPath)
            : tensor.RawData.Span;
        var data = new double[count];
        if (raw.Length > 0)
        {
            int width = Width(type);
            if (raw.Length != (long)count * width)
                throw new ModelImportException($"{modelPath}: tensor '{tensor.Name}' holds {raw.Length} bytes, expected {(long)count * width} for shape {Ir.Shapes.Format(shape)}");
            for (int i = 0; i < count; i++)
            {
                var bytes = raw.Slice(i * width, width);
                data[i] = type switch
                {
                    DataType.Float => BitConverter.ToSingle(bytes),
                    DataType.Double => BitConverter.ToDouble(bytes),
                    DataType.Float16 => (double)BitConverter.ToHalf(bytes),
                    DataType.Int64 => BitConverter.ToInt64(bytes),
                    DataType.Int32 => BitConverter.ToInt32(bytes),
                    DataType.Int16 => BitConverter.ToInt16(bytes),
                    DataType.Int8 => (sbyte)bytes[0],
                    DataType.Uint64 => BitConverter.ToUInt64(bytes),
                    DataType.Uint32 => BitConverter.ToUInt32(bytes),
                    DataType.Uint16 => BitConverter.ToUInt16(bytes),
                    DataType.Bool => bytes[0] != 0 ? 1 : 0,
                    _ => bytes[0],
                };
            }
            return new ConstTensor(type, shape, data);
        }
        // The typed fields: float16 bit patterns and the small integer types travel in int32_data,
        // uint32 and uint64 in uint64_data.
        IReadOnlyList<double> typed = type switch
        {
            DataType.Float => tensor.FloatData.Select(v => (double)v).ToList(),
            DataType.Double => tensor.DoubleData.ToList(),
            DataType.Int64 => tensor.Int64Data.Select(v => (double)v).ToList(),
            DataType.Uint64 or DataType.Uint32 => tensor.Uint64Data.Select(v => (double)v).ToList(),
            DataType.Float16 => tensor.Int32Data.Select(v => (double)BitConverter.UInt16BitsToHalf((ushort)v)).ToList(),
            DataType.Bool => tensor.Int32Data.Select(v => v != 0 ? 1.0 : 0.0).ToList(),
            _ => tensor.Int32Data.Select(v => (double)v).ToList(),
        };
        if (typed.Count != count)
            throw new ModelImportException($"{modelPath}: tensor '{tensor.Name}' holds {typed.Count} values, expected {count} for shape {Ir.Shapes.Format(shape)}");
        for (int i = 0; i < count; i++) data[i] = typed[i];
        return new ConstTensor(type, shape, data);
    }

    /// <summary>Bytes per element of a supported type.</summary>
    public static int Width(DataType type) => type switch
    {
        DataType.Double or DataType.Int64 or DataType.Uint64 => 8,
        DataType.Float or DataType.Int32 or DataType.Uint32 => 4,
        DataType.Float16 or DataType.Int16 or DataType.Uint16 => 2,
        _ => 1,
    };

    /// <summary>A constant as a TensorProto with raw little-endian data, the inverse of Read.</summary>
    public static TensorProto Write(string name, ConstTensor value)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)value.Type };
        tensor.Dims.AddRange(value.Shape.Select(d => (long)d));
        int width = Width(value.Type);
        var bytes = new byte[value.ElementCount * width];
        for (int i = 0; i < value.ElementCount; i++)
        {
            var span = bytes.AsSpan(i * width, width);
            double v = value.Data[i];
            switch (value.Type)
            {
                case DataType.Float: BitConverter.TryWriteBytes(span, (float)v); break;
                case DataType.Double: BitConverter.TryWriteBytes(span, v); break;
                case DataType.Float16: BitConverter.TryWriteBytes(span, (Half)v); break;
                case DataType.Int64: BitConverter.TryWriteBytes(span, (long)v); break;
                case DataType.Int32: BitConverter.TryWriteBytes(span, (int)v); break;
                case DataType.Int16: BitConverter.TryWriteBytes(span, (short)v); break;
                case DataType.Uint64: BitConverter.TryWriteBytes(span, (ulong)v); break;
                case DataType.Uint32: BitConverter.TryWriteBytes(span, (uint)v); break;
                case DataType.Uint16: BitConverter.TryWriteBytes(span, (ushort)v); break;
                case DataType.Int8: span[0] = (byte)(sbyte)v; break;
                default: span[0] = (byte)v; break;
            }
        }
        tensor.RawData = ByteString.CopyFrom(bytes);
        return tensor;
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
