/* Tests mcu_layernorm_linear_s8 against mcu_layernorm_s8 followed by mcu_linear_s8 on a whole
 * normalised tensor (the unfused schedule), over random shapes, strides and parameters; the
 * gaps between output rows must stay untouched and the scratch must be all it needs. */
#include <stdlib.h>
#include <string.h>

#include <mcuformer/kernels.h>

#include "test_util.h"

#define SENTINEL 90

int main(void)
{
    enum { MAX_ROWS = 11, MAX_DIM = 120, MAX_OUT = 90, MAX_PAD = 4 };
    static int8_t in[MAX_ROWS * (MAX_DIM + MAX_PAD)], normalised[MAX_ROWS * MAX_DIM];
    static int8_t out[MAX_ROWS * (MAX_OUT + MAX_PAD)], expected[MAX_ROWS * (MAX_OUT + MAX_PAD)];
    static int8_t weights[MAX_OUT * MAX_DIM];
    static int32_t gamma_q[MAX_DIM], beta_q[MAX_DIM];
    static int32_t bias[MAX_OUT], multipliers[MAX_OUT], shifts[MAX_OUT];

    test_report report = {0, 0};
    case_rng rng = {11};
    for (int iteration = 0; iteration < 800; iteration++) {
        const int32_t rows = (int32_t)rng_range(&rng, 1, MAX_ROWS);
        const int32_t dim = (int32_t)rng_range(&rng, 1, MAX_DIM);
        const int32_t out_features = (int32_t)rng_range(&rng, 1, MAX_OUT);
        const int32_t in_stride = dim + (int32_t)rng_range(&rng, 0, MAX_PAD);
        const int32_t out_stride = out_features + (int32_t)rng_range(&rng, 0, MAX_PAD);
        const int32_t norm_zp = rng_zero_point(&rng), out_zp = rng_zero_point(&rng);
        const int64_t eps_term = rng_range(&rng, 0, 5000);
        const int with_bias = rng_range(&rng, 0, 3) != 0;
        rng_fill_s8(&rng, in, rows * in_stride);
        rng_fill_s8(&rng, weights, out_features * dim);
        for (int32_t i = 0; i < dim; i++) {
            gamma_q[i] = (int32_t)rng_range(&rng, -(4 << 16), 4 << 16);
            beta_q[i] = (int32_t)rng_range(&rng, -(64 << 16), 64 << 16);
        }
        for (int32_t o = 0; o < out_features; o++) {
            bias[o] = (int32_t)rng_range(&rng, -(1 << 20), 1 << 20);
            multipliers[o] = rng_multiplier(&rng);
            shifts[o] = rng_shift(&rng);
        }
        const int32_t *bias_or_null = with_bias ? bias : NULL;

        memset(expected, SENTINEL, sizeof expected);
        mcu_layernorm_s8_flat(in, in_stride, normalised, dim, rows, dim, eps_term, gamma_q, beta_q,
                         norm_zp);
        mcu_linear_s8_flat(normalised, dim, expected, out_stride, rows, dim, out_features, weights,
                      bias_or_null, multipliers, shifts, norm_zp, out_zp);

        /* The scratch, allocated to its exact size, so AddressSanitizer sees any overrun. */
        const int32_t block = rows < MCU_LAYERNORM_LINEAR_BLOCK ? rows : MCU_LAYERNORM_LINEAR_BLOCK;
        int8_t *scratch = malloc((size_t)(block * dim));
        memset(out, SENTINEL, sizeof out);
        mcu_layernorm_linear_s8_flat(in, in_stride, out, out_stride, rows, dim, eps_term, gamma_q,
                                beta_q, norm_zp, out_features, weights, bias_or_null,
                                multipliers, shifts, out_zp, scratch);
        free(scratch);
        for (int32_t i = 0; i < rows * out_stride; i++) {
            expect_equal(&report, expected[i], out[i],
                         "iteration %d byte %d (rows %d, dim %d, out %d)", iteration, i, rows,
                         dim, out_features);
        }
    }
    return finish(&report, "test_layernorm_linear");
}
