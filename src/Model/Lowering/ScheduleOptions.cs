using McuFormer.Model.Ir;
using McuFormer.Model.Quantization;

namespace McuFormer.Model.Lowering;

/// <summary>How aggressively the schedule saves RAM.</summary>
/// <param name="Fuse">run attention head by head in blocks of query rows, and the MLP in chunks of tokens,
/// so that the score matrix and the hidden activations never exist whole</param>
/// <param name="InPlace">let residual adds and element-wise tables overwrite an input that is read for the last time,
/// and let token-wise steps (linear, LayerNorm, patch embedding) write over the part of such an input they have consumed</param>
/// <param name="FusedLayerNorms">LayerNorms (of KernelLowering.FusableLayerNorms) to fuse into the linear or MLP after
/// them, so that their output never exists in full; with Fuse only</param>
/// <param name="StreamedInput">the image arrives one patch row's band of pixel rows at a time from the caller
/// (KernelLowering.ReadBand calls), so the whole image never exists; with Fuse, for models whose input only
/// the patch embedding reads (KernelLowering.CanStreamInput)</param>
/// <param name="QkvPerHead">run each attention whose qkv linear feeds it alone head by head, without the qkv tensor: per
/// head, the qkv linear's own output channels for that head's keys, values and queries, and the last head one block of
/// query rows at a time through the output projection into the residual (CallEmitter.QkvPerHead). A LayerNorm fused in
/// front of the qkv linear normalises each row once per call, so this costs instructions for memory; with Fuse and
/// InPlace only</param>
/// <param name="LeastMemory">for a board, plan the schedule that needs the least memory even where a faster one fits its
/// RAM, and place its buffers for the least RAM in all rather than the fast region first (to leave RAM to the
/// application, or to measure the smallest arena); otherwise the fastest schedule that fits is taken</param>
public sealed record ScheduleOptions(bool Fuse, bool InPlace, int AttentionRowBlock = 8, int MlpRowChunk = 8,
    IReadOnlySet<LayerNormOp>? FusedLayerNorms = null, bool StreamedInput = false, bool QkvPerHead = false, bool LeastMemory = false)
{
    /// <summary>One step per op, every buffer separate: what validation compares layer by layer.</summary>
    public static readonly ScheduleOptions Unfused = new(false, false);
    public static readonly ScheduleOptions Fused = new(true, true);

    /// <summary>How the steps run, for people.</summary>
    public string Describe() => Fuse
        ? $"fused: attention in blocks of {AttentionRowBlock} query rows, MLP in chunks of {MlpRowChunk} tokens, " +
          $"{FusedLayerNorms?.Count ?? 0} LayerNorms fused into the next linear{(InPlace ? ", in-place adds, token overwriting" : "")}" +
          (QkvPerHead ? ", qkv head by head" : "") +
          (StreamedInput ? ", image streamed band by band" : "")
        : "unfused";
}
