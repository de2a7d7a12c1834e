using McuFormer.Model.Ir;

namespace McuFormer.Model.Lowering;

/// <summary>
/// Partial overlap between the input a step reads for the last time and the output it writes (as
/// in vMCU): the output may share bytes with the input when its offset minus the input's offset
/// (the shift, in bytes) lies in [MinShift, MaxShift], null meaning unbounded. At any other shift
/// the two must not share a byte. The step's kernels are written to be correct under exactly
/// this aliasing.
/// </summary>
public sealed record OverlapRule(ActivationBuffer Input, ActivationBuffer Output, int? MinShift, int? MaxShift)
{
    public bool Allows(int shift) => (MinShift is not { } low || shift >= low) && (MaxShift is not { } high || shift <= high);

    /// <summary>
    /// Kernels that take tokens in the safe direction, each token read whole before its output is
    /// written (mcu_linear_s8, mcu_layernorm_s8, mcu_layernorm_linear_s8): forward when the output
    /// ends at or before the input's end, backward otherwise. Forward is safe while writing token t
    /// stays below token t + 1 of the input, which holds at every shift ≤ 0 when output rows are no
    /// longer than input rows; backward is safe while writing token t stays above token t − 1,
    /// which holds at every shift ≥ 0 when output rows are no shorter.
    /// </summary>
    public static OverlapRule TokenByToken(ActivationBuffer input, int inputRowBytes, ActivationBuffer output, int outputRowBytes) =>
        inputRowBytes == outputRowBytes ? new(input, output, null, null)
        : inputRowBytes > outputRowBytes ? new(input, output, null, 0)
        : new(input, output, 0, null);

    /// <summary>
    /// The most bytes the two buffers can share at an allowed shift: at shifts between 0 and
    /// inputBytes − outputBytes the smaller lies wholly inside the larger; further out the shared
    /// bytes fall off linearly, so the best allowed shift is one of those two ends clamped into
    /// [MinShift, MaxShift].
    /// </summary>
    public int MostSharedBytes(int inputBytes, int outputBytes)
    {
        int Clamp(int shift) => Math.Min(Math.Max(shift, MinShift ?? int.MinValue), MaxShift ?? int.MaxValue);
        int Shared(int shift) => Math.Max(0, Math.Min(shift + outputBytes, inputBytes) - Math.Max(shift, 0));
        int a = Clamp(Math.Min(0, inputBytes - outputBytes)), b = Clamp(Math.Max(0, inputBytes - outputBytes));
        return Math.Max(Shared(a), Shared(b));
    }
}
