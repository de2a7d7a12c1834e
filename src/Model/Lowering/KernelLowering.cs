using McuFormer.Model.Ir;
using McuFormer.Model.Quantization;

namespace McuFormer.Model.Lowering;

/// <summary>
/// The one place that decides how each quantized op becomes runtime-c kernel calls (pointers,
/// strides, loops over heads and concatenation parts). The host executor runs these calls and
/// the code generator prints them, so the host and the firmware execute the same sequence.
/// </summary>
public static class KernelLowering
{
    public static IReadOnlyList<KernelCall> Lower(QuantizedModel model)
    {
        var calls = new List<KernelCall>();
        var names = new ConstantNames();
        for (int layer = 0; layer < model.Ops.Count; layer++)
        {
            var op = model.Ops[layer];
            void Call(string kernel, params KernelArg[] args) => calls.Add(new KernelCall(kernel, args, layer));
            ConstArg Const(string what, Array data) => names.Get(layer, what, data);
            KernelArg Optional(string what, Array? data) => data is null ? new NullArg() : Const(what, data);
            static IntArg I(long v) => new(v);
            static BufferArg At(View v, int extra = 0) => new(v.Buffer, v.Offset + extra);
            static BufferArg Whole(ActivationBuffer b) => new(b, 0);

            switch (op)
            {
                case QuantizedLinear { Linear: var l, Params: var p }:
                    Call("mcu_linear_s8", At(l.Input), I(l.InputRowStride), Whole(l.Output), I(l.OutFeatures), I(l.Rows),
                        I(l.InFeatures), I(l.OutFeatures), Const("weights", p.Weights), Optional("bias", p.Bias),
                        Const("multipliers", p.Multipliers), Const("shifts", p.Shifts), I(p.InputZeroPoint), I(p.OutputZeroPoint));
                    break;
                case QuantizedPatchEmbed { PatchEmbed: var e, Params: var p }:
                    Call("mcu_patch_embed_s8", At(e.Image), I(e.Channels), I(e.Image.Shape[1]), I(e.Image.Shape[2]), I(e.Patch),
                        I(e.PadTop), I(e.PadLeft), I(e.GridH), I(e.GridW), Const("weights", p.Weights), Optional("bias", p.Bias),
                        Const("multipliers", p.Multipliers), Const("shifts", p.Shifts), I(e.Embed), I(p.InputZeroPoint),
                        I(p.OutputZeroPoint), Whole(e.Output));
                    break;
                case QuantizedLayerNorm { LayerNorm: var n } q:
                    Call("mcu_layernorm_s8", At(n.Input), I(n.InputRowStride), Whole(n.Output), I(n.Dim), I(n.Rows), I(n.Dim),
                        I(q.EpsilonTerm), Const("gamma", q.Gamma), Const("beta", q.Beta), I(q.OutputZeroPoint));
                    break;
                case QuantizedElementwise { Elementwise: var e } q:
                    Call("mcu_lut_s8", Whole(e.Input.Buffer), Whole(e.Output), I(e.Output.ElementCount), Const("table", q.Table));
                    break;
                case QuantizedMatMul { MatMul: var m } q:
                    for (int b = 0; b < m.Batch; b++)
                        Call("mcu_matmul_s8", At(m.A, b * m.ABatchStride), I(m.AStrides.Row), I(m.AStrides.Col),
                            At(m.B, b * m.BBatchStride), I(m.BStrides.Row), I(m.BStrides.Col), new BufferArg(m.Output, b * m.N),
                            I(m.Batch * m.N), I(m.M), I(m.K), I(m.N), I(q.AZeroPoint), I(q.BZeroPoint), I(q.Multiplier), I(q.Shift),
                            I(q.OutputZeroPoint));
                    break;
                case QuantizedSoftmax { Softmax: var s } q:
                    Call("mcu_softmax_s8", Whole(s.Input.Buffer), Whole(s.Output), I(s.Rows), I(s.Length), Const("exp_table", q.ExpTable));
                    break;
                case QuantizedAdd { Add: var a, Params: var p }:
                    Call("mcu_add_s8", Whole(a.A.Buffer), Whole(a.B.Buffer), Whole(a.Output), I(a.Output.ElementCount),
                        I(p.AZeroPoint), I(p.AMultiplier), I(p.BZeroPoint), I(p.BMultiplier), I(p.Shift), I(p.OutputZeroPoint));
                    break;
                case QuantizedAddConstant { AddConstant: var c, Params: var p } q:
                    Call("mcu_add_s8", Whole(c.Input.Buffer), Const("constant", q.Constant), Whole(c.Output), I(c.Output.ElementCount),
                        I(p.AZeroPoint), I(p.AMultiplier), I(p.BZeroPoint), I(p.BMultiplier), I(p.Shift), I(p.OutputZeroPoint));
                    break;
                case QuantizedMeanTokens { MeanTokens: var t } q:
                    Call("mcu_mean_tokens_s8", At(t.Input), I(t.InputRowStride), I(t.Rows), I(t.Dim), I(q.InputZeroPoint),
                        I(q.Multiplier), I(q.Shift), I(q.OutputZeroPoint), Whole(t.Output));
                    break;
                case QuantizedConcat c:
                    for (int i = 0; i < c.Parts.Count; i++)
                    {
                        var part = c.Parts[i];
                        KernelArg source = part.Source is { } view ? Whole(view.Buffer) : Const($"part{i}", part.Constant!);
                        Copy(Call, Const, $"part{i}", part.Copy, source, c.Op.Output);
                    }
                    break;
                case QuantizedCopy c:
                    Copy(Call, Const, "copy", c.Plan, Whole(c.Copy.Input.Buffer), c.Op.Output);
                    break;
                default:
                    throw new NotSupportedException($"no kernel for {op.Op.Kind}");
            }
        }
        return calls;
    }

    /// <summary>mcu_copy_s8 with the plan's base offsets applied to the pointers.</summary>
    private static void Copy(Action<string, KernelArg[]> call, Func<string, Array, ConstArg> constant, string what, CopyPlan plan,
        KernelArg source, ActivationBuffer destination)
    {
        var from = source switch
        {
            BufferArg b => b with { Offset = b.Offset + plan.SourceOffset },
            _ when plan.SourceOffset == 0 => source,
            _ => throw new InvalidOperationException("constant copy sources start at their first element"),
        };
        call("mcu_copy_s8", [from, constant($"{what}_from_strides", plan.SourceStrides), new BufferArg(destination, plan.DestinationOffset),
            constant($"{what}_to_strides", plan.DestinationStrides), constant($"{what}_shape", plan.Shape), new IntArg(plan.InputZeroPoint),
            new IntArg(plan.Multiplier), new IntArg(plan.Shift), new IntArg(plan.OutputZeroPoint)]);
    }

    /// <summary>C identifiers for constants: one per array, named after its layer and role.</summary>
    private sealed class ConstantNames
    {
        private readonly Dictionary<Array, ConstArg> seen = new(ReferenceEqualityComparer.Instance);

        public ConstArg Get(int layer, string what, Array data)
        {
            if (!seen.TryGetValue(data, out var arg)) seen[data] = arg = new ConstArg($"layer{layer}_{what}", data);
            return arg;
        }
    }
}
