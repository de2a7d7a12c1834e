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
 *
 * Paths (kernel_common.h)
 *   Portable: the formula above, one output at a time; the reference.
 *   DSP: the tokens are taken four at a time. Their inputs, minus in_zp, are sign-extended once
 *   into an extended-operand buffer on the stack (kernel_dsp_dot.h); then each weight row is read
 *   once per block, four weights per word load, extended with SXTB16 and multiplied against the
 *   four tokens with SMLAD (dsp_dot_4x1: 16 instructions per 16 MACs; kernel_dsp_channels.h,
 *   shared with mcu_patch_embed_s8), so in_zp costs nothing in the inner loop. When four tokens
 *   of in_features do not fit the 3 KB buffer (in_features > 384), and for the tokens left
 *   over, pairs of tokens meet pairs of weight rows (dsp_dot_2x2: 18 per 16; in_features <=
 *   768), and a last single token meets pairs of weight rows (dsp_dot_1x2: 13 per 8). The
 *   weight layout stays [out][in]. The int32 sums are the same numbers in another order (SMLAD
 *   wraps like int32 addition, and the true sum fits), and requantize_s8_dsp rounds exactly like
 *   mcu_requantize, so both paths give the same bytes. in_features > 1536 (even one token does
 *   not fit the buffer) takes the portable path.
 *
 * Aliasing (token overwriting)
 *   out may overlap in when in_features <= MCU_LINEAR_OVERLAP_MAX_IN_FEATURES and the shift
 *   (out - in, in bytes) is <= 0 for out_row_stride < in_row_stride (such as the output
 *   projection reading the query columns of qkv rows), >= 0 for out_row_stride > in_row_stride,
 *   any for equal strides. Tokens run in the order tokens_backward() (kernel_common.h) picks, and each token
 *   is read whole before its output row is written: the DSP path extends a block of tokens into
 *   its stack buffer first; the portable path copies a token whose output row overlaps it into a
 *   stack row first. A block or a token yields the same bytes in either order.
 */
#include <stddef.h>

#include "kernel_common.h"
#if MCU_KERNELS_DSP
#include "kernel_dsp_channels.h"

static void linear_dsp(const int8_t *in, int32_t in_row_stride, int8_t *out,
                       int32_t out_row_stride, int32_t rows, int32_t in_features,
                       int32_t out_features, const int8_t *weights, const int32_t *bias,
                       const int32_t *multipliers, const int32_t *shifts, int32_t in_zp,
                       int32_t out_zp)
{
    int32_t buffer[DSP_DOT_BUFFER_WORDS];
    int32_t largest = 4;
    while (!dsp_dot_fits(largest, in_features)) largest /= 2;
    const int backward = tokens_backward(in, in_row_stride, out, out_row_stride, rows);
    /* Blocks of the largest size that fits, then smaller ones for the tokens left over, taken
     * from the first token on, or from the last one back. */
    for (int32_t done = 0; done < rows;) {
        int32_t tokens = largest;
        while (tokens > rows - done) tokens /= 2;
        const int32_t r = backward ? rows - done - tokens : done;
        dsp_dot_fill(buffer, tokens, in + r * in_row_stride, in_row_stride, 1, in_features, in_zp);
        dsp_channels(tokens, buffer, out + r * out_row_stride, out_row_stride, in_features,
                     out_features, weights, bias, multipliers, shifts, out_zp);
        done += tokens;
    }
}

#endif /* MCU_KERNELS_DSP */

/* One token by the formula, reading in_row while writing out_row: the two must not overlap. */
static void linear_row(const int8_t *in_row, int8_t *out_row, int32_t in_features,
                       int32_t out_features, const int8_t *weights, const int32_t *bias,
                       const int32_t *multipliers, const int32_t *shifts, int32_t in_zp,
                       int32_t out_zp)
{
    for (int32_t o = 0; o < out_features; o++) {
        const int8_t *weight_row = weights + o * in_features;
        int32_t acc = (bias != NULL) ? bias[o] : 0;
        for (int32_t k = 0; k < in_features; k++) {
            acc += ((int32_t)in_row[k] - in_zp) * weight_row[k];
        }
        out_row[o] = requantize_to_s8(acc, multipliers[o], shifts[o], out_zp);
    }
}

/* A token whose output row overlaps it goes through a stack row (kept out of linear_row's frame,
 * so that calls without overlap do not reserve it). */
static MCU_NOINLINE void linear_row_copied(
    const int8_t *in_row, int8_t *out_row, int32_t in_features, int32_t out_features,
    const int8_t *weights, const int32_t *bias, const int32_t *multipliers, const int32_t *shifts,
    int32_t in_zp, int32_t out_zp)
{
    int8_t row[MCU_LINEAR_OVERLAP_MAX_IN_FEATURES];
    for (int32_t k = 0; k < in_features; k++) row[k] = in_row[k];
    linear_row(row, out_row, in_features, out_features, weights, bias, multipliers, shifts, in_zp,
               out_zp);
}

void mcu_linear_s8_flat(const int8_t *in, int32_t in_row_stride, int8_t *out, int32_t out_row_stride,
                   int32_t rows, int32_t in_features, int32_t out_features, const int8_t *weights,
                   const int32_t *bias, const int32_t *multipliers, const int32_t *shifts,
                   int32_t in_zp, int32_t out_zp)
{
#if MCU_KERNELS_DSP
    if (dsp_dot_fits(1, in_features)) {
        linear_dsp(in, in_row_stride, out, out_row_stride, rows, in_features, out_features,
                   weights, bias, multipliers, shifts, in_zp, out_zp);
        return;
    }
#endif
    const int backward = tokens_backward(in, in_row_stride, out, out_row_stride, rows);
    for (int32_t done = 0; done < rows; done++) {
        const int32_t r = backward ? rows - 1 - done : done;
        const int8_t *in_row = in + r * in_row_stride;
        int8_t *out_row = out + r * out_row_stride;
        if (bytes_overlap(in_row, in_features, out_row, out_features)) {
            linear_row_copied(in_row, out_row, in_features, out_features, weights, bias,
                              multipliers, shifts, in_zp, out_zp);
        } else {
            linear_row(in_row, out_row, in_features, out_features, weights, bias, multipliers,
                       shifts, in_zp, out_zp);
        }
    }
}
