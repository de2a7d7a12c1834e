/*
 * mcu_lut_s8: element-wise function through a 256-entry table (GELU, sigmoid, any unary op).
 *
 * Shapes and layouts
 *   in, out  [count] int8, contiguous; out may be the same buffer as in (in place)
 *   table    [256] int8, table[q + 128] is the output for input q
 *
 * Quantization and rounding
 *   Both quantizations and all rounding are baked into the table by the compiler; the kernel
 *   only indexes it. Each element is read before it is written, so in place is safe.
 *
 * Paths (kernel_common.h)
 *   Portable: one element per iteration; the reference.
 *   DSP: a lookup is one load whatever the instruction set, so the Cortex-M path is about the
 *   loop around it: four elements per iteration, each a sign-extending byte load used directly
 *   as the index into the table's middle (no + 128), the lookup and the store.
 */
#include "kernel_common.h"

void mcu_lut_s8_flat(const int8_t *in, int8_t *out, int32_t count, const int8_t table[256])
{
#if MCU_KERNELS_DSP
    const int8_t *const middle = table + 128;
    int32_t i = 0;
    for (; i + 4 <= count; i += 4) {
        out[i] = middle[in[i]];
        out[i + 1] = middle[in[i + 1]];
        out[i + 2] = middle[in[i + 2]];
        out[i + 3] = middle[in[i + 3]];
    }
    for (; i < count; i++) out[i] = middle[in[i]];
#else
    for (int32_t i = 0; i < count; i++) {
        out[i] = table[(int32_t)in[i] + 128];
    }
#endif
}
