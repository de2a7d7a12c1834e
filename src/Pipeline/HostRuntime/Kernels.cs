using System.Runtime.InteropServices;

namespace McuFormer.Pipeline.HostRuntime;

/// <summary>P/Invoke declarations of runtime-c/include/mcuformer/kernels.h.</summary>
internal static unsafe partial class Kernels
{
    private const string Lib = NativeRuntimeBuilder.LibraryName;

    [LibraryImport(Lib, EntryPoint = "mcu_linear_s8_flat")]
    public static partial void Linear(sbyte* input, int inRowStride, sbyte* output, int outRowStride, int rows, int inFeatures,
        int outFeatures, sbyte* weights, int* bias, int* multipliers, int* shifts, int inZp, int outZp);

    [LibraryImport(Lib, EntryPoint = "mcu_matmul_s8_flat")]
    public static partial void MatMul(sbyte* a, int aRowStride, int aColStride, sbyte* b, int bRowStride, int bColStride,
        sbyte* output, int outRowStride, int m, int k, int n, int aZp, int bZp, int multiplier, int shift, int outZp);

    [LibraryImport(Lib, EntryPoint = "mcu_softmax_s8_flat")]
    public static partial void Softmax(sbyte* input, sbyte* output, int rows, int length, ushort* expTable);

    [LibraryImport(Lib, EntryPoint = "mcu_layernorm_s8_flat")]
    public static partial void LayerNorm(sbyte* input, int inRowStride, sbyte* output, int outRowStride, int rows, int dim,
        long epsTerm, int* gamma, int* beta, int outZp);

    [LibraryImport(Lib, EntryPoint = "mcu_layernorm_linear_s8_flat")]
    public static partial void LayerNormLinear(sbyte* input, int inRowStride, sbyte* output, int outRowStride, int rows, int dim,
        long epsTerm, int* gamma, int* beta, int normZp, int outFeatures, sbyte* weights, int* bias, int* multipliers, int* shifts,
        int outZp, sbyte* rowScratch);

    [LibraryImport(Lib, EntryPoint = "mcu_lut_s8_flat")]
    public static partial void Lut(sbyte* input, sbyte* output, int count, sbyte* table);

    [LibraryImport(Lib, EntryPoint = "mcu_add_s8_flat")]
    public static partial void Add(sbyte* a, sbyte* b, sbyte* output, int count, int aZp, int aMultiplier, int bZp,
        int bMultiplier, int shift, int outZp);

    [LibraryImport(Lib, EntryPoint = "mcu_patch_embed_s8_flat")]
    public static partial void PatchEmbed(sbyte* image, int channels, int height, int width, int patch, int padTop, int padLeft,
        int gridH, int gridW, sbyte* weights, int* bias, int* multipliers, int* shifts, int embed, int inZp, int outZp, sbyte* output);

    [LibraryImport(Lib, EntryPoint = "mcu_mean_tokens_s8_flat")]
    public static partial void MeanTokens(sbyte* input, int inRowStride, int rows, int dim, int inZp, int multiplier, int shift,
        int outZp, sbyte* output);

    [LibraryImport(Lib, EntryPoint = "mcu_copy_s8_flat")]
    public static partial void Copy(sbyte* input, int* inStrides, sbyte* output, int* outStrides, int* shape, int inZp,
        int multiplier, int shift, int outZp);
}
