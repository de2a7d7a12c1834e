using System.Globalization;
using Google.Protobuf;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace McuFormer.Model.Onnx;

/// <summary>Decodes an ONNX TensorProto (raw, typed or external data) into a constant, and encodes one back.</summary>
public static class TensorReader
{
    /// <summary>
    /// The most elements one constant may hold: 64 Mi values, far beyond any layer a microcontroller runs. Kept as
    /// doubles, such a constant takes 512 MiB.
    /// </summary>
    public const long MaxElements = 1L << 26;

    /// <exception cref="ModelImportException">the tensor's dimensions, type or data are invalid, or its external data cannot be read</exception>
    public static ConstTensor Read(TensorProto tensor, string modelFolder, string modelPath)
    {
        var shape = Shape(tensor, modelPath);
        long count = Ir.Shapes.Count(shape);
        var type = (DataType)tensor.DataType;
        if (!ConstTensor.IsSupported(type))
            throw new ModelImportException($"{modelPath}: tensor '{tensor.Name}' has unsupported data type {type}");
        int width = Width(type);
        var raw = tensor.DataLocation == TensorProto.Types.DataLocation.External
            ? ReadExternal(tensor, count * width, modelFolder, modelPath)
            : tensor.RawData.Span;
        if (raw.Length > 0)
        {
            if (raw.Length != count * width)
                throw new ModelImportException($"{modelPath}: tensor '{tensor.Name}' holds {raw.Length} bytes, expected {count * width} for shape {Ir.Shapes.Format(shape)}");
            var data = new double[count];
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
        int typedCount = type switch
        {
            DataType.Float => tensor.FloatData.Count,
            DataType.Double => tensor.DoubleData.Count,
            DataType.Int64 => tensor.Int64Data.Count,
            DataType.Uint64 or DataType.Uint32 => tensor.Uint64Data.Count,
            _ => tensor.Int32Data.Count,
        };
        if (typedCount != count)
            throw new ModelImportException($"{modelPath}: tensor '{tensor.Name}' holds {typedCount} values, expected {count} for shape {Ir.Shapes.Format(shape)}");
        IEnumerable<double> typed = type switch
        {
            DataType.Float => tensor.FloatData.Select(v => (double)v),
            DataType.Double => tensor.DoubleData,
            DataType.Int64 => tensor.Int64Data.Select(v => (double)v),
            DataType.Uint64 or DataType.Uint32 => tensor.Uint64Data.Select(v => (double)v),
            DataType.Float16 => tensor.Int32Data.Select(v => (double)BitConverter.UInt16BitsToHalf((ushort)v)),
            DataType.Bool => tensor.Int32Data.Select(v => v != 0 ? 1.0 : 0.0),
            _ => tensor.Int32Data.Select(v => (double)v),
        };
        return new ConstTensor(type, shape, typed.ToArray());
    }

    /// <summary>The tensor's dimensions, each from 0 to int.MaxValue and at most <see cref="MaxElements"/> elements in all.</summary>
    /// <exception cref="ModelImportException">a dimension is negative or too large</exception>
    public static int[] Shape(TensorProto tensor, string modelPath)
    {
        if (tensor.Dims.FirstOrDefault(d => d is < 0 or > int.MaxValue, 0) is var bad and not 0)
            throw new ModelImportException($"{modelPath}: tensor '{tensor.Name}' has dimension {bad}, outside 0 to {int.MaxValue}");
        var shape = tensor.Dims.Select(d => (int)d).ToArray();
        if (Ir.Shapes.Count(shape) > MaxElements)
            throw new ModelImportException($"{modelPath}: tensor '{tensor.Name}' of shape {Ir.Shapes.Format(shape)} holds more than {MaxElements} values, the most mcuformer takes");
        return shape;
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

    /// <summary>
    /// The bytes of a tensor stored in a file beside the model. The file must be a regular file whose real path (links
    /// followed) lies inside the model's real folder, and the range must lie inside it and hold exactly the tensor.
    /// </summary>
    private static ReadOnlySpan<byte> ReadExternal(TensorProto tensor, long expectedBytes, string modelFolder, string modelPath)
    {
        ModelImportException Error(string message) => new($"{modelPath}: tensor '{tensor.Name}' {message}");
        if (tensor.ExternalData.GroupBy(e => e.Key).FirstOrDefault(g => g.Count() > 1) is { } repeated)
            throw Error($"names external data key '{repeated.Key}' {repeated.Count()} times");
        var entries = tensor.ExternalData.ToDictionary(e => e.Key, e => e.Value);
        if (!entries.TryGetValue("location", out var location) || location.Length == 0)
            throw Error("is stored externally but names no location");
        if (location.Contains('\0')) throw Error("external data path contains a NUL character");
        var folder = Path.GetFullPath(modelFolder);
        if (Path.IsPathRooted(location) || !RegularFile.IsInside(Path.GetFullPath(Path.Combine(folder, location)), folder))
            throw Error($"external data path '{location}' leaves the model's folder");
        string file;
        try
        {
            file = RegularFile.RealPath(Path.Combine(folder, location));
            if (!RegularFile.IsInside(file, RegularFile.RealPath(folder)))
                throw Error($"external data path '{location}' leaves the model's folder through a symbolic link (to {file})");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Error($"external data path '{location}' cannot be resolved: {e.Message}");
        }
        var (fileLength, problem) = RegularFile.Length(file);
        if (problem is not null) throw Error($"external data file '{location}' {problem}");
        long ByteCount(string key, long fallback)
        {
            if (!entries.TryGetValue(key, out var text)) return fallback;
            return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
                ? value
                : throw Error($"external data {key} '{text}' is not a byte count");
        }
        long offset = ByteCount("offset", 0);
        if (offset > fileLength) throw Error($"external data offset {offset} lies beyond the end of '{location}' ({fileLength} bytes)");
        long length = ByteCount("length", fileLength - offset);
        if (length > fileLength - offset)
            throw Error($"external data range {offset}+{length} lies outside '{location}' ({fileLength} bytes)");
        if (length != expectedBytes)
            throw Error($"external data holds {length} bytes, expected {expectedBytes} for shape {Ir.Shapes.Format(tensor.Dims.Select(d => (int)d))}");
        try
        {
            return RegularFile.Read(file, offset, (int)length);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Error($"external data file '{location}' cannot be read: {e.Message}");
        }
    }
}
