using McuFormer.Model.Ir;
using McuFormer.Model.Quantization;

namespace McuFormer.Model.Lowering;

/// <summary>
/// Where a step may write over an input it reads for the last time: whole-buffer aliases for
/// element-wise ops, and overlap rules (OverlapRule) for token-wise kernels that consume their input
/// as they go. Each rule states what the kernel's own contract in kernels.h allows.
/// </summary>
internal static class InPlaceRules
{
    /// <summary>The overlap rule of a single op's kernel over the input it reads for the last time, if it has one.</summary>
    public static OverlapRule? Of(QuantizedOp op, int index, FusionPatterns patterns) =>
        TokenByTokenRule(op, index, patterns) ?? ConcatRule(op, index, patterns);

    /// <summary>The projection after attention over the queries (CallEmitter.AttentionOverQueries) reads query rows
    /// (stride ≥ its output rows) for the last time.</summary>
    public static OverlapRule AttentionOverQueries(QuantizedMatMul qk, QuantizedLinear proj) =>
        new(qk.MatMul.A.Buffer, proj.Op.Output, null, qk.MatMul.A.Offset);

    /// <summary>A LayerNorm fused into the linear after it writes tokens as the LayerNorm alone would read them.</summary>
    public static OverlapRule? LayerNormLinear(QuantizedLayerNorm norm, QuantizedLinear linear, int index, FusionPatterns patterns)
    {
        var n = norm.LayerNorm;
        return WholeRows(n.Input, n.Rows, n.InputRowStride, n.Dim) && patterns.OnlyReadBy(n.Input.Buffer, index)
            ? SegmentedTokenByToken(norm, OverlapRule.TokenByToken(n.Input.Buffer, n.Dim, linear.Op.Output, linear.Linear.OutFeatures))
            : null;
    }

    /// <summary>
    /// The overlap a token-by-token kernel tolerates (OverlapRule.TokenByToken) when it reads a
    /// whole dense input for the last time.
    /// </summary>
    private static OverlapRule? TokenByTokenRule(QuantizedOp op, int index, FusionPatterns patterns) =>
        op switch
        {
            QuantizedLinear { Linear: var l } when WholeRows(l.Input, l.Rows, l.InputRowStride, l.InFeatures)
                && l.InFeatures <= KernelAbi.LinearOverlapMaxInFeatures && patterns.OnlyReadBy(l.Input.Buffer, index)
                => OverlapRule.TokenByToken(l.Input.Buffer, l.InFeatures, l.Output, l.OutFeatures),
            QuantizedLayerNorm { LayerNorm: var n } norm when WholeRows(n.Input, n.Rows, n.InputRowStride, n.Dim) && patterns.OnlyReadBy(n.Input.Buffer, index)
                => SegmentedTokenByToken(norm, OverlapRule.TokenByToken(n.Input.Buffer, n.Dim, n.Output, n.Dim)),
            _ => null,
        };

    /// <summary>
    /// A concatenation of one activation and constants placed before it (a class token in front
    /// of the patch tokens) copies the activation forward, element by element, to D bytes past
    /// the output's start (mcu_copy_s8). At a shift ≤ −D every element lands at or before where
    /// it is read, and the constants land below the activation: the output may overwrite it.
    /// </summary>
    private static OverlapRule? ConcatRule(QuantizedOp op, int index, FusionPatterns patterns)
    {
        if (op is not QuantizedConcat concat || concat.Parts.Count(p => p.Source is not null) != 1) return null;
        static bool Contiguous(CopyPlan plan) =>
            plan.Shape[..3].All(n => n == 1) && plan.SourceStrides[3] == 1 && plan.DestinationStrides[3] == 1;
        var part = concat.Parts.Single(p => p.Source is not null);
        var source = part.Source!;
        int start = part.Copy.DestinationOffset;
        bool constantsBelow = concat.Parts.Where(p => p != part)
            .All(p => Contiguous(p.Copy) && p.Copy.DestinationOffset + p.Copy.Shape[3] <= start);
        return Contiguous(part.Copy) && constantsBelow && part.Copy.SourceOffset == 0 && source.IsDenseRowMajor
            && part.Copy.Shape[3] == source.Buffer.ElementCount && patterns.OnlyReadBy(source.Buffer, index)
            ? new OverlapRule(source.Buffer, concat.Op.Output, null, -start)
            : null;
    }

    /// <summary>
    /// A LayerNorm over row groups runs one call per group (NormSegments), and each call picks its
    /// token direction alone. The calls go in the order the rule's direction takes tokens
    /// (Emitter.InTokenOrder), so tokens are taken as one call would take them; where both
    /// directions are allowed (equal rows), the calls go forward and the rule keeps the shifts
    /// at which forward is safe.
    /// </summary>
    private static OverlapRule SegmentedTokenByToken(QuantizedLayerNorm norm, OverlapRule rule) =>
        norm.Segments.Count > 1 && rule.MinShift is null && rule.MaxShift is null ? rule with { MaxShift = 0 } : rule;

    /// <summary>Whether a token-wise input view is its whole buffer, rows back to back: the dense layout overlap rules describe.</summary>
    private static bool WholeRows(View input, int rows, int rowStride, int features) =>
        input.Offset == 0 && rowStride == features && rows * features == input.Buffer.ElementCount;

    /// <summary>
    /// The patch embedding run one patch row at a time (Emitter.PatchRows) may write its tokens
    /// over the image rows it has consumed: the tokens of patch rows 0..gy, written after patch row
    /// gy is read whole, must end before the first image row a later patch row reads in channel 0
    /// (later channels lie above all of channel 0). Writing below the image is always safe.
    /// </summary>
    public static OverlapRule? PatchRows(QuantizedPatchEmbed patches, int index, FusionPatterns patterns)
    {
        var e = patches.PatchEmbed;
        if (!e.Image.IsDenseRowMajor || !patterns.OnlyReadBy(e.Image.Buffer, index)) return null;
        int height = e.Image.Shape[1], width = e.Image.Shape[2], tokenRowBytes = e.GridW * e.Embed;
        int? maxShift = null;
        for (int gy = 0; gy + 1 < e.GridH; gy++)
        {
            int unreadRow = Math.Clamp((gy + 1) * e.Patch - e.PadTop, 0, height);
            int limit = unreadRow * width - (gy + 1) * tokenRowBytes;
            maxShift = Math.Min(maxShift ?? limit, limit);
        }
        return new OverlapRule(e.Image.Buffer, e.Output, null, maxShift);
    }

    /// <summary>
    /// The input an element-wise op may overwrite: one it reads whole, for the last time, with the
    /// same layout as its output (the kernels allow exactly this aliasing).
    /// </summary>
    public static ActivationBuffer? InPlaceTarget(QuantizedOp op, int index, ModelGraph graph, FusionPatterns patterns)
    {
        IEnumerable<View> candidates = op switch
        {
            QuantizedAdd { Add: var a } => [a.A, a.B],
            QuantizedAddConstant { AddConstant: var c } => [c.Input],
            QuantizedElementwise { Elementwise: var e } => [e.Input],
            _ => [],
        };
        return candidates.FirstOrDefault(v => v.Buffer != graph.Input.Buffer && v.CoversBuffer
            && v.Buffer.ElementCount == op.Op.Output.ElementCount && patterns.OnlyReadBy(v.Buffer, index))?.Buffer;
    }
}
