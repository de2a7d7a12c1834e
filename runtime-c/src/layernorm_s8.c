/*
 * mcu_layernorm_s8: LayerNorm over the last axis of each token, integer only.
 *
 * Shapes and layouts
 *   in       [rows][dim] int8, row r starts at in + r * in_row_stride
 *   out      [rows][dim] int8, row r starts at out + r * out_row_stride
 *   gamma_q  [dim] int32, round(gamma / out_scale * 2^16)   (Q16 in output units)
 *   beta_q   [dim] int32, round(beta / out_scale * 2^16)    (Q16 in output units)
 *   eps_term int64, round(eps * dim^2 / in_scale^2), >= 0
 *
 * Quantization
 *   The input zero point and scale cancel: the kernel works on d_i = dim * (in[i] - mean),
 *   which is an integer, and divides by sigma = dim * std in the same units.
 *
 * Arithmetic and rounding (per row)
 *   s        = sum_i in[i]                                       (int32)
 *   d_i      = dim * in[i] - s                                   (int32)
 *   v        = floor(sum_i d_i^2 / dim) + eps_term               (int64)
 *   sigma    = max(1, floor(sqrt(v)))                            (exact integer square root)
 *   inverse  = floor(2^30 / sigma)                               (int64)
 *   n_i      = (d_i * inverse + 2^13) >> 14                      (normalised value, Q16)
 *   out[i]   = sat8(out_zp + ((n_i * gamma_q[i] + beta_q[i] * 2^16 + 2^31) >> 32))
 *   All shifts are arithmetic (round half up). |d_i| <= 255 * dim and sum_i d_i^2 <=
 *   65025 * dim^3, so nothing overflows for dim up to about 50000; |n_i| stays below
 *   2^18 * sqrt(dim), so n_i * gamma_q fits int64 for any int32 gamma_q.
 */
#include "kernel_common.h"

/* floor(sqrt(value)), exact, by the bit-by-bit method: the root is built from its top bit down,
 * one bit per step, keeping value - partial_root^2 as the remainder, so no rounding creeps in.
 * The result is below 2^32 for any 64-bit input. */
static uint32_t integer_sqrt_u64(uint64_t value)
{
    uint64_t remainder = value;
    uint64_t root = 0;
    uint64_t bit = (uint64_t)1 << 62; /* largest power of four that fits */

    while (bit > remainder) bit >>= 2;

    /* With bit = 4^k, the loop keeps remainder = value - partial^2 and root = partial * 2^(k+1),
     * where partial holds the root bits found above bit k. Setting bit k is allowed when
     * (partial + 2^k)^2 <= value, i.e. when remainder >= partial * 2^(k+1) + 4^k = root + bit. */
    while (bit != 0) {
        if (remainder >= root + bit) {
            remainder -= root + bit;
            root = (root >> 1) + bit;
        } else {
            root >>= 1;
        }
        bit >>= 2;
    }
    return (uint32_t)root;
}

void mcu_layernorm_s8(const int8_t *in, int32_t in_row_stride, int8_t *out, int32_t out_row_stride,
                      int32_t rows, int32_t dim, int64_t eps_term, const int32_t *gamma_q,
                      const int32_t *beta_q, int32_t out_zp)
{
    if (dim <= 0) return; /* nothing to normalise, and v would divide by zero */

    for (int32_t r = 0; r < rows; r++) {
        const int8_t *in_row = in + r * in_row_stride;
        int8_t *out_row = out + r * out_row_stride;

        int32_t sum = 0;
        for (int32_t i = 0; i < dim; i++) sum += in_row[i];

        int64_t sum_of_squares = 0;
        for (int32_t i = 0; i < dim; i++) {
            const int32_t deviation = dim * in_row[i] - sum;
            sum_of_squares += (int64_t)deviation * deviation;
        }

        /* The header requires v >= 0 (eps_term >= 0); a negative v is treated like v = 0 so that
         * the kernel stays defined, matching sigma = max(1, ...) for every v < 1. */
        const int64_t variance = sum_of_squares / dim + eps_term;
        uint32_t sigma = (variance > 0) ? integer_sqrt_u64((uint64_t)variance) : 0;
        if (sigma < 1) sigma = 1;

        /* sigma < 2^32 and 2^30 < 2^32, so a 32-bit division gives floor(2^30 / sigma) exactly
         * and avoids a 64-bit division call on 32-bit cores. */
        const int64_t inverse = (int64_t)(((uint32_t)1 << 30) / sigma);

        for (int32_t i = 0; i < dim; i++) {
            const int32_t deviation = dim * in_row[i] - sum;
            const int64_t normalized_q16 = ((int64_t)deviation * inverse + (1 << 13)) >> 14;
            /* beta_q * 65536 instead of beta_q << 16: the same value, but a left shift of a
             * negative number is undefined in C99. */
            const int64_t scaled = normalized_q16 * gamma_q[i] + (int64_t)beta_q[i] * 65536
                                 + ((int64_t)1 << 31);
            out_row[i] = saturate_s64_to_s8((int64_t)out_zp + (scaled >> 32));
        }
    }
}
