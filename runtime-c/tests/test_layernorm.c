/* Tests mcu_layernorm_s8 against a plain reference (with its own square root, by binary search)
 * over random rows, strides, epsilons and gamma/beta, plus hand-worked cases. */
#include <string.h>

#include <mcuformer/kernels.h>

#include "test_util.h"

#define SENTINEL 90

/* floor(sqrt(v)) for v >= 0 by binary search: the largest r with r * r <= v. */
static int64_t reference_isqrt(int64_t v)
{
    int64_t lo = 0, hi = 3037000500; /* hi^2 > 2^63 - 1 >= v */
    while (hi - lo > 1) {
        const int64_t mid = lo + (hi - lo) / 2;
        if ((uint64_t)mid * (uint64_t)mid <= (uint64_t)v) lo = mid; else hi = mid;
    }
    return lo;
}

static void reference_layernorm(const int8_t *in, int in_row_stride, int8_t *out, int rows,
                                int dim, int64_t eps_term, const int32_t *gamma_q,
                                const int32_t *beta_q, int32_t out_zp)
{
    for (int r = 0; r < rows; r++) {
        const int8_t *row = in + r * in_row_stride;
        int64_t s = 0;
        for (int i = 0; i < dim; i++) s += row[i];
        int64_t sum_sq = 0;
        for (int i = 0; i < dim; i++) sum_sq += (dim * row[i] - s) * (dim * row[i] - s);
        const int64_t v = sum_sq / dim + eps_term;
        int64_t sigma = reference_isqrt(v);
        if (sigma < 1) sigma = 1;
        const int64_t inverse = 1073741824 / sigma; /* 2^30 */
        for (int i = 0; i < dim; i++) {
            const int64_t n = ref_floor_div_pow2((dim * row[i] - s) * inverse + 8192, 14);
            const int64_t y = ref_floor_div_pow2(n * gamma_q[i] + (int64_t)beta_q[i] * 65536
                                                 + 2147483648ll, 32);
            out[r * dim + i] = ref_saturate_s8(out_zp + y);
        }
    }
}

static void run_hand_case(test_report *report, const char *name, const int8_t *in, int dim,
                          int64_t eps_term, const int32_t *gamma_q, const int32_t *beta_q,
                          int32_t out_zp, const int8_t *expected)
{
    int8_t out[8];
    mcu_layernorm_s8_flat(in, dim, out, dim, 1, dim, eps_term, gamma_q, beta_q, out_zp);
    for (int i = 0; i < dim; i++) expect_equal(report, expected[i], out[i], "%s [%d]", name, i);
}

static void hand_worked_cases(test_report *report)
{
    /* Constant row: every d_i = 0, so n_i = 0 whatever sigma is (with eps_term 0, v = 0 and
     * sigma = max(1, 0) = 1), and out = out_zp + ((beta_q * 2^16 + 2^31) >> 32)
     * = out_zp + round_half_up(beta_q / 2^16), i.e. beta in output units:
     *   beta 3.5 (229376) -> 4, -3.5 (-229376) -> -3, 1.25 (81920) -> 1, 200 -> saturates;
     * with out_zp -2: [2, -5, -1, 127]. */
    const int8_t constant[4] = {5, 5, 5, 5};
    const int32_t gamma_any[4] = {1000000, -5, 7, INT32_MAX};
    const int32_t beta_q[4] = {229376, -229376, 81920, 200 * 65536};
    const int8_t expected_constant[4] = {2, -5, -1, 127};
    run_hand_case(report, "constant row, eps 1", constant, 4, 1, gamma_any, beta_q, -2,
                  expected_constant);
    run_hand_case(report, "constant row, eps 0", constant, 4, 0, gamma_any, beta_q, -2,
                  expected_constant);

    /* in = [1 3]: s = 4, d = [-2 2], sum d^2 = 8, v = 8 / 2 = 4, sigma = 2, inverse = 2^29,
     * n = (-+2^30 + 2^13) >> 14 = [-65536 65536] (i.e. -1.0 and +1.0 in Q16).
     * gamma 2.0 (131072), beta 1.0 (65536):
     *   out0 = (-2^33 + 2^32 + 2^31) >> 32 = (-0.5 * 2^32) >> 32 = -1   (2 * -1 + 1 = -1)
     *   out1 = (2^33 + 2^32 + 2^31) >> 32 = (3.5 * 2^32) >> 32 = 3       (2 * 1 + 1 = 3)
     *   (the 2^31 term is the rounding half; both results are exact integers)
     * with out_zp 10: [9 13]. */
    const int8_t pair[2] = {1, 3};
    const int32_t gamma_two[2] = {131072, 131072};
    const int32_t beta_one[2] = {65536, 65536};
    const int8_t expected_pair[2] = {9, 13};
    run_hand_case(report, "pair [1 3]", pair, 2, 0, gamma_two, beta_one, 10, expected_pair);

    /* Same row with gamma = 2^31 - 1 (32768 in output units): +-32768 saturate to [-128 127]. */
    const int32_t gamma_huge[2] = {INT32_MAX, INT32_MAX};
    const int32_t beta_zero[2] = {0, 0};
    const int8_t expected_saturated[2] = {-128, 127};
    run_hand_case(report, "saturation", pair, 2, 0, gamma_huge, beta_zero, 0, expected_saturated);
}

int main(void)
{
    enum { MAX_ROWS = 6, MAX_DIM = 200, MAX_PAD = 4 };
    static int8_t in[MAX_ROWS * (MAX_DIM + MAX_PAD)], out[MAX_ROWS * (MAX_DIM + MAX_PAD)];
    static int8_t expected[MAX_ROWS * MAX_DIM];
    static int32_t gamma_q[MAX_DIM], beta_q[MAX_DIM];

    test_report report = {0, 0};
    hand_worked_cases(&report);

    case_rng rng = {5};
    for (int iteration = 0; iteration < 2000; iteration++) {
        const int rows = (int)rng_range(&rng, 1, MAX_ROWS);
        const int dim = (int)rng_range(&rng, 1, MAX_DIM);
        const int in_stride = dim + (int)rng_range(&rng, 0, MAX_PAD);
        const int out_stride = dim + (int)rng_range(&rng, 0, MAX_PAD);
        const int32_t out_zp = rng_zero_point(&rng);

        int64_t eps_term;
        switch (rng_range(&rng, 0, 3)) {
        case 0: eps_term = 0; break;
        case 1: eps_term = rng_range(&rng, 1, 100); break;
        case 2: eps_term = rng_range(&rng, 0, (int64_t)1 << 32); break;
        default: eps_term = rng_range(&rng, 0, (int64_t)1 << 62); break;
        }

        const int full_range_params = rng_range(&rng, 0, 3) == 0;
        for (int i = 0; i < dim; i++) {
            gamma_q[i] = full_range_params ? (int32_t)rng_range(&rng, INT32_MIN, INT32_MAX)
                                           : (int32_t)rng_range(&rng, -(4 << 16), 4 << 16);
            beta_q[i] = full_range_params ? (int32_t)rng_range(&rng, INT32_MIN, INT32_MAX)
                                          : (int32_t)rng_range(&rng, -(64 << 16), 64 << 16);
        }

        /* Narrow spreads give tiny variances (sigma near 1), full spreads large ones. */
        const int spread = (int)rng_range(&rng, 0, 1) ? 255 : (int)rng_range(&rng, 0, 3);
        const int base = (int)rng_range(&rng, -128, 127 - spread);
        for (int i = 0; i < rows * in_stride; i++) in[i] = (int8_t)(base + rng_range(&rng, 0, spread));
        memset(out, SENTINEL, sizeof out);

        mcu_layernorm_s8_flat(in, in_stride, out, out_stride, rows, dim, eps_term, gamma_q, beta_q,
                         out_zp);
        reference_layernorm(in, in_stride, expected, rows, dim, eps_term, gamma_q, beta_q, out_zp);

        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < out_stride; i++) {
                const int8_t want = (i < dim) ? expected[r * dim + i] : SENTINEL;
                expect_equal(&report, want, out[r * out_stride + i],
                             "iteration %d (rows %d dim %d eps %lld) row %d [%d]", iteration, rows,
                             dim, (long long)eps_term, r, i);
            }
        }
    }
    return finish(&report, "test_layernorm");
}
