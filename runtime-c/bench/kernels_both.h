/*
 * Both builds of the kernels in one firmware: mcu_* is the build for this core (the DSP path on
 * a core with the DSP extension) and mcu_*_portable the same sources built with
 * MCU_FORCE_PORTABLE and renamed by portable_names.h. The second set of declarations is
 * kernels.h itself, read again under the renaming macros, so the two cannot drift apart.
 */
#ifndef KERNELS_BOTH_H
#define KERNELS_BOTH_H

#include <mcuformer/kernels.h>

#undef MCUFORMER_KERNELS_H
#include "portable_names.h"
#include <mcuformer/kernels.h>

#undef mcu_requantize
#undef mcu_saturate_s8
#undef mcu_linear_weights_pack
#undef mcu_linear_s8_flat
#undef mcu_matmul_s8_flat
#undef mcu_softmax_s8_flat
#undef mcu_layernorm_s8_flat
#undef mcu_lut_s8_flat
#undef mcu_add_s8_flat
#undef mcu_patch_embed_s8_flat
#undef mcu_mean_tokens_s8_flat
#undef mcu_copy_s8_flat
#undef mcu_layernorm_linear_s8_flat

#endif /* KERNELS_BOTH_H */
