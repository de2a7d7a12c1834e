/* Token overwriting: runs the kernels that let their output overwrite the tokens they consume
 * on one buffer holding both, at every kind of shift the contract allows (output address minus
 * input address: below, at and above the input, aligned or not), and compares with the same
 * call on separate buffers. Each shared buffer is allocated to the exact span of input and
 * output, so that under AddressSanitizer (MCUFORMER_SANITIZE) any access outside either fails. */
#include <stdlib.h>
#include <string.h>

#include <mcuformer/kernels.h>

#include "test_util.h"

/* One input and one output inside a single allocation, the output at `shift` from the input. */
typedef struct {
    int8_t *memory;
    int8_t *in;
    int8_t *out;
} shared_buffers;

static shared_buffers share(const int8_t *input, int32_t in_bytes, int32_t out_bytes,
                            int32_t shift)
{
    const int32_t low = shift < 0 ? shift : 0;
    const int32_t high = (shift + out_bytes > in_bytes) ? shift + out_bytes : in_bytes;
    shared_buffers b;
    b.memory = malloc((size_t)(high - low));
    b.in = b.memory - low;
    b.out = b.in + shift;
    memcpy(b.in, input, (size_t)in_bytes);
    return b;
}

static void check_linear(case_rng *rng, test_report *report, int iteration)
{
    enum { MAX_FEATURES = 100 };
    static int8_t weights[MAX_FEATURES * MAX_FEATURES];
    static int32_t bias[MAX_FEATURES], multipliers[MAX_FEATURES], shifts[MAX_FEATURES];
    static int8_t input[12 * 3 * MAX_FEATURES], expected[12 * MAX_FEATURES];
    const int32_t rows = (int32_t)rng_range(rng, 1, 12);
    const int32_t in_features = (int32_t)rng_range(rng, 1, MAX_FEATURES);
    const int32_t out_features = rng_range(rng, 0, 3) == 0 ? in_features
                                                           : (int32_t)rng_range(rng, 1, MAX_FEATURES);
    /* Input rows are sometimes wider than their features: the query columns of qkv rows. */
    const int32_t in_stride = rng_range(rng, 0, 2) == 0 ? in_features * (int32_t)rng_range(rng, 1, 3)
                                                        : in_features;
    const int32_t in_zp = rng_zero_point(rng), out_zp = rng_zero_point(rng);
    rng_fill_s8(rng, input, rows * in_stride);
    rng_fill_s8(rng, weights, out_features * in_features);
    for (int32_t o = 0; o < out_features; o++) {
        bias[o] = (int32_t)rng_range(rng, -(1 << 20), 1 << 20);
        multipliers[o] = rng_multiplier(rng);
        shifts[o] = rng_shift(rng);
    }
    mcu_linear_s8_flat(input, in_stride, expected, out_features, rows, in_features, out_features,
                  weights, bias, multipliers, shifts, in_zp, out_zp);

    const int32_t shift = rng_overlap_shift(rng, rows, in_stride, out_features);
    shared_buffers b = share(input, rows * in_stride, rows * out_features, shift);
    mcu_linear_s8_flat(b.in, in_stride, b.out, out_features, rows, in_features, out_features,
                  weights, bias, multipliers, shifts, in_zp, out_zp);
    for (int32_t i = 0; i < rows * out_features; i++) {
        expect_equal(report, expected[i], b.out[i],
                     "linear iteration %d byte %d (rows %d, %d (stride %d) -> %d features, shift %d)",
                     iteration, i, rows, in_features, in_stride, out_features, shift);
    }
    free(b.memory);
}

static void check_layernorm(case_rng *rng, test_report *report, int iteration)
{
    enum { MAX_DIM = 200 };
    static int32_t gamma_q[MAX_DIM], beta_q[MAX_DIM];
    static int8_t input[8 * MAX_DIM], expected[8 * MAX_DIM];
    const int32_t rows = (int32_t)rng_range(rng, 1, 8);
    const int32_t dim = (int32_t)rng_range(rng, 1, MAX_DIM);
    const int32_t out_zp = rng_zero_point(rng);
    const int64_t eps_term = rng_range(rng, 0, 1000);
    rng_fill_s8(rng, input, rows * dim);
    for (int32_t i = 0; i < dim; i++) {
        gamma_q[i] = (int32_t)rng_range(rng, -(4 << 16), 4 << 16);
        beta_q[i] = (int32_t)rng_range(rng, -(64 << 16), 64 << 16);
    }
    mcu_layernorm_s8_flat(input, dim, expected, dim, rows, dim, eps_term, gamma_q, beta_q, out_zp);

    const int32_t shift = rng_overlap_shift(rng, rows, dim, dim);
    shared_buffers b = share(input, rows * dim, rows * dim, shift);
    mcu_layernorm_s8_flat(b.in, dim, b.out, dim, rows, dim, eps_term, gamma_q, beta_q, out_zp);
    for (int32_t i = 0; i < rows * dim; i++) {
        expect_equal(report, expected[i], b.out[i],
                     "layernorm iteration %d byte %d (rows %d, dim %d, shift %d)", iteration, i,
                     rows, dim, shift);
    }
    free(b.memory);
}

static void check_layernorm_linear(case_rng *rng, test_report *report, int iteration)
{
    enum { MAX_DIM = 90, MAX_OUT = 120 };
    static int32_t gamma_q[MAX_DIM], beta_q[MAX_DIM];
    static int8_t weights[MAX_OUT * MAX_DIM];
    static int32_t bias[MAX_OUT], multipliers[MAX_OUT], shifts[MAX_OUT];
    static int8_t input[10 * MAX_DIM], expected[10 * MAX_OUT], scratch[4 * MAX_DIM];
    const int32_t rows = (int32_t)rng_range(rng, 1, 10);
    const int32_t dim = (int32_t)rng_range(rng, 1, MAX_DIM);
    const int32_t out_features = rng_range(rng, 0, 3) == 0 ? dim : (int32_t)rng_range(rng, 1, MAX_OUT);
    const int32_t norm_zp = rng_zero_point(rng), out_zp = rng_zero_point(rng);
    const int64_t eps_term = rng_range(rng, 0, 1000);
    rng_fill_s8(rng, input, rows * dim);
    rng_fill_s8(rng, weights, out_features * dim);
    for (int32_t i = 0; i < dim; i++) {
        gamma_q[i] = (int32_t)rng_range(rng, -(4 << 16), 4 << 16);
        beta_q[i] = (int32_t)rng_range(rng, -(64 << 16), 64 << 16);
    }
    for (int32_t o = 0; o < out_features; o++) {
        bias[o] = (int32_t)rng_range(rng, -(1 << 20), 1 << 20);
        multipliers[o] = rng_multiplier(rng);
        shifts[o] = rng_shift(rng);
    }
    mcu_layernorm_linear_s8_flat(input, dim, expected, out_features, rows, dim, eps_term, gamma_q,
                            beta_q, norm_zp, out_features, weights, bias, multipliers, shifts,
                            out_zp, scratch);

    const int32_t shift = rng_overlap_shift(rng, rows, dim, out_features);
    shared_buffers b = share(input, rows * dim, rows * out_features, shift);
    mcu_layernorm_linear_s8_flat(b.in, dim, b.out, out_features, rows, dim, eps_term, gamma_q, beta_q,
                            norm_zp, out_features, weights, bias, multipliers, shifts, out_zp,
                            scratch);
    for (int32_t i = 0; i < rows * out_features; i++) {
        expect_equal(report, expected[i], b.out[i],
                     "layernorm_linear iteration %d byte %d (rows %d, %d -> %d, shift %d)",
                     iteration, i, rows, dim, out_features, shift);
    }
    free(b.memory);
}

/* A contiguous copy, plain or requantizing, at a shift <= 0 (a concatenation writing the tokens
 * one token further down, over themselves). */
static void check_copy(case_rng *rng, test_report *report, int iteration)
{
    enum { MAX_COUNT = 600 };
    static int8_t input[MAX_COUNT], expected[MAX_COUNT];
    const int32_t count = (int32_t)rng_range(rng, 1, MAX_COUNT);
    const int32_t strides[4] = {0, 0, 0, 1}, shape[4] = {1, 1, 1, count};
    const int32_t in_zp = rng_zero_point(rng), out_zp = rng_zero_point(rng);
    const int32_t multiplier = rng_range(rng, 0, 1) ? 0 : rng_multiplier(rng);
    const int32_t shift_q = rng_shift(rng);
    rng_fill_s8(rng, input, count);
    mcu_copy_s8_flat(input, strides, expected, strides, shape, in_zp, multiplier, shift_q, out_zp);

    const int32_t shift = -(int32_t)rng_range(rng, 0, count - 1);
    shared_buffers b = share(input, count, count, shift);
    mcu_copy_s8_flat(b.in, strides, b.out, strides, shape, in_zp, multiplier, shift_q, out_zp);
    for (int32_t i = 0; i < count; i++) {
        expect_equal(report, expected[i], b.out[i], "copy iteration %d byte %d (count %d, shift %d)",
                     iteration, i, count, shift);
    }
    free(b.memory);
}

int main(void)
{
    test_report report = {0, 0};
    case_rng rng = {4};
    for (int iteration = 0; iteration < 1500; iteration++) {
        check_linear(&rng, &report, iteration);
        check_layernorm(&rng, &report, iteration);
        check_layernorm_linear(&rng, &report, iteration);
        check_copy(&rng, &report, iteration);
    }
    return finish(&report, "test_overwrite");
}
