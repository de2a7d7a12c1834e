namespace McuFormer.Model.Ir;

/// <summary>A transformer as a topologically ordered list of ops over activation buffers.</summary>
public sealed class ModelGraph
{
    public ModelGraph(string name, string sourcePath, ModelInput input, IReadOnlyList<Op> ops, View output, string outputName)
    {
        Name = name;
        SourcePath = sourcePath;
        Input = input;
        Ops = ops;
        Output = output;
        OutputName = outputName;
    }

    public string Name { get; }
    public string SourcePath { get; }
    public ModelInput Input { get; }
    public IReadOnlyList<Op> Ops { get; }
    /// <summary>The model output (logits): a dense view.</summary>
    public View Output { get; }
    public string OutputName { get; }

    public long Macs => Ops.Sum(o => o.Macs);
    public long ParameterBytes => Ops.Sum(o => o.ParameterBytes);

    public IEnumerable<ActivationBuffer> Buffers => Ops.Select(o => o.Output).Prepend(Input.Buffer);
}

/// <summary>The image input: a [channels, height, width] buffer fed by the caller.</summary>
/// <param name="Name">input name in the source model</param>
/// <param name="SourceShape">its shape in the source model, batch included</param>
public sealed record ModelInput(string Name, int[] SourceShape, ActivationBuffer Buffer)
{
    public int[] SampleShape => Buffer.Shape;
}
