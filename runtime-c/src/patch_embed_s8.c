/*
 * mcu_patch_embed_s8: patch embedding, i.e. a convolution whose kernel size and stride are both
 * `patch`, turning a CHW image into a sequence of tokens.
 *
 * Shapes and layouts
 *   image    [channels][height][width] int8 (CHW, contiguous)
 *   weights  [embed][channels][patch][patch] int8
 *   bias     [embed] int32, or NULL for no bias
 *   out      [grid_h * grid_w][embed] int8, row-major; token t = gy * grid_w + gx
 *   Patch (gy, gx) covers image rows gy * patch - pad_top + [0, patch) and columns
 *   gx * patch - pad_left + [0, patch). Pixels outside the image are zero padding in real
 *   terms, i.e. equal to in_zp, so they add nothing to the sum and are skipped.
 *
 * Quantization
 *   Image per-tensor asymmetric (in_zp); weights per-embedding-channel symmetric; bias in the
 *   accumulator's scale; output per-tensor asymmetric (out_zp) via per-channel multiplier/shift.
 *
 * Arithmetic and rounding
 *   acc        = bias[e] + sum over in-image pixels of (image[c][y][x] - in_zp) * w[e][c][ky][kx]
 *   out[t][e]  = sat8(out_zp + mcu_requantize(acc, multipliers[e], shifts[e]))
 *   mcu_requantize rounds half up (add half, arithmetic shift right) and saturates to int32.
 *   The int32 accumulator is safe while channels * patch^2 * 32640 + |bias| < 2^31.
 *
 * Paths (kernel_common.h)
 *   Portable: the formula above, one output at a time; the reference.
 *   DSP: a patch is a token of channels * patch^2 taps, in the weights' order; four patches at a
 *   time are gathered (padding as in_zp, which extends to 0) and sign-extended, minus in_zp, into
 *   an extended-operand buffer, then multiplied against every embedding channel's weight row
 *   with SMLAD exactly as mcu_linear_s8's DSP path does (kernel_dsp_channels.h): the same
 *   integers, bit-identical. 385 to 768 taps (a 16 x 16 x 3 patch) take the wide buffer, so that
 *   four patches still go together where there are four; more than 768 go one at a time, more
 *   than 1536 the portable path.
 */
#include <stddef.h>

#include "kernel_common.h"

static int32_t max_s32(int32_t x, int32_t y) { return x > y ? x : y; }
static int32_t min_s32(int32_t x, int32_t y) { return x < y ? x : y; }

#if MCU_KERNELS_DSP
#include "kernel_dsp_channels.h"

/* Extends the taps of patches first..first + tokens - 1 into the buffer (layout of
 * kernel_dsp_dot.h), in the weights' order c, ky, kx; taps outside the image read as in_zp. */
static void patch_fill(int32_t *buffer, int32_t tokens, int32_t first, const int8_t *image,
                       int32_t channels, int32_t height, int32_t width, int32_t patch,
                       int32_t pad_top, int32_t pad_left, int32_t grid_w, int32_t in_zp)
{
    const int32_t minus_zp = lanes_s16(-in_zp);
    const uint32_t zp_byte = (uint32_t)in_zp & 0xFFu;
    for (int32_t t = 0; t < tokens; t++) {
        const int32_t top = ((first + t) / grid_w) * patch - pad_top;
        const int32_t left = ((first + t) % grid_w) * patch - pad_left;
        int32_t *slot = buffer + 2 * t;
        uint32_t word = 0;
        int32_t bytes = 0; /* taps gathered into word */
        for (int32_t c = 0; c < channels; c++) {
            for (int32_t ky = 0; ky < patch; ky++) {
                const int32_t y = top + ky;
                const int row_inside = y >= 0 && y < height;
                /* An index, not a pointer: the row may lie outside the image. */
                const int32_t image_row = (c * height + y) * width;
                for (int32_t kx = 0; kx < patch; kx++) {
                    const int32_t x = left + kx;
                    const uint32_t value = (row_inside && x >= 0 && x < width)
                                               ? (uint32_t)image[image_row + x] & 0xFFu
                                               : zp_byte;
                    word |= value << (8 * bytes);
                    if (++bytes == 4) {
                        slot[0] = sxtab16_even(minus_zp, word);
                        slot[1] = sxtab16_odd(minus_zp, word);
                        slot += 2 * tokens;
                        word = 0;
                        bytes = 0;
                    }
                }
            }
        }
        if (bytes != 0) {
            for (; bytes < 4; bytes++) word |= zp_byte << (8 * bytes);
            slot[0] = sxtab16_even(minus_zp, word);
            slot[1] = sxtab16_odd(minus_zp, word);
        }
    }
}

/* The image's patches against the weights, through a buffer of buffer_words words. */
typedef struct {
    const int8_t *image;
    int32_t channels, height, width, patch, pad_top, pad_left, grid_h, grid_w;
    const int8_t *weights;
    const int32_t *bias, *multipliers, *shifts;
    int32_t embed, in_zp, out_zp;
    int8_t *out;
} patch_embed_call;

static inline void patch_embed_dsp(const patch_embed_call *call, int32_t *buffer,
                                   int32_t buffer_words)
{
    const int32_t channels = call->channels, patch = call->patch, embed = call->embed;
    const int32_t taps = channels * patch * patch, patches = call->grid_h * call->grid_w;
    int32_t t = 0;
    for (int32_t tokens = 4; tokens >= 1; tokens /= 2) {
        if (!dsp_dot_fits_in(tokens, taps, buffer_words)) continue;
        for (; t + tokens <= patches; t += tokens) {
            patch_fill(buffer, tokens, t, call->image, channels, call->height, call->width, patch,
                       call->pad_top, call->pad_left, call->grid_w, call->in_zp);
            dsp_channels(tokens, buffer, call->out + t * embed, embed, taps, embed, call->weights,
                         call->bias, call->multipliers, call->shifts, call->out_zp);
        }
    }
}

/* patch_embed_dsp with a buffer of each capacity, each in its own frame (kernel_dsp_dot.h). */
static MCU_NOINLINE void patch_embed_dsp_buffered(const patch_embed_call *call)
{
    int32_t buffer[DSP_DOT_BUFFER_WORDS];
    patch_embed_dsp(call, buffer, DSP_DOT_BUFFER_WORDS);
}

static MCU_NOINLINE void patch_embed_dsp_wide_buffered(const patch_embed_call *call)
{
    int32_t buffer[DSP_DOT_WIDE_BUFFER_WORDS];
    patch_embed_dsp(call, buffer, DSP_DOT_WIDE_BUFFER_WORDS);
}

#endif /* MCU_KERNELS_DSP */

void mcu_patch_embed_s8_flat(const int8_t *image, int32_t channels, int32_t height, int32_t width,
                        int32_t patch, int32_t pad_top, int32_t pad_left, int32_t grid_h,
                        int32_t grid_w, const int8_t *weights, const int32_t *bias,
                        const int32_t *multipliers, const int32_t *shifts, int32_t embed,
                        int32_t in_zp, int32_t out_zp, int8_t *out)
{
#if MCU_KERNELS_DSP
    const int32_t taps = channels * patch * patch;
    const patch_embed_call call = {
        .image = image, .channels = channels, .height = height, .width = width, .patch = patch,
        .pad_top = pad_top, .pad_left = pad_left, .grid_h = grid_h, .grid_w = grid_w,
        .weights = weights, .bias = bias, .multipliers = multipliers, .shifts = shifts,
        .embed = embed, .in_zp = in_zp, .out_zp = out_zp, .out = out};
    if (!dsp_dot_fits(4, taps) && dsp_dot_fits_in(4, taps, DSP_DOT_WIDE_BUFFER_WORDS) &&
        grid_h * grid_w >= 4) {
        patch_embed_dsp_wide_buffered(&call);
        return;
    }
    if (dsp_dot_fits(1, taps)) {
        patch_embed_dsp_buffered(&call);
        return;
    }
#endif
    const int32_t weights_per_channel = channels * patch * patch;

    for (int32_t gy = 0; gy < grid_h; gy++) {
        for (int32_t gx = 0; gx < grid_w; gx++) {
            int8_t *token = out + (gy * grid_w + gx) * embed;

            /* Image coordinates of the patch's top-left pixel (negative inside the padding) and
             * the range of kernel offsets that land inside the image; computing the range once
             * keeps the padding test out of the inner loops. */
            const int32_t top = gy * patch - pad_top;
            const int32_t left = gx * patch - pad_left;
            const int32_t ky_begin = max_s32(0, -top);
            const int32_t ky_end = min_s32(patch, height - top);
            const int32_t kx_begin = max_s32(0, -left);
            const int32_t kx_end = min_s32(patch, width - left);

            for (int32_t e = 0; e < embed; e++) {
                const int8_t *filter = weights + e * weights_per_channel;
                int32_t acc = (bias != NULL) ? bias[e] : 0;

                for (int32_t c = 0; c < channels; c++) {
                    for (int32_t ky = ky_begin; ky < ky_end; ky++) {
                        /* Indices, not pointers: with left < 0 a row pointer would point before
                         * the image, which C does not allow even if never dereferenced. */
                        const int32_t image_row = (c * height + top + ky) * width + left;
                        const int32_t filter_row = (c * patch + ky) * patch;
                        for (int32_t kx = kx_begin; kx < kx_end; kx++) {
                            acc += ((int32_t)image[image_row + kx] - in_zp) * filter[filter_row + kx];
                        }
                    }
                }
                token[e] = requantize_to_s8(acc, multipliers[e], shifts[e], out_zp);
            }
        }
    }
}
