namespace McuFormer.Model.Onnx;

public enum ConstKind { Float, Int, Bool }

/// <summary>
/// A constant value of the source model (initializer, Constant node, or anything folded from
/// them and from static shapes). Values are held as doubles: exact for the int64 shape
/// arithmetic PyTorch exports emit and for float32 weights.
/// </summary>
public sealed class ConstTensor
{
    public ConstTensor(ConstKind kind, int[] shape, double[] data)
    {
        if (data.Length != Ir.Shapes.Product(shape))
            throw new ArgumentException($"constant has {data.Length} values for shape {Ir.Shapes.Format(shape)}");
        Kind = kind;
        Shape = shape;
        Data = data;
    }

    public ConstKind Kind { get; }
    public int[] Shape { get; }
    public double[] Data { get; }
    public int Rank => Shape.Length;
    public int ElementCount => Data.Length;

    public static ConstTensor Scalar(ConstKind kind, double value) => new(kind, [], [value]);
    public static ConstTensor Ints(IReadOnlyList<long> values) => new(ConstKind.Int, [values.Count], values.Select(v => (double)v).ToArray());

    public long[] AsLongs() => Data.Select(ClampToLong).ToArray();
    public int[] AsInts() => Data.Select(v => (int)Math.Clamp(v, int.MinValue, int.MaxValue)).ToArray();
    public float[] AsFloats() => Data.Select(v => (float)v).ToArray();

    private static long ClampToLong(double v) => v >= 9.2e18 ? long.MaxValue : v <= -9.2e18 ? long.MinValue : (long)v;

    /// <summary>The same values viewed with another shape (no copy).</summary>
    public ConstTensor Reshaped(int[] shape) => new(Kind, shape, Data);

    public override string ToString() => $"{Kind}{Ir.Shapes.Format(Shape)}";
}
