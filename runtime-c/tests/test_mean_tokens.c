/* Tests mcu_mean_tokens_s8 against a plain reference over random shapes and strides, plus
 * hand-worked rounding cases. */
#include <string.h>

#include <mcuformer/kernels.h>

#include "test_util.h"

static void hand_worked_cases(test_report *report)
{
    /* Two tokens of two features, in_zp 0; multiplier 2^30 with shift 0 encodes 1/2 (the mean):
     *   feature 0: 3 + 4 = 7 -> 3.5 -> 4 (half up);  feature 1: -3 - 4 = -7 -> -3.5 -> -3.
     * Rows are 3 elements apart (the third is padding that must be ignored). out_zp -1. */
    const int8_t in[6] = {3, -3, 100, 4, -4, 100};
    const int8_t expected[2] = {3, -4};
    int8_t out[2];
    mcu_mean_tokens_s8_flat(in, 3, 2, 2, 0, 1 << 30, 0, -1, out);
    for (int c = 0; c < 2; c++) expect_equal(report, expected[c], out[c], "hand case feature %d", c);

    /* in_zp 127 with all inputs -128: sum = 2 * -255 = -510 -> -255 -> saturates to -128. */
    const int8_t low[2] = {-128, -128};
    mcu_mean_tokens_s8_flat(low, 1, 2, 1, 127, 1 << 30, 0, 0, out);
    expect_equal(report, -128, out[0], "saturation low");
}

int main(void)
{
    enum { MAX_ROWS = 200, MAX_DIM = 70, MAX_PAD = 4 };
    static int8_t in[MAX_ROWS * (MAX_DIM + MAX_PAD)];
    int8_t out[MAX_DIM + 1], expected[MAX_DIM];
    test_report report = {0, 0};
    hand_worked_cases(&report);

    case_rng rng = {9};
    for (int iteration = 0; iteration < 1500; iteration++) {
        const int rows = (int)rng_range(&rng, 1, MAX_ROWS);
        const int dim = (int)rng_range(&rng, 1, MAX_DIM);
        const int stride = dim + (int)rng_range(&rng, 0, MAX_PAD);
        const int32_t in_zp = rng_zero_point(&rng), out_zp = rng_zero_point(&rng);
        const int32_t multiplier = rng_multiplier(&rng);
        const int32_t shift = rng_shift(&rng);
        rng_fill_s8(&rng, in, rows * stride);
        memset(out, 90, sizeof out);

        mcu_mean_tokens_s8_flat(in, stride, rows, dim, in_zp, multiplier, shift, out_zp, out);
        for (int c = 0; c < dim; c++) {
            int64_t sum = 0;
            for (int r = 0; r < rows; r++) sum += in[r * stride + c] - in_zp;
            expected[c] = ref_requantize_s8(sum, multiplier, shift, out_zp);
        }
        for (int c = 0; c < dim; c++) {
            expect_equal(&report, expected[c], out[c], "iteration %d (rows %d dim %d) feature %d",
                         iteration, rows, dim, c);
        }
        expect_equal(&report, 90, out[dim], "iteration %d wrote past dim", iteration);
    }
    return finish(&report, "test_mean_tokens");
}
