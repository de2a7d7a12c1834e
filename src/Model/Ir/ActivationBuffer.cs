namespace McuFormer.Model.Ir;

/// <summary>
/// An int8 activation tensor that exists in RAM at run time: one op writes it, later ops read it
/// through views. Shape is its physical row-major layout.
/// </summary>
public sealed class ActivationBuffer
{
    public ActivationBuffer(string name, int[] shape)
    {
        Name = name;
        Shape = shape;
    }

    public string Name { get; }
    public int[] Shape { get; }
    public int ElementCount => Shapes.Product(Shape);
    public int Bytes => ElementCount;

    /// <summary>
    /// The source model's value that this buffer holds, and where each of its elements sits here.
    /// Linked once the importer has finished the graph: a constant folded into the op that writes
    /// the buffer changes which value that is.
    /// </summary>
    public SourceValue? Source { get; private set; }

    /// <summary>Links the buffer to the value it holds; once, as its layout is a view of the buffer itself.</summary>
    internal void LinkSource(SourceValue source)
    {
        if (Source is not null) throw new InvalidOperationException($"buffer {Name} already holds {Source.Name}");
        Source = source;
    }

    public override string ToString() => $"{Name}{Shapes.Format(Shape)}";
}

/// <summary>Links a buffer back to a value of the source (float) model, for calibration and comparison.</summary>
/// <param name="Name">value name in the source model</param>
/// <param name="Layout">a view of the buffer whose shape is the source value's shape</param>
public sealed record SourceValue(string Name, View Layout);
