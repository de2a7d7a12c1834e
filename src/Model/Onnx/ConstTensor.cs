using DataType = Onnx.TensorProto.Types.DataType;

namespace McuFormer.Model.Onnx;

public enum ConstKind { Float, Int, Bool }

/// <summary>
/// A constant value of the source model (initializer, Constant node, or anything folded from
/// them and from static shapes). Values are held as doubles, each rounded to its ONNX element
/// type: exact for float16/float32/double and for the integers below 2^53 that shape
/// arithmetic uses.
/// </summary>
public sealed class ConstTensor
{
    public ConstTensor(DataType type, int[] shape, double[] data)
    {
        if (data.Length != Ir.Shapes.Product(shape))
            throw new ArgumentException($"constant has {data.Length} values for shape {Ir.Shapes.Format(shape)}");
        if (!IsSupported(type)) throw new ArgumentException($"constants of element type {type} are not supported");
        Type = type;
        Shape = shape;
        Data = data;
    }

    /// <summary>The ONNX element type, kept so that folding and re-evaluation see the types the exporter wrote.</summary>
    public DataType Type { get; }
    public ConstKind Kind => KindOf(Type);
    public int[] Shape { get; }
    public double[] Data { get; }
    public int Rank => Shape.Length;
    public int ElementCount => Data.Length;

    public static bool IsSupported(DataType type) => type is DataType.Float or DataType.Double or DataType.Float16 or DataType.Bool
        or DataType.Int64 or DataType.Int32 or DataType.Int16 or DataType.Int8 or DataType.Uint64 or DataType.Uint32
        or DataType.Uint16 or DataType.Uint8;

    public static ConstKind KindOf(DataType type) => type switch
    {
        DataType.Float or DataType.Double or DataType.Float16 => ConstKind.Float,
        DataType.Bool => ConstKind.Bool,
        _ => ConstKind.Int,
    };

    /// <summary>The value an element of this type holds for v: float types round, integer types truncate toward zero.</summary>
    public static double Represent(DataType type, double v) => type switch
    {
        DataType.Float => (float)v,
        DataType.Float16 => (double)(Half)v,
        DataType.Double => v,
        DataType.Bool => v != 0 ? 1 : 0,
        _ => Math.Truncate(v),
    };

    public static ConstTensor Scalar(DataType type, double value) => new(type, [], [value]);
    public static ConstTensor Ints(IReadOnlyList<long> values) => new(DataType.Int64, [values.Count], values.Select(v => (double)v).ToArray());

    public long[] AsLongs() => Data.Select(ClampToLong).ToArray();
    public int[] AsInts() => Data.Select(v => (int)Math.Clamp(v, int.MinValue, int.MaxValue)).ToArray();
    public float[] AsFloats() => Data.Select(v => (float)v).ToArray();

    private static long ClampToLong(double v) => v >= 9.2e18 ? long.MaxValue : v <= -9.2e18 ? long.MinValue : (long)v;

    /// <summary>The same values viewed with another shape (no copy).</summary>
    public ConstTensor Reshaped(int[] shape) => new(Type, shape, Data);

    /// <summary>Other values of the same element type.</summary>
    public ConstTensor With(int[] shape, double[] data) => new(Type, shape, data);

    public override string ToString() => $"{Type}{Ir.Shapes.Format(Shape)}";
}
