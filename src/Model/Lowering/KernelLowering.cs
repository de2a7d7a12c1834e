using McuFormer.Model.Ir;
using McuFormer.Model.Quantization;

namespace McuFormer.Model.Lowering;

/// <summary>
/// The one place that decides how quantized ops become runtime-c kernel calls (pointers, strides,
/// loops over heads, row blocks and concatenation parts). The host executor runs these calls and
/// the code generator prints them, so the host and the firmware execute the same sequence.
/// Which ops fuse is FusionPatterns', where outputs may overwrite inputs InPlaceRules', and the
/// calls of each step CallEmitter's.
/// </summary>
public static class KernelLowering
{
    /// <summary>
    /// The schedule of the streamed entry point that goes with <paramref name="schedule"/> (the same steps,
    /// the image read band by band), or null when the model gets none: only fused schedules whose image
    /// only a patch embedding reads.
    /// </summary>
    /// <param name="options">the streamed run's options when they differ from the schedule's (smaller blocks)</param>
    public static Schedule? StreamedVariant(QuantizedModel model, Schedule schedule, ScheduleOptions? options = null)
    {
        var streamed = (options ?? schedule.Options) with { StreamedInput = true };
        return streamed.Fuse && CanStreamInput(model) ? Lower(model, streamed, schedule.ConstantNames) : null;
    }

    /// <summary>Whether the image can arrive band by band: only a patch embedding reads it, whole and dense.</summary>
    public static bool CanStreamInput(QuantizedModel model) => FusionPatterns.CanStreamInput(model);

    /// <summary>Whether some attention of the model can run head by head without its qkv tensor (ScheduleOptions.QkvPerHead).</summary>
    public static bool CanRunQkvPerHead(QuantizedModel model)
    {
        var patterns = new FusionPatterns(model);
        return Enumerable.Range(0, model.Ops.Count).Any(i => patterns.QkvPerHead(i) is not null);
    }

    /// <summary>
    /// LayerNorms that can be fused into the linear right after them (mcu_layernorm_linear_s8):
    /// that linear alone reads the normalised tensor, whole, with its zero point. In model order.
    /// </summary>
    public static IReadOnlyList<LayerNormOp> FusableLayerNorms(QuantizedModel model) => new FusionPatterns(model).FusableLayerNorms();

    public static Schedule Lower(QuantizedModel model, ScheduleOptions options) => Lower(model, options, new ConstantNames());

    private static Schedule Lower(QuantizedModel model, ScheduleOptions options, ConstantNames names)
    {
        if (options.StreamedInput && !(options.Fuse && CanStreamInput(model)))
            throw new ArgumentException("a streamed input needs a fused schedule and a model whose input only the patch embedding reads");
        var ops = model.Ops;
        var patterns = new FusionPatterns(model);
        var steps = new List<ExecutionStep>();
        var aliases = new Dictionary<ActivationBuffer, ActivationBuffer>();
        var rules = new List<OverlapRule>();
        bool qkvPerHead = options is { Fuse: true, InPlace: true, QkvPerHead: true };
        void AttentionHeads(CallEmitter emitter, AttentionHeads heads, QuantizedLayerNorm? norm)
        {
            QuantizedOp[] fused = [heads.Qkv, heads.QueryKey, heads.Softmax, heads.ProbabilityValue, heads.Projection, heads.Add];
            var scratch = emitter.QkvPerHead(heads, norm, options.AttentionRowBlock);
            steps.Add(emitter.Step("attention_heads", norm is null ? fused : [norm, .. fused], scratch));
            aliases[heads.Add.Op.Output] = heads.Residual;
        }
        for (int i = 0; i < ops.Count; i++)
        {
            var emitter = new CallEmitter(steps.Count, names);
            if (qkvPerHead && patterns.QkvPerHead(i) is { } unnormalised)
            {
                AttentionHeads(emitter, unnormalised, null);
                i += 5;
                continue;
            }
            if (options.Fuse && patterns.IsAttention(i))
            {
                var (qk, softmax, pv) = ((QuantizedMatMul)ops[i], (QuantizedSoftmax)ops[i + 1], (QuantizedMatMul)ops[i + 2]);
                if (options.InPlace && patterns.IsAttentionOverQueries(i))
                {
                    var proj = (QuantizedLinear)ops[i + 3];
                    var overQueries = emitter.AttentionOverQueries(qk, softmax, pv, proj, options.AttentionRowBlock);
                    steps.Add(emitter.Step("attention", [qk, softmax, pv, proj], overQueries));
                    rules.Add(InPlaceRules.AttentionOverQueries(qk, proj));
                    i += 3;
                    continue;
                }
                steps.Add(emitter.Step("attention", [qk, softmax, pv], emitter.Attention(qk, softmax, pv, options.AttentionRowBlock)));
                i += 2;
                continue;
            }
            if (options.Fuse && ops[i] is QuantizedLayerNorm norm && options.FusedLayerNorms?.Contains(norm.LayerNorm) == true
                && patterns.FusesIntoNext(i))
            {
                if (qkvPerHead && patterns.QkvPerHead(i + 1) is { } normalised)
                {
                    AttentionHeads(emitter, normalised, norm);
                    i += 6;
                    continue;
                }
                if (patterns.IsMlp(i + 1))
                {
                    var (fc1, act, fc2) = ((QuantizedLinear)ops[i + 1], (QuantizedElementwise)ops[i + 2], (QuantizedLinear)ops[i + 3]);
                    steps.Add(emitter.Step("mlp", [norm, fc1, act, fc2], emitter.Mlp(fc1, act, fc2, options.MlpRowChunk, norm)));
                    i += 3;
                    continue;
                }
                var linear = (QuantizedLinear)ops[i + 1];
                steps.Add(emitter.Step("layernorm_linear", [norm, linear], emitter.LayerNormLinear(norm, linear)));
                if (options.InPlace && InPlaceRules.LayerNormLinear(norm, linear, i, patterns) is { } fused) rules.Add(fused);
                i += 1;
                continue;
            }
            if (options.Fuse && patterns.IsMlp(i))
            {
                var (fc1, act, fc2) = ((QuantizedLinear)ops[i], (QuantizedElementwise)ops[i + 1], (QuantizedLinear)ops[i + 2]);
                steps.Add(emitter.Step("mlp", [fc1, act, fc2], emitter.Mlp(fc1, act, fc2, options.MlpRowChunk)));
                i += 2;
                continue;
            }
            if (options.Fuse && ops[i] is QuantizedPatchEmbed patches)
            {
                if (options.StreamedInput && patches.PatchEmbed.Image.Buffer == model.Graph.Input.Buffer)
                {
                    steps.Add(emitter.Step(patches.Op.Kind, [patches], emitter.PatchBands(patches)));
                    continue;
                }
                steps.Add(emitter.Step(patches.Op.Kind, [patches], emitter.PatchRows(patches)));
                if (options.InPlace && InPlaceRules.PatchRows(patches, i, patterns) is { } patchRule) rules.Add(patchRule);
                continue;
            }
            var overwritten = options.InPlace ? InPlaceRules.InPlaceTarget(ops[i], i, model.Graph, patterns) : null;
            if (overwritten is not null) aliases[ops[i].Op.Output] = overwritten;
            else if (options.InPlace && InPlaceRules.Of(ops[i], i, patterns) is { } rule) rules.Add(rule);
            emitter.Single(ops[i], overwritten);
            steps.Add(emitter.Step(ops[i].Op.Kind, [ops[i]], []));
        }
        return new Schedule(model.Graph, options, steps, aliases, rules) { ConstantNames = names };
    }
}
