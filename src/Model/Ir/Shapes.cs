namespace McuFormer.Model.Ir;

public static class Shapes
{
    public static int Product(IEnumerable<int> dims)
    {
        long product = 1;
        foreach (var d in dims) product *= d;
        return checked((int)product);
    }

    /// <summary>
    /// The number of elements of a shape of non-negative dimensions, saturated at long.MaxValue: unlike
    /// <see cref="Product"/> it never overflows, so it is how a shape read from a model is checked against a bound.
    /// </summary>
    public static long Count(IEnumerable<int> dims)
    {
        long count = 1;
        foreach (var d in dims)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(d, nameof(dims));
            if (d == 0) return 0;
            count = count > long.MaxValue / d ? long.MaxValue : count * d;
        }
        return count;
    }

    public static int[] DenseStrides(int[] shape)
    {
        var strides = new int[shape.Length];
        int stride = 1;
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            strides[d] = stride;
            stride *= shape[d];
        }
        return strides;
    }

    public static string Format(IEnumerable<int> shape) => "[" + string.Join(", ", shape) + "]";
}
