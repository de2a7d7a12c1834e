/*
 * mcu_matmul_s8: product of two int8 activations, out = a * b (one attention head: Q * K^T or
 * P * V).
 *
 * Shapes and layouts (all strides in elements, so a transposed operand needs no copy)
 *   a    m x k, element (i, p) at a[i * a_row_stride + p * a_col_stride]
 *   b    k x n, element (p, j) at b[p * b_row_stride + j * b_col_stride]
 *        (for Q * K^T pass K with b_row_stride = 1 and b_col_stride = K's row stride)
 *   out  m x n, element (i, j) at out[i * out_row_stride + j]
 *
 * Quantization
 *   a, b and out are per-tensor asymmetric with zero points a_zp, b_zp, out_zp; one multiplier
 *   and shift encode a_scale * b_scale / out_scale.
 *
 * Arithmetic and rounding
 *   acc        = sum_p (a[i][p] - a_zp) * (b[p][j] - b_zp)                  (int32)
 *   out[i][j]  = sat8(out_zp + mcu_requantize(acc, multiplier, shift))
 *   mcu_requantize rounds half up (add half, arithmetic shift right) and saturates to int32.
 *   Each product is at most 255 * 255 in magnitude, so the accumulator cannot overflow while
 *   k <= 33025.
 */
#include "kernel_common.h"

void mcu_matmul_s8(const int8_t *a, int32_t a_row_stride, int32_t a_col_stride, const int8_t *b,
                   int32_t b_row_stride, int32_t b_col_stride, int8_t *out, int32_t out_row_stride,
                   int32_t m, int32_t k, int32_t n, int32_t a_zp, int32_t b_zp, int32_t multiplier,
                   int32_t shift, int32_t out_zp)
{
    for (int32_t i = 0; i < m; i++) {
        const int8_t *a_row = a + i * a_row_stride;
        int8_t *out_row = out + i * out_row_stride;

        for (int32_t j = 0; j < n; j++) {
            const int8_t *b_col = b + j * b_col_stride;
            int32_t acc = 0;
            for (int32_t p = 0; p < k; p++) {
                acc += ((int32_t)a_row[p * a_col_stride] - a_zp)
                     * ((int32_t)b_col[p * b_row_stride] - b_zp);
            }
            out_row[j] = requantize_to_s8(acc, multiplier, shift, out_zp);
        }
    }
}
