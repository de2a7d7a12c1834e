namespace McuFormer.Model.Lowering;

/// <summary>
/// The stack runtime-c's kernels take on the device: their DSP paths extend operands into a buffer on the stack
/// (kernel_dsp_dot.h), 3 KB, or 6 KB for a linear layer, a fused LayerNorm + linear or a patch embedding of 385 to 768
/// inputs, which then still takes four tokens at a time; besides that buffer, the harness and the call frames take under
/// 1 KB (848 B for the fixture, 824 B for DeiT-tiny, measured by `simulate`).
/// </summary>
public static class KernelStack
{
    /// <summary>DSP_DOT_BUFFER_WORDS words.</summary>
    public const int BufferBytes = 768 * 4;
    /// <summary>DSP_DOT_WIDE_BUFFER_WORDS words.</summary>
    public const int WideBufferBytes = 1536 * 4;
    public const int BesideBufferBytes = 1024;

    /// <summary>Stack bytes the runs' calls need at most.</summary>
    public static int BytesNeeded(IEnumerable<Schedule> schedules) =>
        BesideBufferBytes + (schedules.SelectMany(s => s.Calls).Any(TakesWideBuffer) ? WideBufferBytes : BufferBytes);

    private static bool TakesWideBuffer(KernelCall call)
    {
        long Int(string parameter) => ((IntArg)call[parameter]).Value;
        long inputs = call.Kernel == KernelAbi.Linear ? Int("in_features")
            : call.Kernel == KernelAbi.LayerNormLinear ? Int("dim")
            : call.Kernel == KernelAbi.PatchEmbed ? Int("channels") * Int("patch") * Int("patch")
            : 0;
        // One word per pair of inputs and token, four tokens: more than the buffer holds, not more than the wide one.
        long bytes = 4 * 4 * ((inputs + 1) / 2);
        return bytes is > BufferBytes and <= WideBufferBytes;
    }
}
