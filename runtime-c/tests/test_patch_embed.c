/* Tests mcu_patch_embed_s8 against a plain reference over random image sizes, patch sizes,
 * paddings (including whole padded patches and cropped images) and quantization, plus a
 * hand-worked padded case. */
#include <stddef.h>
#include <string.h>

#include <mcuformer/kernels.h>

#include "test_util.h"

typedef struct {
    int channels, height, width, patch, pad_top, pad_left, grid_h, grid_w, embed;
    int32_t in_zp, out_zp;
} embed_shape;

/* Loops over every kernel position and skips the ones that fall outside the image. */
static void reference_patch_embed(const embed_shape *s, const int8_t *image, const int8_t *weights,
                                  const int32_t *bias, const int32_t *multipliers,
                                  const int32_t *shifts, int8_t *out)
{
    for (int gy = 0; gy < s->grid_h; gy++) {
        for (int gx = 0; gx < s->grid_w; gx++) {
            for (int e = 0; e < s->embed; e++) {
                int64_t acc = bias ? bias[e] : 0;
                for (int c = 0; c < s->channels; c++) {
                    for (int ky = 0; ky < s->patch; ky++) {
                        for (int kx = 0; kx < s->patch; kx++) {
                            const int y = gy * s->patch + ky - s->pad_top;
                            const int x = gx * s->patch + kx - s->pad_left;
                            if (y < 0 || y >= s->height || x < 0 || x >= s->width) continue;
                            const int8_t pixel = image[(c * s->height + y) * s->width + x];
                            const int8_t w = weights[((e * s->channels + c) * s->patch + ky) * s->patch + kx];
                            acc += (int64_t)(pixel - s->in_zp) * w;
                        }
                    }
                }
                out[(gy * s->grid_w + gx) * s->embed + e] =
                    ref_requantize_s8(acc, multipliers[e], shifts[e], s->out_zp);
            }
        }
    }
}

static void hand_worked_case(test_report *report)
{
    /* One channel, image [1 2 3; 4 5 6; 7 8 9], in_zp 1 -> centred [0 1 2; 3 4 5; 6 7 8].
     * patch 2, one row and one column of padding at the top/left, 2 x 2 grid, weights all 1:
     *   patch (0,0) sees only pixel (0,0): 0         patch (0,1) sees (0,1),(0,2): 1 + 2 = 3
     *   patch (1,0) sees (1,0),(2,0): 3 + 6 = 9      patch (1,1): 4 + 5 + 7 + 8 = 24
     * The padding adds 0 (not (0 - in_zp) * w = -1). Plus bias 1: [1 4 10 25]; multiplier 2^30
     * halves: [0.5 2 5 12.5] -> [1 2 5 13] (halves up); out_zp 0. */
    const int8_t image[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    const int8_t weights[4] = {1, 1, 1, 1};
    const int32_t bias[1] = {1}, multipliers[1] = {1 << 30}, shifts[1] = {0};
    const int8_t expected[4] = {1, 2, 5, 13};
    int8_t out[4];
    mcu_patch_embed_s8_flat(image, 1, 3, 3, 2, 1, 1, 2, 2, weights, bias, multipliers, shifts, 1, 1, 0,
                       out);
    for (int t = 0; t < 4; t++) expect_equal(report, expected[t], out[t], "hand case token %d", t);
}

int main(void)
{
    enum { MAX_C = 3, MAX_SIDE = 13, MAX_PATCH = 5, MAX_GRID = 6, MAX_EMBED = 12 };
    static int8_t image[MAX_C * MAX_SIDE * MAX_SIDE];
    static int8_t weights[MAX_EMBED * MAX_C * MAX_PATCH * MAX_PATCH];
    static int8_t out[MAX_GRID * MAX_GRID * MAX_EMBED + 1], expected[MAX_GRID * MAX_GRID * MAX_EMBED];
    static int32_t bias[MAX_EMBED], multipliers[MAX_EMBED], shifts[MAX_EMBED];

    test_report report = {0, 0};
    hand_worked_case(&report);

    case_rng rng = {8};
    for (int iteration = 0; iteration < 1500; iteration++) {
        embed_shape s;
        s.channels = (int)rng_range(&rng, 1, MAX_C);
        s.height = (int)rng_range(&rng, 1, MAX_SIDE);
        s.width = (int)rng_range(&rng, 1, MAX_SIDE);
        s.patch = (int)rng_range(&rng, 1, MAX_PATCH);
        /* Up to patch + 1 padding, so some patches lie wholly in the padding. */
        s.pad_top = (int)rng_range(&rng, 0, s.patch + 1);
        s.pad_left = (int)rng_range(&rng, 0, s.patch + 1);
        /* Grids from one patch (image cropped) to one past the covering grid (padding beyond). */
        const int covering_h = (s.height + s.pad_top + s.patch - 1) / s.patch;
        const int covering_w = (s.width + s.pad_left + s.patch - 1) / s.patch;
        s.grid_h = (int)rng_range(&rng, 1, covering_h + 1 < MAX_GRID ? covering_h + 1 : MAX_GRID);
        s.grid_w = (int)rng_range(&rng, 1, covering_w + 1 < MAX_GRID ? covering_w + 1 : MAX_GRID);
        s.embed = (int)rng_range(&rng, 1, MAX_EMBED);
        s.in_zp = rng_zero_point(&rng);
        s.out_zp = rng_zero_point(&rng);
        const int with_bias = rng_range(&rng, 0, 3) != 0;

        rng_fill_s8(&rng, image, s.channels * s.height * s.width);
        rng_fill_s8(&rng, weights, s.embed * s.channels * s.patch * s.patch);
        for (int e = 0; e < s.embed; e++) {
            bias[e] = (int32_t)rng_range(&rng, -(1 << 20), 1 << 20);
            multipliers[e] = rng_multiplier(&rng);
            shifts[e] = rng_shift(&rng);
        }
        const int32_t *bias_or_null = with_bias ? bias : NULL;
        const int outputs = s.grid_h * s.grid_w * s.embed;
        memset(out, 90, sizeof out);

        mcu_patch_embed_s8_flat(image, s.channels, s.height, s.width, s.patch, s.pad_top, s.pad_left,
                           s.grid_h, s.grid_w, weights, bias_or_null, multipliers, shifts, s.embed,
                           s.in_zp, s.out_zp, out);
        reference_patch_embed(&s, image, weights, bias_or_null, multipliers, shifts, expected);

        for (int i = 0; i < outputs; i++) {
            expect_equal(&report, expected[i], out[i],
                         "iteration %d (c %d %dx%d patch %d pad %d,%d grid %dx%d) token %d embed %d",
                         iteration, s.channels, s.height, s.width, s.patch, s.pad_top, s.pad_left,
                         s.grid_h, s.grid_w, i / s.embed, i % s.embed);
        }
        expect_equal(&report, 90, out[outputs], "iteration %d wrote past the last token", iteration);
    }
    return finish(&report, "test_patch_embed");
}
