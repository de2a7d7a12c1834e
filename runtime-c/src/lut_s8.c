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
 */
#include "mcuformer/kernels.h"

void mcu_lut_s8(const int8_t *in, int8_t *out, int32_t count, const int8_t table[256])
{
    for (int32_t i = 0; i < count; i++) {
        out[i] = table[(int32_t)in[i] + 128];
    }
}
