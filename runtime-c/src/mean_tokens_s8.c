/*
 * mcu_mean_tokens_s8: average over the tokens (global average pooling before the classifier).
 *
 * Shapes and layouts
 *   in   [rows][dim] int8, row r starts at in + r * in_row_stride
 *   out  [dim] int8
 *
 * Quantization
 *   Input and output per-tensor asymmetric (in_zp, out_zp). The division by rows is not done
 *   here: the compiler folds 1 / rows into the multiplier, which encodes
 *   in_scale / (out_scale * rows).
 *
 * Arithmetic and rounding
 *   acc     = sum_r (in[r][c] - in_zp)                                  (int32)
 *   out[c]  = sat8(out_zp + mcu_requantize(acc, multiplier, shift))
 *   mcu_requantize rounds half up (add half, arithmetic shift right) and saturates to int32.
 */
#include "kernel_common.h"

void mcu_mean_tokens_s8_flat(const int8_t *in, int32_t in_row_stride, int32_t rows, int32_t dim,
                        int32_t in_zp, int32_t multiplier, int32_t shift, int32_t out_zp,
                        int8_t *out)
{
    for (int32_t c = 0; c < dim; c++) {
        int32_t acc = 0;
        for (int32_t r = 0; r < rows; r++) {
            acc += (int32_t)in[r * in_row_stride + c] - in_zp;
        }
        out[c] = requantize_to_s8(acc, multiplier, shift, out_zp);
    }
}
