/*
 * Private helper of the DSP paths of mcu_linear_s8 and mcu_patch_embed_s8: a block of tokens,
 * already sign-extended into the extended-operand buffer (kernel_dsp_dot.h), against every
 * weight row of a per-channel layer, out[t][o] = sat8(out_zp + requantize(bias[o] + sum_p
 * token_t[p] * weights[o][p], multipliers[o], shifts[o])). Not part of the public API; included
 * only when MCU_KERNELS_DSP is 1, by kernel sources that use it.
 *
 * Blocks of four tokens meet one weight row at a time (dsp_dot_4x1), blocks of two tokens two
 * rows (dsp_dot_2x2), a single token two rows (dsp_dot_1x2). Weights are [channels][k], int8,
 * read four per word load; bias may be NULL.
 */
#ifndef MCUFORMER_KERNEL_DSP_CHANNELS_H
#define MCUFORMER_KERNEL_DSP_CHANNELS_H

#include <stddef.h>

#include "kernel_dsp_dot.h"

/* One function per block shape (kept apart, not inlined, so that each gets the registers to
 * itself). Each takes the tokens already extended into buffer and writes their output rows,
 * out_block being the first. */

static __attribute__((noinline)) void dsp_channels_4_tokens(
    const int32_t *buffer, int8_t *out_block, int32_t out_row_stride, int32_t k,
    int32_t channels, const int8_t *weights, const int32_t *bias, const int32_t *multipliers,
    const int32_t *shifts, int32_t out_zp)
{
    const int zp_ok = requantize_zp_ok(out_zp);
    const int8_t *weight_row = weights;
    for (int32_t o = 0; o < channels; o++, weight_row += k) {
        const int32_t start = (bias != NULL) ? bias[o] : 0;
        int32_t acc[4] = {start, start, start, start};
        dsp_dot_4x1(buffer, weight_row, k, acc);
        requantize_4_s8_dsp(acc[0], acc[1], acc[2], acc[3], multipliers[o], shifts[o], out_zp,
                            zp_ok, out_block + o, out_row_stride);
    }
}

/* Two tokens against two weight rows at a time; for an odd count the last row goes twice. */
static __attribute__((noinline)) void dsp_channels_2_tokens(
    const int32_t *buffer, int8_t *out_block, int32_t out_row_stride, int32_t k,
    int32_t channels, const int8_t *weights, const int32_t *bias, const int32_t *multipliers,
    const int32_t *shifts, int32_t out_zp)
{
    for (int32_t o = 0; o < channels; o += 2) {
        const int32_t o1 = (o + 1 < channels) ? o + 1 : o;
        const int32_t start0 = (bias != NULL) ? bias[o] : 0;
        const int32_t start1 = (bias != NULL) ? bias[o1] : 0;
        int32_t acc[4] = {start0, start0, start1, start1};
        dsp_dot_2x2(buffer, weights + o * k, weights + o1 * k, k,
                    acc);
        out_block[o] =
            requantize_s8_dsp(acc[0], multipliers[o], shifts[o], out_zp);
        out_block[out_row_stride + o] =
            requantize_s8_dsp(acc[1], multipliers[o], shifts[o], out_zp);
        out_block[o1] =
            requantize_s8_dsp(acc[2], multipliers[o1], shifts[o1], out_zp);
        out_block[out_row_stride + o1] =
            requantize_s8_dsp(acc[3], multipliers[o1], shifts[o1], out_zp);
    }
}

/* One token against two weight rows at a time; for an odd count the last row goes twice. */
static __attribute__((noinline)) void dsp_channels_1_token(
    const int32_t *buffer, int8_t *out_row, int32_t k, int32_t channels,
    const int8_t *weights, const int32_t *bias, const int32_t *multipliers, const int32_t *shifts,
    int32_t out_zp)
{
    for (int32_t o = 0; o < channels; o += 2) {
        const int32_t o1 = (o + 1 < channels) ? o + 1 : o;
        int32_t acc[2] = {0, 0};
        if (bias != NULL) {
            acc[0] = bias[o];
            acc[1] = bias[o1];
        }
        dsp_dot_1x2(buffer, weights + o * k, weights + o1 * k, k,
                    acc);
        out_row[o] = requantize_s8_dsp(acc[0], multipliers[o], shifts[o], out_zp);
        out_row[o1] = requantize_s8_dsp(acc[1], multipliers[o1], shifts[o1], out_zp);
    }
}

/* Output rows out_block + t * out_row_stride, t < tokens (1, 2 or 4), of the tokens in buffer. */
static void dsp_channels(int32_t tokens, const int32_t *buffer, int8_t *out_block,
                         int32_t out_row_stride, int32_t k, int32_t channels, const int8_t *weights,
                         const int32_t *bias, const int32_t *multipliers, const int32_t *shifts,
                         int32_t out_zp)
{
    if (tokens == 4) {
        dsp_channels_4_tokens(buffer, out_block, out_row_stride, k, channels, weights, bias,
                              multipliers, shifts, out_zp);
    } else if (tokens == 2) {
        dsp_channels_2_tokens(buffer, out_block, out_row_stride, k, channels, weights, bias,
                              multipliers, shifts, out_zp);
    } else {
        dsp_channels_1_token(buffer, out_block, k, channels, weights, bias, multipliers, shifts,
                             out_zp);
    }
}

#endif /* MCUFORMER_KERNEL_DSP_CHANNELS_H */
