/*
 * mcu_add_s8: element-wise sum of two int8 tensors with different quantizations (residual
 * connections, positional embeddings).
 *
 * Shapes and layouts
 *   a, b, out  [count] int8, contiguous; out may be the same buffer as a or b (in place)
 *
 * Quantization
 *   real = scale * (q - zp) for a, b and out. The compiler folds a_scale / out_scale and
 *   b_scale / out_scale into the integer multipliers a_multiplier and b_multiplier, both with
 *   the common power-of-two divisor 2^shift.
 *
 * Arithmetic and rounding (int64)
 *   out[i] = sat8(out_zp + (((a[i] - a_zp) * a_multiplier + (b[i] - b_zp) * b_multiplier
 *                            + 2^(shift - 1)) >> shift))
 *   shift is in [1, 62]; the arithmetic shift rounds half up. Each term is below 2^39 in
 *   magnitude, so the sum plus the rounding half cannot overflow int64.
 */
#include "kernel_common.h"

void mcu_add_s8(const int8_t *a, const int8_t *b, int8_t *out, int32_t count, int32_t a_zp,
                int32_t a_multiplier, int32_t b_zp, int32_t b_multiplier, int32_t shift,
                int32_t out_zp)
{
    const int64_t rounding_half = (int64_t)1 << (shift - 1);

    /* a[i] and b[i] are both read before out[i] is written, which makes in-place use safe. */
    for (int32_t i = 0; i < count; i++) {
        const int64_t a_term = ((int64_t)a[i] - a_zp) * a_multiplier;
        const int64_t b_term = ((int64_t)b[i] - b_zp) * b_multiplier;
        const int64_t sum = (a_term + b_term + rounding_half) >> shift;
        out[i] = saturate_s64_to_s8((int64_t)out_zp + sum);
    }
}
