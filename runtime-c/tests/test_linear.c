/* Tests mcu_linear_s8 against a plain reference over random shapes, strides and quantization
 * parameters, plus hand-worked cases. The reference reads row-major weights; the kernel gets them
 * in the channel-pair layout (mcu_linear_weights_pack). */
#include <stddef.h>
#include <string.h>

#include <mcuformer/kernels.h>

#include "test_util.h"

#define SENTINEL 90 /* fills output gaps the kernel must not touch */

/* out[r][o] = sat(out_zp + requantize(bias[o] + sum_k (in[r][k] - in_zp) * w[o][k])) */
static void reference_linear(const int8_t *in, int in_row_stride, int8_t *out, int rows,
                             int in_features, int out_features, const int8_t *weights,
                             const int32_t *bias, const int32_t *multipliers,
                             const int32_t *shifts, int32_t in_zp, int32_t out_zp)
{
    for (int r = 0; r < rows; r++) {
        for (int o = 0; o < out_features; o++) {
            int64_t acc = bias ? bias[o] : 0;
            for (int k = 0; k < in_features; k++) {
                acc += (int64_t)(in[r * in_row_stride + k] - in_zp) * weights[o * in_features + k];
            }
            out[r * out_features + o] = ref_requantize_s8(acc, multipliers[o], shifts[o], out_zp);
        }
    }
}

static void hand_worked_cases(test_report *report)
{
    /* in = [1 2 3], in_zp = 1 -> centred [0 1 2].
     * Output 0: w = [1 -1 2], bias 10: acc = 0 - 1 + 4 + 10 = 13; times 0.5 = 6.5 -> 7 (half up);
     *           plus out_zp -3 -> 4.
     * Output 1: w = [127 127 127], no bias: acc = 3 * 127 = 381 -> 190.5 -> 191; -3 + 191 = 188
     *           saturates to 127.
     * Output 2: w = [0 0 -3]: acc = -6 -> -3, -3 - 3 = -6.
     * Output 3: w = [0 -1 -1], bias 0: acc = -3 -> -1.5 -> -1 (half up, toward +inf); -3 - 1 = -4. */
    const int8_t in[3] = {1, 2, 3};
    const int8_t weights[4 * 3] = {1, -1, 2, 127, 127, 127, 0, 0, -3, 0, -1, -1};
    const int32_t bias[4] = {10, 0, 0, 0};
    const int32_t multipliers[4] = {1 << 30, 1 << 30, 1 << 30, 1 << 30};
    const int32_t shifts[4] = {0, 0, 0, 0};
    const int8_t expected[4] = {4, 127, -6, -4};
    int8_t packed[4 * 3];
    int8_t out[4];
    mcu_linear_weights_pack(weights, packed, 4, 3);
    mcu_linear_s8_flat(in, 3, out, 4, 1, 3, 4, packed, bias, multipliers, shifts, 1, -3);
    for (int o = 0; o < 4; o++) expect_equal(report, expected[o], out[o], "hand case output %d", o);

    /* Saturation through int32: in = [127], in_zp = -128 -> 255; w = [127] -> acc = 32385;
     * multiplier 2^31-1 with shift 30 is about 2^30 * acc -> requantize saturates to INT32_MAX,
     * and out_zp 127 must not wrap it around: the result is 127. With w = [-128] the product
     * saturates to INT32_MIN and out_zp -128 gives -128. */
    const int8_t big_in[1] = {127};
    const int8_t big_weights[2] = {127, -128};
    const int32_t big_multipliers[2] = {INT32_MAX, INT32_MAX};
    const int32_t big_shifts[2] = {30, 30};
    int8_t big_out[2];
    mcu_linear_s8_flat(big_in, 1, big_out, 2, 1, 1, 1, big_weights, NULL, big_multipliers, big_shifts,
                  -128, 127);
    expect_equal(report, 127, big_out[0], "saturation high with out_zp 127");
    mcu_linear_s8_flat(big_in, 1, big_out, 2, 1, 1, 1, big_weights + 1, NULL, big_multipliers + 1,
                  big_shifts + 1, -128, -128);
    expect_equal(report, -128, big_out[0], "saturation low with out_zp -128");
}

int main(void)
{
    enum { MAX_ROWS = 7, MAX_IN = 80, MAX_OUT = 40, MAX_PAD = 5 };
    static int8_t in[MAX_ROWS * (MAX_IN + MAX_PAD)];
    static int8_t out[MAX_ROWS * (MAX_OUT + MAX_PAD)];
    static int8_t expected[MAX_ROWS * MAX_OUT];
    static int8_t weights[MAX_OUT * MAX_IN], packed[MAX_OUT * MAX_IN];
    static int32_t bias[MAX_OUT], multipliers[MAX_OUT], shifts[MAX_OUT];

    test_report report = {0, 0};
    hand_worked_cases(&report);

    case_rng rng = {1};
    for (int iteration = 0; iteration < 600; iteration++) {
        const int rows = (int)rng_range(&rng, 1, MAX_ROWS);
        const int in_features = (int)rng_range(&rng, 1, MAX_IN);
        const int out_features = (int)rng_range(&rng, 1, MAX_OUT);
        const int in_stride = in_features + (int)rng_range(&rng, 0, MAX_PAD);
        const int out_stride = out_features + (int)rng_range(&rng, 0, MAX_PAD);
        const int32_t in_zp = rng_zero_point(&rng);
        const int32_t out_zp = rng_zero_point(&rng);
        const int with_bias = rng_range(&rng, 0, 3) != 0;

        rng_fill_s8(&rng, in, rows * in_stride);
        rng_fill_s8(&rng, weights, out_features * in_features);
        mcu_linear_weights_pack(weights, packed, out_features, in_features);
        for (int o = 0; o < out_features; o++) {
            bias[o] = (int32_t)rng_range(&rng, -(1 << 22), 1 << 22);
            multipliers[o] = rng_multiplier(&rng);
            shifts[o] = rng_shift(&rng);
        }
        memset(out, SENTINEL, sizeof out);

        const int32_t *bias_or_null = with_bias ? bias : NULL;
        mcu_linear_s8_flat(in, in_stride, out, out_stride, rows, in_features, out_features, packed,
                      bias_or_null, multipliers, shifts, in_zp, out_zp);
        reference_linear(in, in_stride, expected, rows, in_features, out_features, weights,
                         bias_or_null, multipliers, shifts, in_zp, out_zp);

        for (int r = 0; r < rows; r++) {
            for (int o = 0; o < out_stride; o++) {
                const int8_t want = (o < out_features) ? expected[r * out_features + o] : SENTINEL;
                expect_equal(&report, want, out[r * out_stride + o],
                             "iteration %d row %d col %d (rows %d in %d out %d, %s)", iteration,
                             r, o, rows, in_features, out_features,
                             o < out_features ? "value" : "gap must be untouched");
            }
        }
    }
    return finish(&report, "test_linear");
}
