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
 */
#include <stddef.h>

#include "kernel_common.h"

static int32_t max_s32(int32_t x, int32_t y) { return x > y ? x : y; }
static int32_t min_s32(int32_t x, int32_t y) { return x < y ? x : y; }

void mcu_patch_embed_s8(const int8_t *image, int32_t channels, int32_t height, int32_t width,
                        int32_t patch, int32_t pad_top, int32_t pad_left, int32_t grid_h,
                        int32_t grid_w, const int8_t *weights, const int32_t *bias,
                        const int32_t *multipliers, const int32_t *shifts, int32_t embed,
                        int32_t in_zp, int32_t out_zp, int8_t *out)
{
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
