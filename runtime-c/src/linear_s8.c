/*
 * mcu_linear_s8: fully connected layer applied to every token.
 *
 * Shapes and layouts
 *   in       [rows][in_features]          int8, row r starts at in + r * in_row_stride
 *   weights  [out_features][in_features]  int8, row-major, one weight row per output channel
 *   bias     [out_features]               int32, or NULL for no bias
 *   out      [rows][out_features]         int8, row r starts at out + r * out_row_stride
 *
 * Quantization
 *   Input: per-tensor asymmetric (in_zp). Weights: per-output-channel symmetric (zero point 0).
 *   Bias is in the accumulator's scale, in_scale * weight_scale[o]. Output: per-tensor
 *   asymmetric (out_zp), reached through a per-channel fixed-point multiplier and shift.
 *
 * Arithmetic and rounding
 *   acc        = bias[o] + sum_k (in[r][k] - in_zp) * weights[o][k]        (int32)
 *   out[r][o]  = sat8(out_zp + mcu_requantize(acc, multipliers[o], shifts[o]))
 *   mcu_requantize rounds half up (add half, arithmetic shift right) and saturates to int32.
 *   Each product is at most 255 * 128 in magnitude, so the int32 accumulator cannot overflow
 *   while in_features * 32640 + |bias| < 2^31 (in_features up to about 65000).
 */
#include <stddef.h>

#include "kernel_common.h"

void mcu_linear_s8(const int8_t *in, int32_t in_row_stride, int8_t *out, int32_t out_row_stride,
                   int32_t rows, int32_t in_features, int32_t out_features, const int8_t *weights,
                   const int32_t *bias, const int32_t *multipliers, const int32_t *shifts,
                   int32_t in_zp, int32_t out_zp)
{
    for (int32_t r = 0; r < rows; r++) {
        const int8_t *in_row = in + r * in_row_stride;
        int8_t *out_row = out + r * out_row_stride;

        for (int32_t o = 0; o < out_features; o++) {
            const int8_t *weight_row = weights + o * in_features;
            int32_t acc = (bias != NULL) ? bias[o] : 0;
            for (int32_t k = 0; k < in_features; k++) {
                acc += ((int32_t)in_row[k] - in_zp) * weight_row[k];
            }
            out_row[o] = requantize_to_s8(acc, multipliers[o], shifts[o], out_zp);
        }
    }
}
