namespace McuFormer.Model.Ir;

public static class Shapes
{
    public static int Product(IEnumerable<int> dims)
    {
        long product = 1;
        foreach (var d in dims) product *= d;
        return checked((int)product);
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
