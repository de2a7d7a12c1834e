namespace McuFormer.Model.Ir;

/// <summary>A transformer as a topologically ordered list of ops over activation buffers.</summary>
/// <param name="Output">the model output (logits): a dense view</param>
public sealed record ModelGraph(string Name, string SourcePath, ModelInput Input, IReadOnlyList<Op> Ops, View Output, string OutputName)
{
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
