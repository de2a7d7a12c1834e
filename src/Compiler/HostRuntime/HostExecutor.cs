using System.Runtime.InteropServices;
using McuFormer.Model.Ir;
using McuFormer.Model.Quantization;

namespace McuFormer.Compiler.HostRuntime;

/// <summary>
/// Runs a quantized model on this host through runtime-c, kernel call by kernel call, exactly as
/// the generated firmware sequences them. Every buffer gets its own memory (no reuse), so each
/// layer's output can be read back after a run.
/// </summary>
public sealed unsafe class HostExecutor : IDisposable
{
    private readonly QuantizedModel model;
    private readonly Dictionary<ActivationBuffer, IntPtr> buffers = new();
    private readonly List<GCHandle> pinned = new();
    private readonly IntPtr arena;

    public HostExecutor(QuantizedModel model)
    {
        NativeRuntimeBuilder.Register();
        this.model = model;
        var all = model.Graph.Buffers.ToList();
        long total = all.Sum(b => (long)b.Bytes);
        arena = (IntPtr)NativeMemory.AllocZeroed((nuint)Math.Max(1, total));
        long offset = 0;
        foreach (var buffer in all)
        {
            buffers[buffer] = arena + (nint)offset;
            offset += buffer.Bytes;
        }
    }

    public QuantizedModel Model => model;

    /// <summary>Runs one inference on an already quantized input; returns the int8 output.</summary>
    public sbyte[] Run(ReadOnlySpan<sbyte> input)
    {
        var inputBuffer = model.Graph.Input.Buffer;
        if (input.Length != inputBuffer.ElementCount)
            throw new ArgumentException($"input has {input.Length} values, the model takes {inputBuffer.ElementCount}");
        input.CopyTo(new Span<sbyte>((void*)buffers[inputBuffer], input.Length));
        foreach (var op in model.Ops) Execute(op);
        return Read(model.Graph.Output);
    }

    /// <summary>Runs a float sample: quantizes it with the model's input parameters first.</summary>
    public sbyte[] Run(ReadOnlySpan<float> sample)
    {
        var quant = model.InputQuant;
        var input = new sbyte[sample.Length];
        for (int i = 0; i < input.Length; i++) input[i] = quant.Quantize(sample[i]);
        return Run(input);
    }

    /// <summary>The elements of a view, in its logical row-major order.</summary>
    public sbyte[] Read(View view)
    {
        var data = new sbyte[view.ElementCount];
        var raw = (sbyte*)buffers[view.Buffer];
        var index = new int[view.Rank];
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = raw[view.IndexOf(index)];
            for (int d = view.Rank - 1; d >= 0; d--)
            {
                if (++index[d] < view.Shape[d]) break;
                index[d] = 0;
            }
        }
        return data;
    }

    private sbyte* At(View view) => (sbyte*)buffers[view.Buffer] + view.Offset;
    /// <summary>Start of the buffer behind a view that covers it (element-wise kernels walk whole buffers).</summary>
    private sbyte* Whole(View view) => (sbyte*)buffers[view.Buffer];
    private sbyte* Out(Op op) => (sbyte*)buffers[op.Output];

    private readonly Dictionary<object, IntPtr> constants = new(ReferenceEqualityComparer.Instance);

    /// <summary>A constant array pinned for the executor's lifetime (pinned once, on first use).</summary>
    private T* Constant<T>(T[]? array) where T : unmanaged
    {
        if (array is null) return null;
        if (!constants.TryGetValue(array, out var address))
        {
            var handle = GCHandle.Alloc(array, GCHandleType.Pinned);
            pinned.Add(handle);
            constants[array] = address = handle.AddrOfPinnedObject();
        }
        return (T*)address;
    }

    private void Execute(QuantizedOp op)
    {
        switch (op)
        {
            case QuantizedLinear { Linear: var l, Params: var p }:
                Kernels.Linear(At(l.Input), l.InputRowStride, Out(l), l.OutFeatures, l.Rows, l.InFeatures, l.OutFeatures,
                    Constant(p.Weights), Constant(p.Bias), Constant(p.Multipliers), Constant(p.Shifts), p.InputZeroPoint, p.OutputZeroPoint);
                break;
            case QuantizedPatchEmbed { PatchEmbed: var e, Params: var p }:
                Kernels.PatchEmbed(At(e.Image), e.Channels, e.Image.Shape[1], e.Image.Shape[2], e.Patch, e.PadTop, e.PadLeft, e.GridH, e.GridW,
                    Constant(p.Weights), Constant(p.Bias), Constant(p.Multipliers), Constant(p.Shifts), e.Embed, p.InputZeroPoint,
                    p.OutputZeroPoint, Out(e));
                break;
            case QuantizedLayerNorm n:
                {
                    var l = n.LayerNorm;
                    Kernels.LayerNorm(At(l.Input), l.InputRowStride, Out(l), l.Dim, l.Rows, l.Dim, n.EpsilonTerm,
                        Constant(n.Gamma), Constant(n.Beta), n.OutputZeroPoint);
                    break;
                }
            case QuantizedElementwise e:
                Kernels.Lut(Whole(e.Elementwise.Input), Out(e.Op), e.Op.Output.ElementCount, Constant(e.Table));
                break;
            case QuantizedMatMul q:
                {
                    var m = q.MatMul;
                    for (int b = 0; b < m.Batch; b++)
                        Kernels.MatMul(At(m.A) + b * m.ABatchStride, m.AStrides.Row, m.AStrides.Col, At(m.B) + b * m.BBatchStride,
                            m.BStrides.Row, m.BStrides.Col, Out(m) + b * m.N, m.Batch * m.N, m.M, m.K, m.N,
                            q.AZeroPoint, q.BZeroPoint, q.Multiplier, q.Shift, q.OutputZeroPoint);
                    break;
                }
            case QuantizedSoftmax s:
                Kernels.Softmax(Whole(s.Softmax.Input), Out(s.Op), s.Softmax.Rows, s.Softmax.Length, Constant(s.ExpTable));
                break;
            case QuantizedAdd { Add: var a, Params: var p }:
                Kernels.Add(Whole(a.A), Whole(a.B), Out(a), a.Output.ElementCount,
                    p.AZeroPoint, p.AMultiplier, p.BZeroPoint, p.BMultiplier, p.Shift, p.OutputZeroPoint);
                break;
            case QuantizedAddConstant { AddConstant: var c, Params: var p } q:
                Kernels.Add(Whole(c.Input), Constant(q.Constant), Out(c), c.Output.ElementCount,
                    p.AZeroPoint, p.AMultiplier, p.BZeroPoint, p.BMultiplier, p.Shift, p.OutputZeroPoint);
                break;
            case QuantizedMeanTokens t:
                {
                    var m = t.MeanTokens;
                    Kernels.MeanTokens(At(m.Input), m.InputRowStride, m.Rows, m.Dim, t.InputZeroPoint, t.Multiplier, t.Shift, t.OutputZeroPoint, Out(m));
                    break;
                }
            case QuantizedConcat c:
                foreach (var part in c.Parts)
                {
                    var source = part.Source is { } view ? Whole(view) : Constant(part.Constant);
                    Copy(part.Copy, source, Out(c.Op));
                }
                break;
            case QuantizedCopy c:
                Copy(c.Plan, Whole(c.Copy.Input), Out(c.Op));
                break;
            default:
                throw new NotSupportedException($"no kernel for {op.Op.Kind}");
        }
    }

    private static void Copy(CopyPlan plan, sbyte* source, sbyte* destination)
    {
        fixed (int* inStrides = plan.SourceStrides, outStrides = plan.DestinationStrides, shape = plan.Shape)
            Kernels.Copy(source + plan.SourceOffset, inStrides, destination + plan.DestinationOffset, outStrides, shape,
                plan.InputZeroPoint, plan.Multiplier, plan.Shift, plan.OutputZeroPoint);
    }

    public void Dispose()
    {
        foreach (var handle in pinned) handle.Free();
        pinned.Clear();
        NativeMemory.Free((void*)arena);
    }
}
