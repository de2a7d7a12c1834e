namespace McuFormer.Model.Ir;

/// <summary>
/// A strided window onto an activation buffer: element (i0, i1, …) lives at
/// Offset + Σ i_d · Strides[d] of the buffer. Layout operators of the source model (reshape,
/// transpose, slice, gather, split) become views, so they cost no memory and no time.
/// </summary>
public sealed class View(ActivationBuffer buffer, int offset, int[] shape, int[] strides)
{
    public ActivationBuffer Buffer { get; } = buffer;
    public int Offset { get; } = offset;
    public int[] Shape { get; } = shape;
    public int[] Strides { get; } = shape.Length == strides.Length ? strides : throw new ArgumentException("shape and strides differ in rank");
    public int Rank => Shape.Length;
    public int ElementCount => Shapes.Product(Shape);

    public static View Dense(ActivationBuffer buffer, int[] shape) =>
        new(buffer, 0, shape, Shapes.DenseStrides(shape));

    /// <summary>True when the view visits every element of its buffer exactly once.</summary>
    public bool CoversBuffer
    {
        get
        {
            if (Offset != 0 || ElementCount != Buffer.ElementCount) return false;
            var dims = Enumerable.Range(0, Rank).Where(d => Shape[d] > 1).OrderByDescending(d => Strides[d]).ToArray();
            long expected = 1;
            for (int i = dims.Length - 1; i >= 0; i--)
            {
                if (Strides[dims[i]] != expected) return false;
                expected *= Shape[dims[i]];
            }
            return true;
        }
    }

    /// <summary>True when the view is the buffer in plain row-major order.</summary>
    public bool IsDenseRowMajor => Offset == 0 && ElementCount == Buffer.ElementCount && SameLayoutAs(Shapes.DenseStrides(Shape));

    public bool SameLayoutAs(View other) =>
        Offset == other.Offset && Shape.SequenceEqual(other.Shape) && SameLayoutAs(other.Strides);

    private bool SameLayoutAs(int[] strides)
    {
        for (int d = 0; d < Rank; d++)
            if (Shape[d] > 1 && Strides[d] != strides[d]) return false;
        return true;
    }

    public long IndexOf(ReadOnlySpan<int> index)
    {
        long at = Offset;
        for (int d = 0; d < Rank; d++) at += (long)index[d] * Strides[d];
        return at;
    }

    public View Transpose(int[] permutation) =>
        new(Buffer, Offset, permutation.Select(p => Shape[p]).ToArray(), permutation.Select(p => Strides[p]).ToArray());

    public View Slice(int axis, int start, int count, int step)
    {
        var shape = (int[])Shape.Clone();
        var strides = (int[])Strides.Clone();
        shape[axis] = count;
        strides[axis] = Strides[axis] * step;
        return new View(Buffer, Offset + start * Strides[axis], shape, strides);
    }

    /// <summary>Picks one index along an axis and drops that axis.</summary>
    public View Select(int axis, int index) =>
        new(Buffer, Offset + index * Strides[axis],
            Shape.Where((_, d) => d != axis).ToArray(), Strides.Where((_, d) => d != axis).ToArray());

    /// <summary>
    /// Reshape without copying, or null when the new shape cannot be expressed with strides
    /// (the caller then materialises a dense copy first).
    /// </summary>
    public View? TryReshape(int[] newShape)
    {
        if (Shapes.Product(newShape) != ElementCount) throw new ArgumentException("reshape changes the element count");
        var oldDims = Enumerable.Range(0, Rank).Where(d => Shape[d] != 1).ToArray();
        var newStrides = new int[newShape.Length];
        int oi = 0, ni = 0;
        while (ni < newShape.Length && newShape[ni] == 1) newStrides[ni++] = 1;
        while (oi < oldDims.Length)
        {
            // Grow a group of old dims and new dims until their element counts match.
            int oStart = oi, nStart = ni;
            long oldCount = Shape[oldDims[oi++]];
            long newCount = newShape[ni++];
            while (oldCount != newCount)
            {
                if (oldCount < newCount) oldCount *= Shape[oldDims[oi++]];
                else newCount *= newShape[ni++];
            }
            for (int k = oStart; k < oi - 1; k++)
                if (Strides[oldDims[k]] != Strides[oldDims[k + 1]] * Shape[oldDims[k + 1]]) return null;
            int stride = Strides[oldDims[oi - 1]];
            for (int k = ni - 1; k >= nStart; k--)
            {
                newStrides[k] = stride;
                stride *= newShape[k];
            }
            while (ni < newShape.Length && newShape[ni] == 1) newStrides[ni++] = 1;
        }
        return new View(Buffer, Offset, newShape, newStrides);
    }

    /// <summary>
    /// Merges a run of axes into one when they step uniformly through memory; null otherwise.
    /// Returns (count, stride) of the merged axis.
    /// </summary>
    public (int Count, int Stride)? MergeAxes(int first, int last)
    {
        int count = 1, stride = 0;
        for (int d = last; d >= first; d--)
        {
            if (Shape[d] == 1) continue;
            if (count == 1) stride = Strides[d];
            else if (Strides[d] != stride * count) return null;
            count *= Shape[d];
        }
        return (count, count == 1 ? 0 : stride);
    }

    public override string ToString() =>
        $"{Buffer.Name}[{string.Join("x", Shape)} @+{Offset} strides {string.Join(",", Strides)}]";
}
