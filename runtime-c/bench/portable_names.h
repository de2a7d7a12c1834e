/*
 * Renames every public name of mcuformer/kernels.h to <name>_portable. The kernel firmware
 * compiles runtime-c/src a second time with
 *   -DMCU_FORCE_PORTABLE -include portable_names.h
 * so that the portable build of each kernel links next to the DSP build under its own name;
 * kernels_both.h declares both.
 */
#define mcu_requantize mcu_requantize_portable
#define mcu_saturate_s8 mcu_saturate_s8_portable
#define mcu_linear_weights_pack mcu_linear_weights_pack_portable
#define mcu_linear_s8_flat mcu_linear_s8_flat_portable
#define mcu_matmul_s8_flat mcu_matmul_s8_flat_portable
#define mcu_softmax_s8_flat mcu_softmax_s8_flat_portable
#define mcu_layernorm_s8_flat mcu_layernorm_s8_flat_portable
#define mcu_lut_s8_flat mcu_lut_s8_flat_portable
#define mcu_add_s8_flat mcu_add_s8_flat_portable
#define mcu_patch_embed_s8_flat mcu_patch_embed_s8_flat_portable
#define mcu_mean_tokens_s8_flat mcu_mean_tokens_s8_flat_portable
#define mcu_copy_s8_flat mcu_copy_s8_flat_portable
#define mcu_layernorm_linear_s8_flat mcu_layernorm_linear_s8_flat_portable
