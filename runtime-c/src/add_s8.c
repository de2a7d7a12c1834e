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
 *
 * Paths (kernel_common.h)
 *   Portable: the formula above in int64 arithmetic; the reference.
 *   DSP: the zero points and the rounding half fold into one constant c, so each element is
 *   v = c + a[i] * a_multiplier + b[i] * b_multiplier: two SMLALs onto c. For shift >= 32 the
 *   result is (high word of v) >> (shift - 32). For 10 <= shift < 32 the inputs are scaled by
 *   2^(32 - shift) (and c, which then also carries out_zp * 2^shift), so the result is the high
 *   word itself; the scaled inputs stay below 2^30 and the scaled v below 2^63. Both are exact
 *   floors of the same integers and end in SSAT. shift < 10 takes the portable code.
 */
#include "kernel_common.h"

#if MCU_KERNELS_DSP

static void add_dsp(const int8_t *a, const int8_t *b, int8_t *out, int32_t count, int32_t a_zp,
                    int32_t a_multiplier, int32_t b_zp, int32_t b_multiplier, int32_t shift,
                    int32_t out_zp)
{
    /* (a - a_zp) * a_multiplier + (b - b_zp) * b_multiplier + 2^(shift - 1)
     *   = a * a_multiplier + b * b_multiplier + c */
    const int64_t c = ((int64_t)1 << (shift - 1)) - (int64_t)a_zp * a_multiplier -
                      (int64_t)b_zp * b_multiplier;

    /* a[i] and b[i] are both read before out[i] is written, which makes in-place use safe. */
    if (shift >= 32) {
        const int32_t rest = shift - 32;
        for (int32_t i = 0; i < count; i++) {
            const int64_t v = c + (int64_t)a[i] * a_multiplier + (int64_t)b[i] * b_multiplier;
            out[i] = (int8_t)__ssat(((int32_t)(v >> 32) >> rest) + out_zp, 8);
        }
    } else {
        const int32_t up = 32 - shift; /* 1..22 */
        const int64_t c_up = (c + (int64_t)out_zp * ((int64_t)1 << shift)) * ((int64_t)1 << up);
        for (int32_t i = 0; i < count; i++) {
            const int64_t v = c_up + (int64_t)(a[i] * (1 << up)) * a_multiplier +
                              (int64_t)(b[i] * (1 << up)) * b_multiplier;
            out[i] = (int8_t)__ssat((int32_t)(v >> 32), 8);
        }
    }
}

#endif /* MCU_KERNELS_DSP */

void mcu_add_s8_flat(const int8_t *a, const int8_t *b, int8_t *out, int32_t count, int32_t a_zp,
                int32_t a_multiplier, int32_t b_zp, int32_t b_multiplier, int32_t shift,
                int32_t out_zp)
{
#if MCU_KERNELS_DSP
    if (shift >= 10) {
        add_dsp(a, b, out, count, a_zp, a_multiplier, b_zp, b_multiplier, shift, out_zp);
        return;
    }
#endif
    const int64_t rounding_half = (int64_t)1 << (shift - 1);

    /* a[i] and b[i] are both read before out[i] is written, which makes in-place use safe. */
    for (int32_t i = 0; i < count; i++) {
        const int64_t a_term = ((int64_t)a[i] - a_zp) * a_multiplier;
        const int64_t b_term = ((int64_t)b[i] - b_zp) * b_multiplier;
        const int64_t sum = (a_term + b_term + rounding_half) >> shift;
        out[i] = saturate_s64_to_s8((int64_t)out_zp + sum);
    }
}
