namespace McuFormer.Model.Lowering;

/// <summary>How a kernel parameter travels in generated C.</summary>
public enum ParamRole
{
    /// <summary>A pointer into the activations (or a constant standing in for one), passed in the call.</summary>
    Tensor,
    /// <summary>A dimension, quantization parameter or constant array: a field of the call's parameter struct.</summary>
    Layer,
}

/// <param name="CType">the C type as a struct field or argument would declare it ("int32_t", "const int8_t *")</param>
public sealed record KernelParam(string Name, string CType, ParamRole Role)
{
    public bool IsPointer => CType.EndsWith('*');
}

/// <summary>
/// One runtime-c kernel: its name, its parameters in the order of the C prototype, and the sources
/// under runtime-c/src a call of it links. The generated C calls <see cref="Name"/> with a pointer
/// to a <see cref="ParamsType"/> struct and the tensor arguments; <see cref="FlatName"/> is the
/// implementation taking every parameter, which the host executor calls.
/// </summary>
/// <param name="IsCallback">not a kernel but the caller's function the generated code calls (read_band)</param>
/// <param name="ChannelPairWeights">the kernel's "weights" take the channel-pair layout (<see cref="KernelAbi.PackChannelPairs"/>),
/// with as many channels as its "out_features"</param>
public sealed record KernelSignature(string Name, IReadOnlyList<KernelParam> Parameters, IReadOnlyList<string> Sources,
    bool IsCallback = false, bool ChannelPairWeights = false)
{
    public string FlatName => Name + "_flat";
    public string ParamsType => Name + "_params";
    public IEnumerable<KernelParam> Tensors => Parameters.Where(p => p.Role == ParamRole.Tensor);
    public IEnumerable<KernelParam> LayerFields => Parameters.Where(p => p.Role == ParamRole.Layer);

    public int IndexOf(string parameter)
    {
        for (int i = 0; i < Parameters.Count; i++)
            if (Parameters[i].Name == parameter) return i;
        throw new ArgumentException($"{Name} has no parameter '{parameter}'");
    }
}

/// <summary>
/// The kernel ABI, declared once: the call emitter binds arguments to these parameters by name, the C
/// generator prints parameter structs and calls from it, the host executor reads arguments by name,
/// and a test checks it against runtime-c/include/mcuformer/kernels.h.
/// </summary>
public static class KernelAbi
{
    private static KernelParam In(string name) => new(name, "const int8_t *", ParamRole.Tensor);
    private static KernelParam Out(string name) => new(name, "int8_t *", ParamRole.Tensor);
    private static KernelParam Int(string name) => new(name, "int32_t", ParamRole.Layer);
    private static KernelParam Long(string name) => new(name, "int64_t", ParamRole.Layer);
    private static KernelParam Array(string name, string element) => new(name, $"const {element} *", ParamRole.Layer);

    public static readonly KernelSignature Linear = new("mcu_linear_s8",
    [
        In("in"), Int("in_row_stride"), Out("out"), Int("out_row_stride"), Int("rows"), Int("in_features"), Int("out_features"),
        Array("weights", "int8_t"), Array("bias", "int32_t"), Array("multipliers", "int32_t"), Array("shifts", "int32_t"),
        Int("in_zp"), Int("out_zp"),
    ], ["linear_s8.c"], ChannelPairWeights: true);

    public static readonly KernelSignature MatMul = new("mcu_matmul_s8",
    [
        In("a"), Int("a_row_stride"), Int("a_col_stride"), In("b"), Int("b_row_stride"), Int("b_col_stride"), Out("out"),
        Int("out_row_stride"), Int("m"), Int("k"), Int("n"), Int("a_zp"), Int("b_zp"), Int("multiplier"), Int("shift"), Int("out_zp"),
    ], ["matmul_s8.c"]);

    public static readonly KernelSignature Softmax = new("mcu_softmax_s8",
        [In("in"), Out("out"), Int("rows"), Int("length"), Array("exp_table", "uint16_t")], ["softmax_s8.c"]);

    public static readonly KernelSignature LayerNorm = new("mcu_layernorm_s8",
    [
        In("in"), Int("in_row_stride"), Out("out"), Int("out_row_stride"), Int("rows"), Int("dim"), Long("eps_term"),
        Array("gamma_q", "int32_t"), Array("beta_q", "int32_t"), Int("out_zp"),
    ], ["layernorm_s8.c"]);

    public static readonly KernelSignature LayerNormLinear = new("mcu_layernorm_linear_s8",
    [
        In("in"), Int("in_row_stride"), Out("out"), Int("out_row_stride"), Int("rows"), Int("dim"), Long("eps_term"),
        Array("gamma_q", "int32_t"), Array("beta_q", "int32_t"), Int("norm_zp"), Int("out_features"), Array("weights", "int8_t"),
        Array("bias", "int32_t"), Array("multipliers", "int32_t"), Array("shifts", "int32_t"), Int("out_zp"), Out("row_scratch"),
    ], ["layernorm_linear_s8.c", "layernorm_s8.c", "linear_s8.c"], ChannelPairWeights: true);

    public static readonly KernelSignature Lut = new("mcu_lut_s8",
        [In("in"), Out("out"), Int("count"), Array("table", "int8_t")], ["lut_s8.c"]);

    public static readonly KernelSignature Add = new("mcu_add_s8",
    [
        In("a"), In("b"), Out("out"), Int("count"), Int("a_zp"), Int("a_multiplier"), Int("b_zp"), Int("b_multiplier"),
        Int("shift"), Int("out_zp"),
    ], ["add_s8.c"]);

    public static readonly KernelSignature PatchEmbed = new("mcu_patch_embed_s8",
    [
        In("image"), Int("channels"), Int("height"), Int("width"), Int("patch"), Int("pad_top"), Int("pad_left"), Int("grid_h"),
        Int("grid_w"), Array("weights", "int8_t"), Array("bias", "int32_t"), Array("multipliers", "int32_t"),
        Array("shifts", "int32_t"), Int("embed"), Int("in_zp"), Int("out_zp"), Out("out"),
    ], ["patch_embed_s8.c"]);

    public static readonly KernelSignature MeanTokens = new("mcu_mean_tokens_s8",
    [
        In("in"), Int("in_row_stride"), Int("rows"), Int("dim"), Int("in_zp"), Int("multiplier"), Int("shift"), Int("out_zp"),
        Out("out"),
    ], ["mean_tokens_s8.c"]);

    public static readonly KernelSignature Copy = new("mcu_copy_s8",
    [
        In("in"), Array("in_strides", "int32_t"), Out("out"), Array("out_strides", "int32_t"), Array("shape", "int32_t"),
        Int("in_zp"), Int("multiplier"), Int("shift"), Int("out_zp"),
    ], ["copy_s8.c"]);

    /// <summary>
    /// Not a runtime-c kernel: the caller's band reader, asked for image rows [first_row, first_row + rows)
    /// of every channel, CHW, into a band buffer. The generated mcu_model_run_streamed calls it and
    /// returns its status when it is not 0.
    /// </summary>
    public static readonly KernelSignature ReadBand = new("read_band",
        [Int("first_row"), Int("rows"), Out("band")], [], IsCallback: true);

    /// <summary>The runtime-c kernels, in the order kernels.h declares them.</summary>
    public static IReadOnlyList<KernelSignature> Kernels { get; } =
        [Linear, MatMul, Softmax, LayerNorm, LayerNormLinear, Lut, Add, PatchEmbed, MeanTokens, Copy];

    /// <summary>
    /// mcu_linear_s8 copies a token that its output row overlaps into a stack row of this many
    /// bytes (MCU_LINEAR_OVERLAP_MAX_IN_FEATURES in kernels.h) before writing over it.
    /// </summary>
    public const int LinearOverlapMaxInFeatures = 1536;

    /// <summary>Tokens mcu_layernorm_linear_s8 normalises at a time (MCU_LAYERNORM_LINEAR_BLOCK in kernels.h).</summary>
    public const int LayerNormLinearBlock = 4;

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<sbyte[], Tuple<int, sbyte[]>> Packed = new();

    /// <summary>
    /// The channel-pair layout of row-major [outFeatures][inFeatures] weights, which mcu_linear_s8 and
    /// mcu_layernorm_linear_s8 read (kernels.h, mcu_linear_weights_pack): channels 2c and 2c + 1 interleaved
    /// byte by byte, the first of each pair stored plus 128 as an unsigned byte, an odd last channel a plain
    /// row. <see cref="KernelCall.Bind"/> applies it to the weights of every such call, so the firmware's
    /// constants and the host executor get the same arrays; it applies per array, so weights sliced per head
    /// before they become constants are packed slice by slice. One packed array per weight array.
    /// </summary>
    public static sbyte[] PackChannelPairs(sbyte[] rowMajor, int outFeatures)
    {
        if (outFeatures <= 0 || rowMajor.Length % outFeatures != 0)
            throw new ArgumentException($"{rowMajor.Length} weights are no whole number of {outFeatures} channels");
        var cached = Packed.GetValue(rowMajor, w => Tuple.Create(outFeatures, Pack(w, outFeatures)));
        return cached.Item1 == outFeatures ? cached.Item2 : Pack(rowMajor, outFeatures);
    }

    private static sbyte[] Pack(sbyte[] rowMajor, int outFeatures)
    {
        int inFeatures = rowMajor.Length / outFeatures;
        var packed = new sbyte[rowMajor.Length];
        int paired = outFeatures & ~1;
        for (int o = 0; o < paired; o += 2)
        {
            int pair = o * inFeatures;
            for (int k = 0; k < inFeatures; k++)
            {
                packed[pair + 2 * k] = unchecked((sbyte)(rowMajor[o * inFeatures + k] ^ -128));
                packed[pair + 2 * k + 1] = rowMajor[(o + 1) * inFeatures + k];
            }
        }
        System.Array.Copy(rowMajor, paired * inFeatures, packed, paired * inFeatures, (outFeatures - paired) * inFeatures);
        return packed;
    }
}
